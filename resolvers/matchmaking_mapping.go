package resolvers

import (
	"unionhall/graph/model"
	"unionhall/internal/matchmaking"
	"unionhall/internal/page"
	"unionhall/models"
)

// Mapping between the matchmaking API's inputs and payloads and the service.

func createMatchEventInput(in model.CreateMatchEventInput) matchmaking.MatchEventInput {
	return matchmaking.MatchEventInput{UnionID: in.UnionID, Title: &in.Title, Description: in.Description, Place: &in.Place,
		StartsAt: &in.StartsAt, EndsAt: &in.EndsAt, PickClosesAt: &in.PickClosesAt,
		SignUpOpensAt: &in.SignUpOpensAt, SignUpClosesAt: &in.SignUpClosesAt,
		MaleCapacity: &in.MaleCapacity, FemaleCapacity: &in.FemaleCapacity, MinAge: in.MinAge, MaxAge: in.MaxAge,
		SelectionMode: &in.SelectionMode, MaxPicks: in.MaxPicks}
}

func updateMatchEventInput(in model.UpdateMatchEventInput) matchmaking.MatchEventInput {
	return matchmaking.MatchEventInput{Title: in.Title, Description: in.Description, Place: in.Place,
		StartsAt: in.StartsAt, EndsAt: in.EndsAt, PickClosesAt: in.PickClosesAt,
		SignUpOpensAt: in.SignUpOpensAt, SignUpClosesAt: in.SignUpClosesAt,
		MaleCapacity: in.MaleCapacity, FemaleCapacity: in.FemaleCapacity, MinAge: in.MinAge, MaxAge: in.MaxAge,
		SelectionMode: in.SelectionMode, MaxPicks: in.MaxPicks}
}

func matchProfileInput(in model.MatchProfileInput) matchmaking.MatchProfileInput {
	return matchmaking.MatchProfileInput{Nickname: in.Nickname, Education: in.Education, Occupation: in.Occupation,
		District: in.District, Hobbies: in.Hobbies, Intro: in.Intro, WechatID: in.WechatID,
		BirthYear: in.BirthYear, HeightCm: in.HeightCm, PhotoFileID: in.PhotoFileID}
}

func matchProfilePayload(p *models.MatchProfile, err error) (*model.MyMatchProfilePayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.MyMatchProfilePayload{Profile: p}, nil
}

func matchEventPayload(e *models.MatchEvent, err error) (*model.MatchEventPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.MatchEventPayload{MatchEvent: e}, nil
}

func matchSignUpPayload(su *models.MatchSignUp, err error) (*model.MatchSignUpPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.MatchSignUpPayload{SignUp: su}, nil
}

func matchActionPayload(err error) (*model.MatchActionPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.MatchActionPayload{Ok: true}, nil
}

func matchEventConnection(p page.Page[*models.MatchEvent], err error) (*model.MatchEventConnection, error) {
	if err != nil {
		return nil, err
	}
	es, info := edges(p, func(e *models.MatchEvent) any { return page.IDKey{ID: e.ID} },
		func(c string, n *models.MatchEvent) *model.MatchEventEdge {
			return &model.MatchEventEdge{Cursor: c, Node: n}
		})
	return &model.MatchEventConnection{Edges: es, PageInfo: info}, nil
}

func matchSignUpConnection(p page.Page[*models.MatchSignUp], err error) (*model.MatchSignUpConnection, error) {
	if err != nil {
		return nil, err
	}
	es, info := edges(p, func(su *models.MatchSignUp) any { return page.IDKey{ID: su.ID} },
		func(c string, n *models.MatchSignUp) *model.MatchSignUpEdge {
			return &model.MatchSignUpEdge{Cursor: c, Node: n}
		})
	return &model.MatchSignUpConnection{Edges: es, PageInfo: info}, nil
}
