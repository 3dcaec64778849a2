package testutil

import "time"

// Training fixtures, shared by the training suites and those that need a class.

const (
	CreateClassQ   = `mutation($in: CreateTrainingClassInput!) { createTrainingClass(input: $in) { trainingClass { id status version capacity } } }`
	PublishClassQ  = `mutation($id: ID!) { publishTrainingClass(input: {id: $id}) { trainingClass { id status publishedAt } } }`
	BookQ          = `mutation($id: ID!) { bookClass(input: {classId: $id}) { booking { id status waitlistPosition checkinCode checkinPayload promotedAt } } }`
	CancelBookingQ = `mutation($id: ID!) { cancelBooking(input: {bookingId: $id}) { booking { id status cancelReason } } }`
	ClassQ         = `query($id: ID!) { trainingClass(id: $id) { id status seatsLeft confirmedCount waitlistCount ineligibleReason cancelReason
		myBooking { id status waitlistPosition cancelReason } sessions { place } union { id } } }`
)

// ClassInput is a valid class: booking opens an hour from the epoch and
// closes in two days; one session in four days.
func ClassInput(capacity, waitlist int, extra map[string]any) map[string]any {
	in := map[string]any{
		"title": "电动自行车安全驾驶培训", "category": "SAFETY", "description": "交通法规与安全驾驶", "teacher": "王老师",
		"sessions": []map[string]any{{"startsAt": RFC(At(4, "09:00")), "endsAt": RFC(At(4, "11:30")), "place": "职工服务中心 301"}},
		"capacity": capacity, "waitlistLimit": waitlist,
		"bookingOpensAt": RFC(Epoch.Add(5 * time.Minute)), "bookingClosesAt": RFC(At(2, "18:00")),
		"cancelDeadline": RFC(At(3, "12:00")),
	}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

// PublishedClass creates and publishes a class as admin and opens its
// window by moving the clock past bookingOpensAt.
func (s *Server) PublishedClass(admin string, in map[string]any) string {
	s.tb.Helper()
	var out struct {
		CreateTrainingClass struct{ TrainingClass struct{ ID, Status string } }
	}
	s.MustOK(admin, CreateClassQ, map[string]any{"in": in}, &out)
	id := out.CreateTrainingClass.TrainingClass.ID
	if out.CreateTrainingClass.TrainingClass.Status != "DRAFT" {
		s.tb.Fatalf("new class status %s", out.CreateTrainingClass.TrainingClass.Status)
	}
	s.MustOK(admin, PublishClassQ, map[string]any{"id": id}, nil)
	if opens, _ := time.Parse(time.RFC3339, in["bookingOpensAt"].(string)); s.Clock.Now().Before(opens) {
		s.Clock.Set(opens.Add(time.Minute))
	}
	return id
}

// Booking is what a booking answers.
type Booking struct {
	ID, Status       string
	WaitlistPosition *int
	CheckinCode      *string
	CheckinPayload   *string
	PromotedAt       *string
	CancelReason     string
}

// Book books classID as token.
func (s *Server) Book(token, classID string) (Booking, *Response) {
	s.tb.Helper()
	r := s.Do(token, BookQ, map[string]any{"id": classID})
	var out struct{ BookClass struct{ Booking Booking } }
	if len(r.Errors) == 0 {
		r.Decode(s.tb, &out)
	}
	return out.BookClass.Booking, r
}

// MustBook books classID as token and fails the test on an error.
func (s *Server) MustBook(token, classID string) Booking {
	s.tb.Helper()
	b, r := s.Book(token, classID)
	if len(r.Errors) > 0 {
		s.tb.Fatalf("bookClass: %+v", r.Errors)
	}
	return b
}
