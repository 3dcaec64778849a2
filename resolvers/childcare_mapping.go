package resolvers

import (
	"context"

	"unionhall/graph/model"
	"unionhall/internal/childcare"
	"unionhall/internal/loader"
	"unionhall/internal/page"
	"unionhall/models"
)

// Mapping between the childcare API's inputs and payloads and the service.

func createProgramInput(in model.CreateChildcareProgramInput) childcare.ProgramInput {
	return childcare.ProgramInput{
		UnionID: in.UnionID, Title: &in.Title, Description: in.Description, Place: &in.Place,
		StartsOn: &in.StartsOn, EndsOn: &in.EndsOn, DailyStart: &in.DailyStart, DailyEnd: &in.DailyEnd,
		ChildMinAge: &in.ChildMinAge, ChildMaxAge: &in.ChildMaxAge, Capacity: &in.Capacity, WaitlistLimit: in.WaitlistLimit,
		SignUpOpensAt: &in.SignUpOpensAt, SignUpClosesAt: &in.SignUpClosesAt, AdmissionMode: &in.AdmissionMode,
		PriorityForms: in.PriorityEmploymentForms, PriorityDoubleWorker: in.PriorityDoubleWorker,
		RequireEmergencyContact: in.RequireEmergencyContact, RequireHealthNotes: in.RequireHealthNotes,
		Eligibility: eligibilityInput(in.Eligibility),
	}
}

func updateProgramInput(in model.UpdateChildcareProgramInput) childcare.ProgramInput {
	return childcare.ProgramInput{
		Title: in.Title, Description: in.Description, Place: in.Place,
		StartsOn: in.StartsOn, EndsOn: in.EndsOn, DailyStart: in.DailyStart, DailyEnd: in.DailyEnd,
		ChildMinAge: in.ChildMinAge, ChildMaxAge: in.ChildMaxAge, Capacity: in.Capacity, WaitlistLimit: in.WaitlistLimit,
		SignUpOpensAt: in.SignUpOpensAt, SignUpClosesAt: in.SignUpClosesAt, AdmissionMode: in.AdmissionMode,
		PriorityForms: in.PriorityEmploymentForms, PriorityDoubleWorker: in.PriorityDoubleWorker,
		RequireEmergencyContact: in.RequireEmergencyContact, RequireHealthNotes: in.RequireHealthNotes,
		Eligibility: eligibilityInput(in.Eligibility),
	}
}

func registerChildInput(in model.RegisterChildInput) childcare.ChildInput {
	return childcare.ChildInput{Name: &in.Name, IDNumber: in.IDNumber, BirthDate: in.BirthDate, Gender: in.Gender,
		SchoolGrade: in.SchoolGrade, Allergies: in.Allergies, HealthNotes: in.HealthNotes,
		EmergencyContactName: in.EmergencyContactName, EmergencyContactPhone: in.EmergencyContactPhone}
}

func updateChildInput(in model.UpdateChildInput) childcare.ChildInput {
	return childcare.ChildInput{Name: in.Name, IDNumber: in.IDNumber, BirthDate: in.BirthDate, Gender: in.Gender,
		SchoolGrade: in.SchoolGrade, Allergies: in.Allergies, HealthNotes: in.HealthNotes,
		EmergencyContactName: in.EmergencyContactName, EmergencyContactPhone: in.EmergencyContactPhone}
}

func programFilter(f *model.ChildcareProgramFilter) childcare.ProgramFilter {
	if f == nil {
		return childcare.ProgramFilter{}
	}
	return childcare.ProgramFilter{Upcoming: deref(f.Upcoming), UnionID: f.UnionID, Status: f.Status}
}

func myChildSignUpFilter(f *model.MyChildSignUpFilter) childcare.SignUpFilter {
	if f == nil {
		return childcare.SignUpFilter{}
	}
	return childcare.SignUpFilter{ChildID: f.ChildID, ProgramID: f.ProgramID, Status: f.Status}
}

func childSignUpFilter(f *model.ChildSignUpFilter) childcare.SignUpFilter {
	if f == nil {
		return childcare.SignUpFilter{}
	}
	return childcare.SignUpFilter{Status: f.Status, PriorityOnly: deref(f.PriorityOnly)}
}

// guardedChild is child id when the caller is one of its guardians (nil
// for no id); NOT_FOUND otherwise.
func guardedChild(ctx context.Context, id *int64) (*models.Child, error) {
	if id == nil {
		return nil, nil
	}
	role, err := loader.MyGuardianRole(ctx, *id)
	if err != nil {
		return nil, err
	}
	if role == nil {
		return nil, childcare.ErrChildNotFound
	}
	return loader.Child(ctx, *id)
}

// primeProgramPage loads the page's host unions in one query when asked.
func primeProgramPage(ctx context.Context, programs []*models.ChildcareProgram) error {
	if len(programs) == 0 || !requested(ctx, "edges", "node", "union") {
		return nil
	}
	unions := make([]int64, len(programs))
	for i, p := range programs {
		unions[i] = p.UnionID
	}
	return loader.PrimeUnions(ctx, unions)
}

func programPayload(p *models.ChildcareProgram, err error) (*model.ChildcareProgramPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.ChildcareProgramPayload{ChildcareProgram: p}, nil
}

func childPayload(c *models.Child, err error) (*model.ChildPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.ChildPayload{Child: c}, nil
}

func signUpPayload(su *models.ChildSignUp, err error) (*model.ChildSignUpPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.ChildSignUpPayload{SignUp: su}, nil
}

func attendancePayload(a *models.ChildAttendance, err error) (*model.ChildAttendancePayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.ChildAttendancePayload{Attendance: a}, nil
}

func childConnection(p page.Page[*models.Child], err error) (*model.ChildConnection, error) {
	if err != nil {
		return nil, err
	}
	e, info := edges(p, func(c *models.Child) any { return page.IDKey{ID: c.ID} }, func(c string, n *models.Child) *model.ChildEdge {
		return &model.ChildEdge{Cursor: c, Node: n}
	})
	return &model.ChildConnection{Edges: e, PageInfo: info}, nil
}

func signUpConnection(p page.Page[*models.ChildSignUp], err error) (*model.ChildSignUpConnection, error) {
	if err != nil {
		return nil, err
	}
	e, info := edges(p, func(su *models.ChildSignUp) any { return page.IDKey{ID: su.ID} }, func(c string, n *models.ChildSignUp) *model.ChildSignUpEdge {
		return &model.ChildSignUpEdge{Cursor: c, Node: n}
	})
	return &model.ChildSignUpConnection{Edges: e, PageInfo: info}, nil
}
