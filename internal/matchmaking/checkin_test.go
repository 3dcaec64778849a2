package matchmaking_test

import (
	"strings"
	"testing"
	"time"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
)

// A matchmaking check-in: the venue code in any case, from two hours before
// the start to the end.
func TestMatchCheckInWindowAndCase(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		ev := publishedMatch(t, s, admin, matchInput("FIRST_COME", 5, 5, nil)) // testutil.At(2) 14:00–17:00
		s.Clock.Set(testutil.Epoch.Add(time.Minute))
		p := singles(t, s, 2, "courier")
		for _, m := range p {
			s.MustOK(m.Access, signUpMatchQ, map[string]any{"e": ev.ID}, nil)
		}
		lower := strings.ToLower(ev.Code)
		if lower == ev.Code {
			t.Fatalf("code %q has no letters to fold", ev.Code)
		}
		relogin := func(hhmm string) {
			s.Clock.Set(testutil.At(2, hhmm))
			for i := range p {
				p[i] = s.Reissue(p[i])
			}
		}
		relogin("11:59")
		testutil.WantWindowClosed(t, s.Do(p[0].Access, checkInMatchQ, map[string]any{"e": ev.ID, "code": ev.Code}), "签到尚未开始")
		relogin("12:00")
		var out struct {
			CheckInMatchEvent struct{ SignUp struct{ CheckedInAt *string } }
		}
		s.MustOK(p[0].Access, checkInMatchQ, map[string]any{"e": ev.ID, "code": " " + lower + " "}, &out)
		if out.CheckInMatchEvent.SignUp.CheckedInAt == nil {
			t.Fatalf("check-in = %+v", out)
		}
		wrong := lower[:len(lower)-1] + "x"
		if wrong == lower {
			wrong = lower[:len(lower)-1] + "y"
		}
		testutil.WantCode(t, s.Do(p[1].Access, checkInMatchQ, map[string]any{"e": ev.ID, "code": wrong}), "VALIDATION_FAILED")
		relogin("17:00")
		testutil.WantWindowClosed(t, s.Do(p[1].Access, checkInMatchQ, map[string]any{"e": ev.ID, "code": ev.Code}), "签到已结束")
	})
}
