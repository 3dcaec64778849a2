package childcare_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

// First-come childcare goes through the shared, coalesced seat rush with
// the child as the holder. One batch holding a child admitted to an
// overlapping programme (refused alone, CONFLICT), a parent's retry of the
// same child (answered with its one sign-up), and more children than places
// (admitted, then waitlisted in order, then FULL): the first sign-up is held
// in flight while the others queue behind it in a known order.
func TestFirstComeBatchHoldsEveryRule(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		other := publishedProgram(t, s, admin, secondTerm("FIRST_COME", 10, 0, nil))
		id := publishedProgram(t, s, admin, firstTerm("FIRST_COME", 2, 1, nil))
		parents := s.Members(5, "courier")
		kids := make([]string, len(parents))
		for i, p := range parents {
			kids[i] = registerChild(t, s, p.Access, childInput("孩子", "2018-03-01"))
		}
		if su := mustSignUp(t, s, parents[1].Access, other, kids[1]); su.Status != "ADMITTED" {
			t.Fatalf("the overlapping admission = %+v", su)
		}

		type outcome struct {
			ID, Status, Code string
			Position         int
		}
		gate, entered := make(chan struct{}), make(chan struct{})
		var held atomic.Bool
		s.App.Core.SetGrantHook(func() {
			if held.CompareAndSwap(false, true) {
				close(entered)
				<-gate
			}
		})
		t.Cleanup(func() { s.App.Core.SetGrantHook(nil) })
		var outs []chan outcome
		send := func(i int) {
			out := make(chan outcome, 1)
			outs = append(outs, out)
			go func() {
				su, r := signUp(t, s, parents[i].Access, id, kids[i])
				o := outcome{ID: su.ID, Status: su.Status}
				if len(r.Errors) > 0 {
					o.Code = r.Code()
				}
				if su.WaitlistPosition != nil {
					o.Position = *su.WaitlistPosition
				}
				out <- o
			}()
		}
		pool := testutil.MustID(t, id)
		send(0)
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the first sign-up never reached its grant")
		}
		for k, i := range []int{1, 2, 2, 3, 4} {
			send(i)
			for deadline := time.Now().Add(10 * time.Second); s.App.Core.GrantQueueLen("childcare_programs", pool) < k+1; {
				if time.Now().After(deadline) {
					t.Fatal("a sign-up never queued")
				}
				time.Sleep(time.Millisecond)
			}
		}
		batches := s.App.Core.GrantStats.Batches.Load()
		close(gate)
		var got []outcome
		for _, c := range outs {
			select {
			case o := <-c:
				got = append(got, o)
			case <-time.After(20 * time.Second):
				t.Fatal("a sign-up never answered")
			}
		}
		if s.App.Core.GrantStats.Batches.Load() != batches+1 {
			t.Fatal("the queued sign-ups did not go as one batch")
		}
		if got[2].ID == "" || got[3].ID != got[2].ID {
			t.Fatalf("a retry of one child got sign-ups %q and %q", got[2].ID, got[3].ID)
		}
		want := []outcome{{Status: "ADMITTED"}, {Code: "CONFLICT"}, {Status: "ADMITTED"}, {Status: "ADMITTED"},
			{Status: "WAITLISTED", Position: 1}, {Code: "FULL"}}
		for i := range got {
			got[i].ID = ""
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("outcomes in order of arrival (-want +got):\n%s", diff)
		}
		var p models.ChildcareProgram
		if err := s.DB.Take(&p, id).Error; err != nil {
			t.Fatal(err)
		}
		rows := s.Count("child_sign_ups", "program_id = ? AND active = ?", id, true)
		if p.ConfirmedCount != 2 || p.WaitlistCount != 1 || rows != 3 {
			t.Fatalf("counters %d/%d with %d active rows, want 2/1 with 3", p.ConfirmedCount, p.WaitlistCount, rows)
		}
		if n := s.Count("child_sign_ups", "program_id = ? AND child_id = ?", id, kids[1]); n != 0 {
			t.Fatalf("the refused child has %d rows", n)
		}
	})
}
