package resolvers

import (
	"unionhall/graph/model"
	"unionhall/internal/page"
	"unionhall/internal/subsidies"
	"unionhall/models"
)

// Mapping between the subsidies API's inputs and payloads and the service.

func createSubsidyProgramInput(in model.CreateSubsidyProgramInput) subsidies.SubsidyProgramInput {
	budget := int64(in.BudgetFen)
	return subsidies.SubsidyProgramInput{
		UnionID: in.UnionID, Title: &in.Title, Description: in.Description, Year: &in.Year,
		Levels: levelCapInputs(in.Levels), Shares: fundingShareInputs(in.FundingShares), BudgetFen: &budget,
		OpensAt: &in.OpensAt, ClosesAt: &in.ClosesAt,
	}
}

func updateSubsidyProgramInput(in model.UpdateSubsidyProgramInput) subsidies.SubsidyProgramInput {
	var budget *int64
	if in.BudgetFen != nil {
		b := int64(*in.BudgetFen)
		budget = &b
	}
	return subsidies.SubsidyProgramInput{
		Title: in.Title, Description: in.Description, Year: in.Year,
		Levels: levelCapInputs(in.Levels), Shares: fundingShareInputs(in.FundingShares), BudgetFen: budget,
		OpensAt: in.OpensAt, ClosesAt: in.ClosesAt,
	}
}

// levelCapInputs keeps nil (unchanged) apart from an empty list.
func levelCapInputs(in []*model.SubsidyLevelCapInput) []subsidies.LevelCapInput {
	if in == nil {
		return nil
	}
	out := make([]subsidies.LevelCapInput, 0, len(in))
	for _, l := range in {
		out = append(out, subsidies.LevelCapInput{Level: l.Level, CapFen: int64(l.CapFen)})
	}
	return out
}

func fundingShareInputs(in []*model.FundingShareInput) []subsidies.FundingShareInput {
	if in == nil {
		return nil
	}
	out := make([]subsidies.FundingShareInput, 0, len(in))
	for _, s := range in {
		out = append(out, subsidies.FundingShareInput{Level: s.Level, BasisPoints: s.BasisPoints})
	}
	return out
}

func levelCaps(p *models.SubsidyProgram) []*model.SubsidyLevelCap {
	var out []*model.SubsidyLevelCap
	for _, l := range models.AllDegreeLevels {
		if c, ok := p.Cap(l); ok {
			out = append(out, &model.SubsidyLevelCap{Level: l, CapFen: int(c)})
		}
	}
	return out
}

func fundingShares(p *models.SubsidyProgram) []*model.FundingShare {
	bp := p.Shares()
	out := make([]*model.FundingShare, len(bp))
	for i, l := range models.AllFundingLevels {
		out[i] = &model.FundingShare{Level: l, BasisPoints: bp[i]}
	}
	return out
}

func fundingAmounts(a *models.SubsidyApplication) []*model.FundingAmount {
	parts := []int64{a.GrantProvinceFen, a.GrantCityFen, a.GrantDistrictFen}
	out := make([]*model.FundingAmount, len(parts))
	for i, l := range models.AllFundingLevels {
		out[i] = &model.FundingAmount{Level: l, AmountFen: int(parts[i])}
	}
	return out
}

func subsidyProgramPayload(p *models.SubsidyProgram, err error) (*model.SubsidyProgramPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.SubsidyProgramPayload{Program: p}, nil
}

func subsidyApplicationPayload(a *models.SubsidyApplication, err error) (*model.SubsidyApplicationPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.SubsidyApplicationPayload{Application: a}, nil
}

func subsidyProgramKey(p *models.SubsidyProgram) any         { return page.IDKey{ID: p.ID} }
func subsidyApplicationKey(a *models.SubsidyApplication) any { return page.IDKey{ID: a.ID} }

func subsidyProgramConnection(p page.Page[*models.SubsidyProgram], err error) (*model.SubsidyProgramConnection, error) {
	if err != nil {
		return nil, err
	}
	e, info := edges(p, subsidyProgramKey, func(c string, n *models.SubsidyProgram) *model.SubsidyProgramEdge {
		return &model.SubsidyProgramEdge{Cursor: c, Node: n}
	})
	return &model.SubsidyProgramConnection{Edges: e, PageInfo: info}, nil
}

func subsidyApplicationConnection(p page.Page[*models.SubsidyApplication], err error) (*model.SubsidyApplicationConnection, error) {
	if err != nil {
		return nil, err
	}
	e, info := edges(p, subsidyApplicationKey, func(c string, n *models.SubsidyApplication) *model.SubsidyApplicationEdge {
		return &model.SubsidyApplicationEdge{Cursor: c, Node: n}
	})
	return &model.SubsidyApplicationConnection{Edges: e, PageInfo: info}, nil
}
