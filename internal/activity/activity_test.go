package activity_test

import (
	"context"
	"testing"
	"time"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
)

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
