package resolvers

import (
	"context"

	"unionhall/graph/model"
	"unionhall/internal/activity"
	"unionhall/internal/events"
	"unionhall/internal/loader"
	"unionhall/internal/page"
	"unionhall/models"
)

// Mapping between the events API's inputs and payloads and the service.

func createEventInput(in model.CreateEventInput) events.EventInput {
	targets := in.TargetUnionIds
	if targets == nil {
		targets = []int64{}
	}
	return events.EventInput{UnionID: in.UnionID, Title: &in.Title, Category: &in.Category, BodyFormat: in.BodyFormat,
		Body: &in.Body, CoverURL: in.CoverURL, TargetUnionIDs: targets, Pinned: in.Pinned, PublishAt: in.PublishAt,
		SignUp: signUpSettings(in.SignUp)}
}

func updateEventInput(in model.UpdateEventInput) events.EventInput {
	return events.EventInput{Title: in.Title, Category: in.Category, BodyFormat: in.BodyFormat, Body: in.Body,
		CoverURL: in.CoverURL, TargetUnionIDs: in.TargetUnionIds, Pinned: in.Pinned, PublishAt: in.PublishAt,
		SignUp: signUpSettings(in.SignUp)}
}

func signUpSettings(in *model.EventSignUpSettingsInput) *events.EventSignUpInput {
	if in == nil {
		return nil
	}
	return &events.EventSignUpInput{Capacity: in.Capacity, WaitlistLimit: deref(in.WaitlistLimit), OpensAt: in.OpensAt,
		ClosesAt: in.ClosesAt, StartsAt: in.StartsAt, EndsAt: in.EndsAt, Place: deref(in.Place),
		Eligibility: eligibilityInput(in.Eligibility)}
}

func eventFilter(f *model.EventFilter) events.EventFilter {
	if f == nil {
		return events.EventFilter{}
	}
	return events.EventFilter{Category: f.Category, UnionID: f.UnionID, Status: f.Status}
}

func eventPayload(p *models.EventPost, err error) (*model.EventPostPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.EventPostPayload{Event: p}, nil
}

func eventSignUpPayload(b *models.EventSignUp, err error) (*model.EventSignUpPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.EventSignUpPayload{SignUp: b}, nil
}

func eventSignUpKey(b *models.EventSignUp) any { return page.IDKey{ID: b.ID} }

func eventSignUpConnection(p page.Page[*models.EventSignUp], err error) (*model.EventSignUpConnection, error) {
	if err != nil {
		return nil, err
	}
	e, info := edges(p, eventSignUpKey, func(c string, n *models.EventSignUp) *model.EventSignUpEdge {
		return &model.EventSignUpEdge{Cursor: c, Node: n}
	})
	return &model.EventSignUpConnection{Edges: e, PageInfo: info}, nil
}

func signUpInfo(p *models.EventPost) *model.EventSignUpInfo {
	if !p.HasSignUp {
		return nil
	}
	return &model.EventSignUpInfo{Capacity: p.Capacity, WaitlistLimit: p.WaitlistLimit, ConfirmedCount: p.ConfirmedCount,
		WaitlistCount: p.WaitlistCount, PlacesLeft: max(p.Capacity-p.ConfirmedCount, 0), OpensAt: deref(p.SignUpOpensAt),
		ClosesAt: deref(p.SignUpClosesAt), StartsAt: p.StartsAt, EndsAt: p.EndsAt, Place: p.Place,
		Eligibility: &p.Eligibility, Cancelled: p.SignUpCancelled, CancelReason: p.SignUpCancelReason}
}

// primeEventPage loads, once for the whole page, the nested fields of posts
// the query asks for: a feed page costs one query per field, always.
func primeEventPage(ctx context.Context, posts []*models.EventPost) error {
	if len(posts) == 0 {
		return nil
	}
	ids, unions := make([]int64, len(posts)), make([]int64, len(posts))
	for i, p := range posts {
		ids[i], unions[i] = p.ID, p.UnionID
	}
	if requested(ctx, "edges", "node", "union") {
		if err := loader.PrimeUnions(ctx, unions); err != nil {
			return err
		}
	}
	if requested(ctx, "edges", "node", "mySignUp") || requested(ctx, "edges", "node", "ineligibleReason") {
		return loader.PrimeMySignUps(ctx, ids)
	}
	return nil
}

func activityConnection(p page.Page[*activity.Activity], err error) (*model.ActivityConnection, error) {
	if err != nil {
		return nil, err
	}
	e, info := edges(p, activity.ActivityCursor, func(c string, n *activity.Activity) *model.ActivityEdge {
		return &model.ActivityEdge{Cursor: c, Node: n}
	})
	return &model.ActivityConnection{Edges: e, PageInfo: info}, nil
}
