package testutil

import "time"

// Event fixtures, shared by the event suites and those that need a post.

const (
	CreateEventQ  = `mutation($in: CreateEventInput!) { createEvent(input: $in) { event { id status version bodyHtml } } }`
	UpdateEventQ  = `mutation($in: UpdateEventInput!) { updateEvent(input: $in) { event { id version title pinned } } }`
	PublishEventQ = `mutation($id: ID!, $at: Time) { publishEvent(input: {id: $id, publishAt: $at}) { event { id status publishAt } } }`
	CloseEventQ   = `mutation($id: ID!) { closeEvent(input: {id: $id}) { event { id status } } }`
	EventQ        = `query($id: ID!) { event(id: $id) { id title bodyHtml bodySource views status pinned union { id }
		targetUnions { id } ineligibleReason signUp { capacity confirmedCount waitlistCount placesLeft cancelled cancelReason }
		mySignUp { id status } } }`
	FeedQ = `query($first: Int, $after: String, $cat: EventCategory) { events(first: $first, after: $after, filter: {category: $cat}) {
		edges { cursor node { id title pinned category union { id name } mySignUp { id status } ineligibleReason } }
		pageInfo { hasNextPage endCursor } } }`
	EventSignUpQ       = `mutation($id: ID!) { signUpForEvent(input: {postId: $id}) { signUp { id status waitlistPosition checkinCode checkinPayload promotedAt } } }`
	CancelEventSignUpQ = `mutation($id: ID!) { cancelEventSignUp(input: {signUpId: $id}) { signUp { id status cancelReason } } }`
)

// EventInput is a valid post.
func EventInput(title string, extra map[string]any) map[string]any {
	in := map[string]any{"title": title, "category": "HEALTH_CHECK", "body": "## 体检须知\n\n请空腹前往。"}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

// CreateEvent creates a draft post as admin.
func (s *Server) CreateEvent(admin string, in map[string]any) string {
	s.tb.Helper()
	var out struct {
		CreateEvent struct{ Event struct{ ID, Status string } }
	}
	s.MustOK(admin, CreateEventQ, map[string]any{"in": in}, &out)
	if out.CreateEvent.Event.Status != "DRAFT" {
		s.tb.Fatalf("new post status %s", out.CreateEvent.Event.Status)
	}
	return out.CreateEvent.Event.ID
}

// PublishedEvent creates and publishes a post as admin.
func (s *Server) PublishedEvent(admin string, in map[string]any) string {
	s.tb.Helper()
	id := s.CreateEvent(admin, in)
	s.MustOK(admin, PublishEventQ, map[string]any{"id": id}, nil)
	return id
}

// EventSignUp is what a sign-up answers.
type EventSignUp struct {
	ID, Status       string
	WaitlistPosition *int
	CheckinCode      *string
	CheckinPayload   *string
	PromotedAt       *string
	CancelReason     string
}

// SignUpFor signs token up for postID.
func (s *Server) SignUpFor(token, postID string) (EventSignUp, *Response) {
	s.tb.Helper()
	r := s.Do(token, EventSignUpQ, map[string]any{"id": postID})
	var out struct{ SignUpForEvent struct{ SignUp EventSignUp } }
	if len(r.Errors) == 0 {
		r.Decode(s.tb, &out)
	}
	return out.SignUpForEvent.SignUp, r
}

// SignUpEvent is a published post of admin's union with a sign-up open now.
func (s *Server) SignUpEvent(admin string, capacity, waitlist int, extra map[string]any) string {
	s.tb.Helper()
	now := s.Clock.Now()
	su := map[string]any{"capacity": capacity, "waitlistLimit": waitlist, "opensAt": RFC(now),
		"closesAt": RFC(now.Add(48 * time.Hour)), "startsAt": RFC(now.Add(72 * time.Hour)), "endsAt": RFC(now.Add(75 * time.Hour)),
		"place": "职工服务中心"}
	for k, v := range extra {
		su[k] = v
	}
	return s.PublishedEvent(admin, EventInput("免费体检报名", map[string]any{"signUp": su}))
}
