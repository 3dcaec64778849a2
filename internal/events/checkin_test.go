package events_test

import (
	"strings"
	"testing"
	"time"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

// An inclusive-benefit event check-in: from two hours before the start to
// the end.
func TestEventCheckInWindow(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		start := s.Clock.Now().Add(72 * time.Hour) // signUpEvent: 72 h to 75 h from now
		id := s.SignUpEvent(admin, 5, 0, nil)
		m := s.Members(2, "courier")
		a, _ := s.SignUpFor(m[0].Access, id)
		b, _ := s.SignUpFor(m[1].Access, id)
		checkIn := `mutation($c: String!) { checkInEventSignUp(input: {code: $c}) { signUp { id status checkedInAt } } }`

		testutil.WantWindowClosed(t, s.Do(admin, checkIn, map[string]any{"c": *a.CheckinPayload}), "签到尚未开始")
		var row models.EventSignUp
		s.DB.Take(&row, a.ID)
		if row.Status != models.BookingConfirmed || row.CheckedInAt != nil {
			t.Fatalf("a refused check-in changed the sign-up: %+v", row)
		}
		s.Clock.Set(start.Add(-2 * time.Hour))
		admin = s.LoginAdmin("donghua_admin").Access
		s.MustOK(admin, checkIn, map[string]any{"c": strings.ToLower(*a.CheckinCode)}, nil)
		s.Clock.Set(start.Add(3 * time.Hour))
		admin = s.LoginAdmin("donghua_admin").Access
		testutil.WantWindowClosed(t, s.Do(admin, checkIn, map[string]any{"c": *b.CheckinCode}), "签到已结束")
	})
}
