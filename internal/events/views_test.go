package events_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

// Reads of one hot post on two instances are counted in memory and
// written in batches: none is lost, none counted twice, and the post's
// row is not written per read.
func TestEventViewsAreBufferedAndFlushed(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		s2 := testutil.NewServerOn(t, s.DB)
		s2.Clock.Set(s.Clock.Now())
		id := s.PublishedEvent(s.LoginAdmin("donghua_admin").Access, testutil.EventInput("热门活动", nil))
		members := s.Members(20, "courier")
		var flushed atomic.Int64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { // a flush job running through the reads
			defer close(done)
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				n, err := s.App.Events.FlushViews(context.Background())
				if err != nil {
					t.Error(err)
				}
				flushed.Add(n)
			}
		}()
		const reads = 400
		testutil.Race(reads, 32, func(i int) {
			srv := []*testutil.Server{s, s2}[i%2]
			r := srv.Do(members[i%len(members)].Access, `query($id: ID!) { event(id: $id) { id views } }`, map[string]any{"id": id})
			if len(r.Errors) > 0 {
				t.Errorf("read: %+v", r.Errors)
			}
		})
		close(stop)
		<-done
		// Instance 2 never flushed: its count shows on its own answers and
		// reaches the database when it shuts down.
		var p models.EventPost
		s.DB.Take(&p, id)
		if p.ViewCount != flushed.Load() || p.ViewCount > reads/2 {
			t.Fatalf("stored %d, flushed %d", p.ViewCount, flushed.Load())
		}
		var seen struct{ Event struct{ Views int } }
		s2.MustOK(members[0].Access, `query($id: ID!) { event(id: $id) { views } }`, map[string]any{"id": id}, &seen)
		if seen.Event.Views < reads/2 {
			t.Fatalf("instance 2 shows %d views, holds at least %d", seen.Event.Views, reads/2)
		}
		for _, srv := range []*testutil.Server{s, s2} {
			if err := srv.App.Close(); err != nil {
				t.Fatal(err)
			}
		}
		s.DB.Take(&p, id)
		if p.ViewCount != reads+1 {
			t.Fatalf("view_count %d after %d reads and shutdown, want %d", p.ViewCount, reads+1, reads+1)
		}
		// Admins' reads are not views.
		s.MustOK(s.LoginAdmin("donghua_admin").Access, `query($id: ID!) { event(id: $id) { views } }`, map[string]any{"id": id}, nil)
		if n, _ := s.App.Events.FlushViews(context.Background()); n != 0 {
			t.Fatalf("an admin read counted %d views", n)
		}
	})
}
