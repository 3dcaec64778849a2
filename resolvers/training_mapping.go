package resolvers

import (
	"unionhall/graph/model"
	"unionhall/internal/core"
	"unionhall/internal/page"
	"unionhall/internal/training"
	"unionhall/models"
)

// Mapping between the training API's inputs and payloads and the service.

func createClassInput(in model.CreateTrainingClassInput) training.ClassInput {
	return training.ClassInput{
		UnionID: in.UnionID, Title: &in.Title, Category: &in.Category, Description: in.Description,
		Teacher: in.Teacher, CoverURL: in.CoverURL, Sessions: sessionsInput(in.Sessions, true),
		Capacity: &in.Capacity, WaitlistLimit: in.WaitlistLimit, BookingOpensAt: &in.BookingOpensAt,
		BookingClosesAt: &in.BookingClosesAt, CancelDeadline: in.CancelDeadline,
		Eligibility: eligibilityInput(in.Eligibility),
	}
}

func updateClassInput(in model.UpdateTrainingClassInput) training.ClassInput {
	return training.ClassInput{
		Title: in.Title, Category: in.Category, Description: in.Description, Teacher: in.Teacher,
		CoverURL: in.CoverURL, Sessions: sessionsInput(in.Sessions, in.Sessions != nil),
		Capacity: in.Capacity, WaitlistLimit: in.WaitlistLimit, BookingOpensAt: in.BookingOpensAt,
		BookingClosesAt: in.BookingClosesAt, CancelDeadline: in.CancelDeadline,
		Eligibility: eligibilityInput(in.Eligibility),
	}
}

// sessionsInput keeps "not given" (nil) apart from "given, empty".
func sessionsInput(in []*model.TrainingSessionInput, given bool) []training.SessionInput {
	if !given {
		return nil
	}
	out := make([]training.SessionInput, 0, len(in))
	for _, x := range in {
		out = append(out, training.SessionInput{StartsAt: x.StartsAt, EndsAt: x.EndsAt,
			Place: deref(x.Place), OnlineURL: deref(x.OnlineURL)})
	}
	return out
}

func eligibilityInput(in *model.EligibilityInput) *core.EligibilityInput {
	if in == nil {
		return nil
	}
	return &core.EligibilityInput{UnionID: in.UnionID, EmploymentForms: in.EmploymentForms,
		Gender: in.Gender, MinAge: in.MinAge, MaxAge: in.MaxAge, VerifiedOnly: deref(in.VerifiedOnly)}
}

func classFilter(f *model.TrainingClassFilter) training.ClassFilter {
	if f == nil {
		return training.ClassFilter{}
	}
	return training.ClassFilter{Category: f.Category, Upcoming: deref(f.Upcoming), HasSeats: deref(f.HasSeats),
		UnionID: f.UnionID, Status: f.Status}
}

func bookingFilter(f *model.BookingFilter) core.BookingFilter {
	if f == nil {
		return core.BookingFilter{}
	}
	return core.BookingFilter{Status: f.Status}
}

func classPayload(c *models.TrainingClass, err error) (*model.TrainingClassPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.TrainingClassPayload{TrainingClass: c}, nil
}

func bookingPayload(b *models.TrainingBooking, err error) (*model.BookingPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.BookingPayload{Booking: b}, nil
}

func bookingKey(b *models.TrainingBooking) any { return page.IDKey{ID: b.ID} }

func bookingConnection(p page.Page[*models.TrainingBooking], err error) (*model.TrainingBookingConnection, error) {
	if err != nil {
		return nil, err
	}
	e, info := edges(p, bookingKey, func(c string, n *models.TrainingBooking) *model.TrainingBookingEdge {
		return &model.TrainingBookingEdge{Cursor: c, Node: n}
	})
	return &model.TrainingBookingConnection{Edges: e, PageInfo: info}, nil
}
