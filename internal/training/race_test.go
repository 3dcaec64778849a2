package training_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

type outcome struct {
	status, code string
	position     int
}

// rush has every token book class id once, concurrently, across servers
// (round robin), and returns each caller's outcome.
func rush(t *testing.T, servers []*testutil.Server, tokens []testutil.Tokens, id string) []outcome {
	t.Helper()
	out := make([]outcome, len(tokens))
	testutil.Race(len(tokens), 128, func(i int) {
		s := servers[i%len(servers)]
		r, err := s.Try(tokens[i].Access, testutil.BookQ, map[string]any{"id": id})
		if err != nil {
			out[i] = outcome{code: "TRANSPORT " + err.Error()}
			return
		}
		if len(r.Errors) > 0 {
			out[i] = outcome{code: r.Code()}
			return
		}
		var b struct {
			BookClass struct{ Booking testutil.Booking }
		}
		r.Decode(t, &b)
		out[i] = outcome{status: b.BookClass.Booking.Status}
		if p := b.BookClass.Booking.WaitlistPosition; p != nil {
			out[i].position = *p
		}
	})
	return out
}

func tally(outs []outcome) (map[string]int, []int) {
	n := map[string]int{}
	var positions []int
	for _, o := range outs {
		if o.code != "" {
			n[o.code]++
		} else {
			n[o.status]++
		}
		if o.status == "WAITLISTED" {
			positions = append(positions, o.position)
		}
	}
	sort.Ints(positions)
	return n, positions
}

// 2,000 distinct members (400 on SQLite) race through two instances for
// 50 seats and 100 waitlist places, with coalesced grants on (each
// instance batches the requests that meet on it).
func TestBookingRushNeverOversells(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		s2 := testutil.NewServerOn(t, s.DB)
		admin := s.LoginAdmin("donghua_admin").Access
		id := s.PublishedClass(admin, testutil.ClassInput(50, 100, nil))
		s2.Clock.Set(s.Clock.Now())
		tokens := s.Members(testutil.RushSize(d, 2000), "courier")
		n, positions := tally(rush(t, []*testutil.Server{s, s2}, tokens, id))
		for _, srv := range []*testutil.Server{s, s2} {
			st := &srv.App.Core.GrantStats
			if b := st.Batches.Load(); b > 0 {
				t.Logf("%s: %d batches, %.1f requests each", d, b, float64(st.Requests.Load())/float64(b))
			}
		}
		want := map[string]int{"CONFIRMED": 50, "WAITLISTED": 100, "FULL": len(tokens) - 150}
		if diff := cmp.Diff(want, n); diff != "" {
			t.Fatalf("outcomes (-want +got):\n%s", diff)
		}
		for i, p := range positions { // the waitlist filled in order: 1…100, each once
			if p != i+1 {
				t.Fatalf("waitlist positions = %v", positions)
			}
		}
		assertSeatInvariants(t, s, id)
	})
}

// One member's phone retries bookClass 20 times at once: one booking.
func TestParallelRetriesMakeOneBooking(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := s.PublishedClass(admin, testutil.ClassInput(10, 10, nil))
		tok := s.Members(1, "courier")[0]
		ids := make([]string, 20)
		testutil.Race(20, 20, func(i int) {
			r, err := s.Try(tok.Access, testutil.BookQ, map[string]any{"id": id})
			if err != nil || len(r.Errors) > 0 {
				ids[i] = fmt.Sprint("error ", err, r)
				return
			}
			var b struct {
				BookClass struct{ Booking testutil.Booking }
			}
			r.Decode(t, &b)
			ids[i] = b.BookClass.Booking.ID
		})
		for _, got := range ids {
			if got != ids[0] {
				t.Fatalf("retries returned different bookings: %v", ids)
			}
		}
		var rows int64
		s.DB.Table("training_bookings").Where("class_id = ?", id).Count(&rows)
		if rows != 1 {
			t.Fatalf("%d booking rows, want 1", rows)
		}
		assertSeatInvariants(t, s, id)
	})
}

// Bookings and cancellations interleave; every promotion keeps the
// invariants, and in the end the seats are exactly the survivors.
func TestInterleavedBookingsAndCancellations(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := s.PublishedClass(admin, testutil.ClassInput(20, 30, nil))
		tokens := s.Members(120, "courier")
		bookingOf := make([]string, len(tokens))
		var mu sync.Mutex
		cancelled := map[int]bool{}
		testutil.Race(len(tokens)*2, 64, func(k int) {
			i := k / 2
			if k%2 == 0 {
				r, err := s.Try(tokens[i].Access, testutil.BookQ, map[string]any{"id": id})
				if err == nil && len(r.Errors) == 0 {
					var b struct {
						BookClass struct{ Booking testutil.Booking }
					}
					r.Decode(t, &b)
					mu.Lock()
					bookingOf[i] = b.BookClass.Booking.ID
					mu.Unlock()
				}
				return
			}
			// Every third member cancels whatever they got, racing the others.
			if i%3 != 0 {
				return
			}
			for try := 0; try < 50; try++ {
				mu.Lock()
				bid := bookingOf[i]
				mu.Unlock()
				if bid != "" {
					r, err := s.Try(tokens[i].Access, testutil.CancelBookingQ, map[string]any{"id": bid})
					if err == nil && len(r.Errors) == 0 {
						mu.Lock()
						cancelled[i] = true
						mu.Unlock()
					}
					return
				}
				if rand.IntN(2) == 0 {
					continue
				}
			}
		})
		assertSeatInvariants(t, s, id)
		var seated, waiting int64
		s.DB.Table("training_bookings").Where("class_id = ? AND status = 'CONFIRMED'", id).Count(&seated)
		s.DB.Table("training_bookings").Where("class_id = ? AND status = 'WAITLISTED'", id).Count(&waiting)
		if seated != 20 || waiting == 0 {
			t.Fatalf("after the rush: %d seated, %d waiting (cancelled %d)", seated, waiting, len(cancelled))
		}
	})
}

// Two server instances share one MariaDB: the seat rule is in the
// database, so they still never oversell.
func TestTwoInstancesNeverOversell(t *testing.T) {
	t.Parallel()
	testutil.MySQLOnly(t)
	a := testutil.NewServer(t, store.MySQL)
	b := testutil.NewServerOn(t, a.DB)
	b.Clock.Set(a.Clock.Now())
	admin := a.LoginAdmin("donghua_admin").Access
	id := a.PublishedClass(admin, testutil.ClassInput(40, 20, nil))
	b.Clock.Set(a.Clock.Now())
	tokens := a.Members(600, "courier")
	n, positions := tally(rush(t, []*testutil.Server{a, b}, tokens, id))
	if n["CONFIRMED"] != 40 || n["WAITLISTED"] != 20 || n["FULL"] != 540 || len(n) != 3 {
		t.Fatalf("outcomes = %v", n)
	}
	for i, p := range positions {
		if p != i+1 {
			t.Fatalf("waitlist positions = %v", positions)
		}
	}
	assertSeatInvariants(t, a, id)
}

// An admin cancels a class in the middle of the rush: no booking survives
// the cancellation (the seat UPDATE itself checks the class is open).
func TestCancelDuringRushLeavesNoBooking(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := s.PublishedClass(admin, testutil.ClassInput(300, 0, nil))
		tokens := s.Members(300, "courier")
		testutil.Race(len(tokens)+1, 64, func(i int) {
			if i == 100 {
				s.MustOK(admin, `mutation($id: ID!) { cancelTrainingClass(input: {id: $id, reason: "场地临时停用"}) { trainingClass { id } } }`,
					map[string]any{"id": id}, nil)
				return
			}
			s.Try(tokens[i%len(tokens)].Access, testutil.BookQ, map[string]any{"id": id})
		})
		var active int64
		s.DB.Model(&models.TrainingBooking{}).Where("class_id = ? AND active = 1", id).Count(&active)
		var c models.TrainingClass
		s.DB.Take(&c, id)
		if c.Status != models.OfferingCancelled || active != 0 || c.ConfirmedCount != 0 {
			t.Fatalf("after cancelling mid-rush: status %s, %d active bookings, counter %d", c.Status, active, c.ConfirmedCount)
		}
	})
}
