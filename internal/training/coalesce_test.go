package training_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gorm.io/gorm"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

// Coalesced grants, made deterministic: the first booking of a class is
// held in flight (SetGrantHook) while the others queue behind it in a
// known order; released, it completes alone and the queue goes as one
// batch.

type booked struct {
	ID, Status, Code string
	Position         int
}

// queued books the class as each token in turn, each waiting in the queue
// before the next is sent, and returns their outcomes when all are back.
type queued struct {
	t       *testing.T
	s       *testutil.Server
	classID string
	outs    []chan booked
	release func()
}

func holdFirstBooking(t *testing.T, s *testutil.Server, classID string, first testutil.Tokens) *queued {
	t.Helper()
	gate := make(chan struct{})
	var held atomic.Bool
	entered := make(chan struct{})
	s.App.Core.SetGrantHook(func() {
		if held.CompareAndSwap(false, true) {
			close(entered)
			<-gate
		}
	})
	t.Cleanup(func() { s.App.Core.SetGrantHook(nil) })
	q := &queued{t: t, s: s, classID: classID, release: sync1(func() { close(gate) })}
	t.Cleanup(q.release)
	q.send(first, false)
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first booking never reached its grant")
	}
	return q
}

func sync1(f func()) func() {
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			f()
		}
	}
}

// send books as tok; with wait, it returns once the request is queued.
func (q *queued) send(tok testutil.Tokens, wait bool) {
	q.t.Helper()
	before := q.s.App.Core.GrantQueueLen("training_classes", testutil.MustID(q.t, q.classID))
	out := make(chan booked, 1)
	q.outs = append(q.outs, out)
	go func() {
		r, err := q.s.Try(tok.Access, testutil.BookQ, map[string]any{"id": q.classID})
		switch {
		case err != nil:
			out <- booked{Code: "TRANSPORT"}
		case len(r.Errors) > 0:
			out <- booked{Code: r.Code()}
		default:
			var b struct {
				BookClass struct{ Booking testutil.Booking }
			}
			r.Decode(q.t, &b)
			o := booked{ID: b.BookClass.Booking.ID, Status: b.BookClass.Booking.Status}
			if p := b.BookClass.Booking.WaitlistPosition; p != nil {
				o.Position = *p
			}
			out <- o
		}
	}()
	if !wait {
		return
	}
	for deadline := time.Now().Add(10 * time.Second); q.s.App.Core.GrantQueueLen("training_classes", testutil.MustID(q.t, q.classID)) == before; {
		if time.Now().After(deadline) {
			q.t.Fatal("a booking never queued")
		}
		time.Sleep(time.Millisecond)
	}
}

// results releases the held booking and collects every outcome in order.
func (q *queued) results() []booked {
	q.t.Helper()
	q.release()
	var got []booked
	for _, c := range q.outs {
		select {
		case o := <-c:
			got = append(got, o)
		case <-time.After(20 * time.Second):
			q.t.Fatal("a booking never answered")
		}
	}
	return got
}

// classFor is a server with a published class of capacity and waitlist
// places, an admin's token and n members.
func classFor(t *testing.T, d store.Dialect, capacity, waitlist, n int) (*testutil.Server, string, string, []testutil.Tokens) {
	t.Helper()
	s := testutil.NewServer(t, d)
	admin := s.LoginAdmin("donghua_admin").Access
	id := s.PublishedClass(admin, testutil.ClassInput(capacity, waitlist, nil))
	return s, admin, id, s.Members(n, "courier")
}

// queueAll holds m[0]'s booking in flight and queues the others behind it.
func queueAll(t *testing.T, s *testutil.Server, id string, m []testutil.Tokens) *queued {
	t.Helper()
	q := holdFirstBooking(t, s, id, m[0])
	for _, tok := range m[1:] {
		q.send(tok, true)
	}
	return q
}

func shape(outs []booked) []booked {
	out := make([]booked, len(outs))
	for i, o := range outs {
		out[i] = booked{Status: o.Status, Code: o.Code, Position: o.Position}
	}
	return out
}

// A batch that crosses the capacity: the first to arrive take the seats,
// the next the waitlist in order of arrival, the rest are FULL.
func TestBatchCrossesCapacityInOrder(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s, _, id, m := classFor(t, d, 3, 2, 6)
		q := queueAll(t, s, id, m)
		batches := s.App.Core.GrantStats.Batches.Load()
		want := []booked{{Status: "CONFIRMED"}, {Status: "CONFIRMED"}, {Status: "CONFIRMED"},
			{Status: "WAITLISTED", Position: 1}, {Status: "WAITLISTED", Position: 2}, {Code: "FULL"}}
		got := q.results()
		if diff := cmp.Diff(want, shape(got)); diff != "" {
			t.Fatalf("outcomes in order of arrival (-want +got):\n%s", diff)
		}
		if got := s.App.Core.GrantStats.Batches.Load() - batches; got != 1 {
			t.Fatalf("%d batches, want the five queued bookings in one", got)
		}
		// The batch's one INSERT: each member was answered with their own row.
		for i, o := range got[:5] {
			var b models.TrainingBooking
			if err := s.DB.Take(&b, o.ID).Error; err != nil || b.MemberID != testutil.MustID(t, m[i].ID) || string(b.Status) != o.Status {
				t.Fatalf("member %d was answered with booking %s: %+v (%v)", i, o.ID, b, err)
			}
		}
		assertSeatInvariants(t, s, id)
	})
}

// A batch holding a member twice and a retry of the booking in flight:
// each member ends with one booking, and every answer is that booking.
func TestBatchWithDuplicateAndRetry(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s, _, id, m := classFor(t, d, 5, 0, 2)
		q := holdFirstBooking(t, s, id, m[0])
		q.send(m[1], true)
		q.send(m[1], true) // the same phone, twice
		q.send(m[0], true) // a retry of the booking in flight
		got := q.results()
		for i, o := range got {
			if o.Status != "CONFIRMED" || o.ID == "" {
				t.Fatalf("outcome %d = %+v, want CONFIRMED", i, o)
			}
		}
		if got[1].ID != got[2].ID || got[0].ID != got[3].ID || got[0].ID == got[1].ID {
			t.Fatalf("booking ids %v: want one per member", got)
		}
		if n := s.Count("training_bookings", "class_id = ? AND active = 1", id); n != 2 {
			t.Fatalf("%d active bookings, want 2", n)
		}
		assertSeatInvariants(t, s, id)
	})
}

// A batch whose transaction fails: every request in it gets the error, and
// nothing of it is written.
func TestBatchFailureWritesNothing(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s, _, id, m := classFor(t, d, 5, 5, 4)
		doomed := map[int64]bool{}
		for _, tok := range m[2:] {
			doomed[testutil.MustID(t, tok.ID)] = true
		}
		err := s.DB.Callback().Create().Before("gorm:create").Register("test:fail_batch", func(db *gorm.DB) {
			var rows []*models.TrainingBooking // one, or a batch's in one INSERT
			switch b := db.Statement.Dest.(type) {
			case *models.TrainingBooking:
				rows = append(rows, b)
			case []*models.TrainingBooking:
				rows = b
			}
			for _, b := range rows {
				if doomed[b.MemberID] {
					db.AddError(errors.New("the disk is full"))
					return
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		q := queueAll(t, s, id, m)
		want := []booked{{Status: "CONFIRMED"}, {Code: "INTERNAL"}, {Code: "INTERNAL"}, {Code: "INTERNAL"}}
		if diff := cmp.Diff(want, shape(q.results())); diff != "" {
			t.Fatalf("outcomes (-want +got):\n%s", diff)
		}
		if n := s.Count("training_bookings", "class_id = ?", id); n != 1 {
			t.Fatalf("%d bookings, want only the first", n)
		}
		assertSeatInvariants(t, s, id)
	})
}

// A class cancelled while a batch waits: nobody in it gets a seat, and
// each is told why.
func TestBatchOnAPoolClosedMeanwhile(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s, admin, id, m := classFor(t, d, 5, 5, 4)
		q := queueAll(t, s, id, m)
		s.MustOK(admin, `mutation($id: ID!) { cancelTrainingClass(input: {id: $id, reason: "场地临时停用"}) { trainingClass { id } } }`,
			map[string]any{"id": id}, nil)
		got := q.results()
		for i, o := range got {
			if o.Code == "" || o.Code != got[0].Code || o.Code == "INTERNAL" || o.Code == "FULL" {
				t.Fatalf("outcome %d = %+v (first %+v): want the cancellation's refusal for all", i, o, got[0])
			}
		}
		if n := s.Count("training_bookings", "class_id = ?", id); n != 0 {
			t.Fatalf("%d bookings on a cancelled class", n)
		}
		assertSeatInvariants(t, s, id)
	})
}

// A phone that gives up while its booking waits in the queue (the request
// is cancelled): it leaves the queue and books nothing, and the others in
// the queue are unaffected.
func TestQueuedBookingAbandoned(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s, _, id, m := classFor(t, d, 5, 0, 3)
		q := holdFirstBooking(t, s, id, m[0])
		q.send(m[1], true)
		ctx, cancel := context.WithCancel(context.Background())
		body, _ := json.Marshal(map[string]any{"query": testutil.BookQ, "variables": map[string]any{"id": id}})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+m[2].Access)
		gone := make(chan error, 1)
		go func() {
			resp, err := s.HTTP.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			gone <- err
		}()
		classID := testutil.MustID(t, id)
		for deadline := time.Now().Add(10 * time.Second); s.App.Core.GrantQueueLen("training_classes", classID) < 2; {
			if time.Now().After(deadline) {
				t.Fatal("the third booking never queued")
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		<-gone
		for deadline := time.Now().Add(10 * time.Second); s.App.Core.GrantQueueLen("training_classes", classID) != 1; {
			if time.Now().After(deadline) {
				t.Fatal("the abandoned booking stayed in the queue")
			}
			time.Sleep(time.Millisecond)
		}
		want := []booked{{Status: "CONFIRMED"}, {Status: "CONFIRMED"}}
		if diff := cmp.Diff(want, shape(q.results())); diff != "" {
			t.Fatalf("the others (-want +got):\n%s", diff)
		}
		if n := s.Count("training_bookings", "class_id = ? AND member_id = ?", id, m[2].ID); n != 0 {
			t.Fatalf("the abandoned request booked %d", n)
		}
		assertSeatInvariants(t, s, id)
	})
}
