package app_test

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

func TestDashboardAndMyActivity(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		donghua := s.LoginAdmin("donghua_admin").Access
		from := s.Clock.Now()
		dash := `query($u: ID, $f: Time!, $t: Time!) { dashboard(input: {unionId: $u, from: $f, to: $t}) {
			union { id } postsPublished postViews eventSignUps eventAttended classBookings classNoShows vouchersClaimed vouchersRedeemed redeemedFen } }`
		type figures struct {
			PostsPublished, PostViews, EventSignUps, EventAttended, ClassBookings, ClassNoShows int
			VouchersClaimed, VouchersRedeemed, RedeemedFen                                      int
		}
		get := func(token string, union *string) figures {
			var out struct{ Dashboard figures }
			vars := map[string]any{"f": testutil.RFC(from), "t": testutil.RFC(s.Clock.Now().Add(time.Hour))}
			if union != nil {
				vars["u"] = *union
			}
			s.MustOK(token, dash, vars, &out)
			return out.Dashboard
		}
		base := get(donghua, nil)

		s.Clock.Advance(time.Minute)
		m := s.Members(2, "courier")
		post := s.SignUpEvent(donghua, 10, 0, nil)
		classID := s.PublishedClass(donghua, testutil.ClassInput(10, 0, nil))
		batch := s.PublishedBatch(donghua, testutil.BatchInput(10, nil))
		m[0], m[1] = s.Reissue(m[0]), s.Reissue(m[1])
		s.Clock.Advance(time.Second)
		su, _ := s.SignUpFor(m[0].Access, post)
		s.Clock.Advance(time.Second)
		s.MustBook(m[0].Access, classID)
		s.Clock.Advance(time.Second)
		v, _ := s.Claim(m[0].Access, batch, nil)
		s.SignUpFor(m[1].Access, post)
		for i := 0; i < 3; i++ {
			s.MustOK(m[1].Access, testutil.EventQ, map[string]any{"id": post}, nil)
		}
		s.App.Events.FlushViews(context.Background())
		s.Clock.Set(s.Clock.Now().Add(71 * time.Hour)) // the event's check-in opens two hours before its start
		m[0], m[1] = s.Reissue(m[0]), s.Reissue(m[1])
		donghua = s.LoginAdmin("donghua_admin").Access
		s.MustOK(donghua, `mutation($c: String!) { checkInEventSignUp(input: {code: $c}) { signUp { id } } }`, map[string]any{"c": *su.CheckinCode}, nil)
		s.MustOK(donghua, testutil.RedeemQ, map[string]any{"c": v.Code}, nil)

		got := get(donghua, nil)
		want := base
		want.PostsPublished++
		want.PostViews += 3
		want.EventSignUps += 2
		want.EventAttended++
		want.ClassBookings++
		want.VouchersClaimed++
		want.VouchersRedeemed++
		want.RedeemedFen += 3500
		if got != want {
			t.Fatalf("dashboard %+v, want %+v", got, want)
		}
		// A sibling subtree sees none of it; another union's subtree is refused.
		xihu := s.UnionID("xihu")
		other := get(s.LoginAdmin("city_admin").Access, &xihu)
		if other.PostsPublished != 0 || other.EventSignUps != 0 || other.ClassBookings != 0 {
			t.Fatalf("xihu dashboard %+v", other)
		}
		testutil.WantCode(t, s.Do(donghua, dash, map[string]any{"u": xihu, "f": testutil.RFC(from), "t": testutil.RFC(from.Add(time.Hour))}), "FORBIDDEN")
		testutil.WantCode(t, s.Do(donghua, dash, map[string]any{"f": testutil.RFC(from), "t": testutil.RFC(from.Add(-time.Hour))}), "VALIDATION_FAILED")
		testutil.WantCode(t, s.Do(m[0].Access, dash, map[string]any{"f": testutil.RFC(from), "t": testutil.RFC(from.Add(time.Hour))}), "FORBIDDEN")

		// myActivity: the voucher, the booking, the sign-up, newest first,
		// one page at a time.
		q := `query($after: String) { myActivity(first: 1, after: $after) { edges { node { kind at
			booking { id class { title } } voucher { id } signUp { id post { title } } } } pageInfo { hasNextPage endCursor } } }`
		var kinds []string
		var after *string
		for {
			var out struct {
				MyActivity struct {
					Edges []struct {
						Node struct {
							Kind    string
							Booking *struct{ ID string }
							Voucher *struct{ ID string }
							SignUp  *struct{ ID string }
						}
					}
					PageInfo struct {
						HasNextPage bool
						EndCursor   *string
					}
				}
			}
			vars := map[string]any{}
			if after != nil {
				vars["after"] = *after
			}
			s.MustOK(m[0].Access, q, vars, &out)
			for _, e := range out.MyActivity.Edges {
				n := e.Node
				set := 0
				for _, p := range []bool{n.Booking != nil, n.Voucher != nil, n.SignUp != nil} {
					if p {
						set++
					}
				}
				if set != 1 {
					t.Fatalf("activity item %+v has %d details", n, set)
				}
				kinds = append(kinds, n.Kind)
			}
			if !out.MyActivity.PageInfo.HasNextPage {
				break
			}
			after = out.MyActivity.PageInfo.EndCursor
		}
		if len(kinds) != 3 || kinds[0] != "VOUCHER" || kinds[1] != "CLASS_BOOKING" || kinds[2] != "EVENT_SIGN_UP" {
			t.Fatalf("myActivity kinds %v", kinds)
		}
	})
}
