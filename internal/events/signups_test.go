package events_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

func TestEventSignUpRules(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := s.SignUpEvent(admin, 2, 1, nil)
		m := s.Members(4, "courier")

		a, _ := s.SignUpFor(m[0].Access, id)
		again, _ := s.SignUpFor(m[0].Access, id) // a retry
		b, _ := s.SignUpFor(m[1].Access, id)
		w, _ := s.SignUpFor(m[2].Access, id)
		_, full := s.SignUpFor(m[3].Access, id)
		if a.Status != "CONFIRMED" || again.ID != a.ID || b.Status != "CONFIRMED" || w.Status != "WAITLISTED" ||
			w.WaitlistPosition == nil || *w.WaitlistPosition != 1 {
			t.Fatalf("sign-ups: %+v %+v %+v %+v", a, again, b, w)
		}
		testutil.WantCode(t, full, "FULL")
		if a.CheckinCode == nil || len(*a.CheckinCode) != 20 {
			t.Fatalf("check-in code %v", a.CheckinCode)
		}

		// The feed shows the member's own state.
		for _, e := range feed(t, s, m[0].Access, 50, nil, "").Events.Edges {
			if e.Node.ID == id && (e.Node.MySignUp == nil || e.Node.MySignUp.ID != a.ID || e.Node.IneligibleReason != nil) {
				t.Fatalf("feed node %+v", e.Node)
			}
			if e.Node.ID == id {
				goto found
			}
		}
		t.Fatal("post missing from the feed")
	found:
		// Someone else cannot cancel it; cancelling promotes the waitlist.
		testutil.WantCode(t, s.Do(m[1].Access, testutil.CancelEventSignUpQ, map[string]any{"id": a.ID}), "NOT_FOUND")
		s.MustOK(m[0].Access, testutil.CancelEventSignUpQ, map[string]any{"id": a.ID}, nil)
		s.MustOK(m[0].Access, testutil.CancelEventSignUpQ, map[string]any{"id": a.ID}, nil) // idempotent
		var mine struct {
			MySignUps struct {
				Edges []struct{ Node testutil.EventSignUp }
			}
		}
		s.MustOK(m[2].Access, `{ mySignUps { edges { node { id status promotedAt waitlistPosition } } } }`, nil, &mine)
		if len(mine.MySignUps.Edges) != 1 || mine.MySignUps.Edges[0].Node.Status != "CONFIRMED" || mine.MySignUps.Edges[0].Node.PromotedAt == nil {
			t.Fatalf("waitlisted member after a cancel: %+v", mine.MySignUps.Edges)
		}

		// Admins check members in by code (from two hours before the start,
		// 72 h after the post was made); another union's admin cannot.
		checkIn := `mutation($c: String!) { checkInEventSignUp(input: {code: $c}) { signUp { id status checkedInAt } } }`
		s.Clock.Set(s.Clock.Now().Add(71 * time.Hour))
		admin = s.LoginAdmin("donghua_admin").Access
		for i := range m {
			m[i] = s.Reissue(m[i])
		}
		testutil.WantCode(t, s.Do(s.LoginAdmin("xihu_admin").Access, checkIn, map[string]any{"c": *b.CheckinPayload}), "FORBIDDEN")
		s.MustOK(admin, checkIn, map[string]any{"c": *b.CheckinPayload}, nil)
		s.MustOK(admin, checkIn, map[string]any{"c": *b.CheckinCode}, nil) // idempotent
		testutil.WantCode(t, s.Do(admin, checkIn, map[string]any{"c": "0000000000000000000Z"}), "NOT_FOUND")
		list := `query($id: ID!) { eventSignUps(postId: $id) { edges { node { id status member { id phone } checkinCode } } } }`
		testutil.WantCode(t, s.Do(s.LoginAdmin("xihu_admin").Access, list, map[string]any{"id": id}), "FORBIDDEN")
		var rows struct {
			EventSignUps struct {
				Edges []struct {
					Node struct {
						Status      string
						CheckinCode *string
						Member      struct{ Phone string }
					}
				}
			}
		}
		s.MustOK(admin, list, map[string]any{"id": id}, &rows)
		if len(rows.EventSignUps.Edges) != 3 || rows.EventSignUps.Edges[1].Node.Status != "ATTENDED" ||
			rows.EventSignUps.Edges[1].Node.CheckinCode != nil {
			t.Fatalf("admin list %+v", rows.EventSignUps.Edges)
		}
		var audited int64
		s.DB.Model(&models.AuditLog{}).Where("action = ?", "EVENT_SIGNUPS_READ").Count(&audited)
		if audited != 1 {
			t.Fatalf("%d audit rows for the sign-up list", audited)
		}

		// Eligibility is explained; a post without sign-up refuses one.
		only := s.SignUpEvent(admin, 5, 0, map[string]any{"eligibility": map[string]any{"employmentForms": []string{"FOOD_DELIVERY"}}})
		var detail struct {
			Event struct{ IneligibleReason *string }
		}
		s.MustOK(m[3].Access, testutil.EventQ, map[string]any{"id": only}, &detail)
		_, r := s.SignUpFor(m[3].Access, only)
		testutil.WantCode(t, r, "NOT_ELIGIBLE")
		if detail.Event.IneligibleReason == nil || *detail.Event.IneligibleReason != r.Errors[0].Message {
			t.Fatalf("ineligibleReason %v, error %q", detail.Event.IneligibleReason, r.Errors[0].Message)
		}
		plain := s.PublishedEvent(admin, testutil.EventInput("无需报名的通知", nil))
		_, r = s.SignUpFor(m[3].Access, plain)
		testutil.WantCode(t, r, "NOT_FOUND")
		// Off the member's chain: not found, and nothing stored.
		xihu := s.SignUpEvent(s.LoginAdmin("xihu_admin").Access, 5, 0, nil)
		_, r = s.SignUpFor(m[3].Access, xihu)
		testutil.WantCode(t, r, "NOT_FOUND")

		// Calling the sign-up off cancels every place, with the reason.
		cancelAll := `mutation($id: ID!) { cancelEventSignUps(input: {id: $id, reason: "场地临时关闭"}) { event { signUp { cancelled confirmedCount waitlistCount } } } }`
		s.MustOK(admin, cancelAll, map[string]any{"id": id}, nil)
		s.MustOK(m[1].Access, `{ mySignUps { edges { node { id status cancelReason } } } }`, nil, &mine)
		if n := mine.MySignUps.Edges[0].Node; n.Status != "ATTENDED" {
			t.Fatalf("an attended sign-up was cancelled: %+v", n)
		}
		s.MustOK(m[2].Access, `{ mySignUps { edges { node { id status cancelReason } } } }`, nil, &mine)
		if n := mine.MySignUps.Edges[0].Node; n.Status != "CANCELLED" || n.CancelReason != "报名已取消：场地临时关闭" {
			t.Fatalf("after cancelEventSignUps: %+v", n)
		}
		_, r = s.SignUpFor(m[3].Access, id)
		testutil.WantCode(t, r, "WINDOW_CLOSED")
		var count int64
		s.DB.Model(&models.EventSignUp{}).Where("post_id IN (SELECT id FROM event_posts WHERE title = ?)", "无需报名的通知").Count(&count)
		if count != 0 {
			t.Fatal("a refused sign-up was stored")
		}
	})
}

// 600 members (120 on SQLite) through two instances race for 40 places and 20 waitlist
// places: exactly 40 and 20, and the counters agree with the rows.
func TestEventSignUpRushTwoInstances(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		s2 := testutil.NewServerOn(t, s.DB)
		s2.Clock.Set(s.Clock.Now())
		admin := s.LoginAdmin("donghua_admin").Access
		id := s.SignUpEvent(admin, 40, 20, nil)
		tokens := s.Members(testutil.RushSize(d, 600), "courier")
		var mu sync.Mutex
		n := map[string]int{}
		testutil.Race(len(tokens), 96, func(i int) {
			srv := []*testutil.Server{s, s2}[i%2]
			r, err := srv.Try(tokens[i].Access, testutil.EventSignUpQ, map[string]any{"id": id})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				n["TRANSPORT"]++
			case len(r.Errors) > 0:
				n[r.Code()]++
			default:
				var out struct {
					SignUpForEvent struct{ SignUp testutil.EventSignUp }
				}
				r.Decode(t, &out)
				n[out.SignUpForEvent.SignUp.Status]++
			}
		})
		want := map[string]int{"CONFIRMED": 40, "WAITLISTED": 20, "FULL": len(tokens) - 60}
		if diff := cmp.Diff(want, n); diff != "" {
			t.Fatalf("outcomes (-want +got):\n%s", diff)
		}
		var p models.EventPost
		if err := s.DB.Take(&p, id).Error; err != nil {
			t.Fatal(err)
		}
		var confirmed, waiting int64
		s.DB.Model(&models.EventSignUp{}).Where("post_id = ? AND status = ?", p.ID, "CONFIRMED").Count(&confirmed)
		s.DB.Model(&models.EventSignUp{}).Where("post_id = ? AND status = ?", p.ID, "WAITLISTED").Count(&waiting)
		if p.ConfirmedCount != 40 || p.WaitlistCount != 20 || confirmed != 40 || waiting != 20 {
			t.Fatalf("counters %d/%d, rows %d/%d", p.ConfirmedCount, p.WaitlistCount, confirmed, waiting)
		}
	})
}

func TestExportEventSignUps(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := s.SignUpEvent(admin, 5, 0, nil)
		for _, tok := range s.Members(3, "courier") {
			if _, r := s.SignUpFor(tok.Access, id); len(r.Errors) > 0 {
				t.Fatal(r.Errors)
			}
		}
		status, body := s.Get(admin, "/export/event-signups?postId="+id)
		if status != 200 {
			t.Fatalf("export: %d %s", status, body)
		}
		f, err := excelize.OpenReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := f.GetRows("报名名单")
		if len(rows) != 4 || rows[1][6] != "已预约" || !strings.Contains(rows[1][2], "****") {
			t.Fatalf("rows = %v", rows)
		}
		if status, _ := s.Get(s.LoginAdmin("rider_admin").Access, "/export/event-signups?postId="+id); status != 403 {
			t.Fatalf("another union's admin got %d", status)
		}
		var audited int64
		s.DB.Model(&models.AuditLog{}).Where("action = ?", "EVENT_SIGNUPS_EXPORT").Count(&audited)
		if audited != 1 {
			t.Fatalf("%d audit rows for the export", audited)
		}
	})
}
