package events_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
)

type feedNode struct {
	ID, Title, Category string
	Pinned              bool
	Union               struct{ ID, Name string }
	MySignUp            *struct{ ID, Status string }
	IneligibleReason    *string
}

type feedPage struct {
	Events struct {
		Edges []struct {
			Cursor string
			Node   feedNode
		}
		PageInfo struct {
			HasNextPage bool
			EndCursor   *string
		}
	}
}

func feed(t *testing.T, s *testutil.Server, token string, first int, after *string, cat string) feedPage {
	t.Helper()
	vars := map[string]any{"first": first}
	if after != nil {
		vars["after"] = *after
	}
	if cat != "" {
		vars["cat"] = cat
	}
	var out feedPage
	s.MustOK(token, testutil.FeedQ, vars, &out)
	return out
}

// feedIDs pages through the whole feed, first posts at a time.
func feedIDs(t *testing.T, s *testutil.Server, token string, first int, cat string) []string {
	t.Helper()
	var ids []string
	var after *string
	for {
		p := feed(t, s, token, first, after, cat)
		for _, e := range p.Events.Edges {
			ids = append(ids, e.Node.ID)
		}
		if !p.Events.PageInfo.HasNextPage {
			return ids
		}
		after = p.Events.PageInfo.EndCursor
	}
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func TestEventsPublishAndFeed(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		donghua := s.LoginAdmin("donghua_admin").Access
		dongcheng := s.LoginAdmin("dongcheng_admin").Access
		courierT := s.Members(1, "courier")[0]
		courier := courierT.Access
		shunda := s.Members(1, "shunda")[0].Access
		rider := s.Members(1, "rider")[0].Access

		// The body is sanitised; the source is kept for the admin.
		body := "# 标题\n\n<script>alert(1)</script>\n\n[链接](javascript:alert(2)) <img src=x onerror=alert(3)>"
		id := s.CreateEvent(donghua, testutil.EventInput("东华街道免费体检", map[string]any{"body": body}))
		var detail struct {
			Event struct {
				BodyHTML   string `json:"bodyHtml"`
				BodySource *string
				Status     string
				Views      int
			}
		}
		s.MustOK(donghua, testutil.EventQ, map[string]any{"id": id}, &detail)
		for _, bad := range []string{"script", "javascript", "onerror", "alert"} {
			if strings.Contains(detail.Event.BodyHTML, bad) {
				t.Fatalf("bodyHtml %q contains %q", detail.Event.BodyHTML, bad)
			}
		}
		if !strings.Contains(detail.Event.BodyHTML, "<h1>标题</h1>") || detail.Event.BodySource == nil || *detail.Event.BodySource != body {
			t.Fatalf("detail %+v", detail.Event)
		}

		// A draft is invisible to members.
		testutil.WantCode(t, s.Do(courier, testutil.EventQ, map[string]any{"id": id}), "NOT_FOUND")
		if contains(feedIDs(t, s, courier, 20, ""), id) {
			t.Fatal("draft in the feed")
		}
		s.MustOK(donghua, testutil.PublishEventQ, map[string]any{"id": id}, nil)
		// Members of the subtree see it; members elsewhere do not; an admin
		// of another subtree is refused.
		if !contains(feedIDs(t, s, courier, 20, ""), id) || !contains(feedIDs(t, s, shunda, 20, ""), id) {
			t.Fatal("published post missing from the subtree's feed")
		}
		if contains(feedIDs(t, s, rider, 20, ""), id) {
			t.Fatal("post leaked to another subtree's feed")
		}
		testutil.WantCode(t, s.Do(rider, testutil.EventQ, map[string]any{"id": id}), "NOT_FOUND")
		testutil.WantCode(t, s.Do(s.LoginAdmin("xihu_admin").Access, testutil.EventQ, map[string]any{"id": id}), "FORBIDDEN")
		var asMember struct{ Event struct{ BodySource *string } }
		s.MustOK(courier, testutil.EventQ, map[string]any{"id": id}, &asMember)
		if asMember.Event.BodySource != nil {
			t.Fatal("members see the body source")
		}

		// The feed lists summaries; a body asked for in the feed is loaded.
		var withBody struct {
			Events struct {
				Edges []struct {
					Node struct {
						ID       string
						BodyHTML string `json:"bodyHtml"`
					}
				}
			}
		}
		s.MustOK(courier, `{ events(first: 50) { edges { node { id bodyHtml } } } }`, nil, &withBody)
		for _, e := range withBody.Events.Edges {
			if e.Node.ID == id && e.Node.BodyHTML != detail.Event.BodyHTML {
				t.Fatalf("feed bodyHtml %q, detail %q", e.Node.BodyHTML, detail.Event.BodyHTML)
			}
		}

		// Chosen sub-unions: a district post for one grassroots union only.
		only := s.PublishedEvent(dongcheng, testutil.EventInput("快递员专场法律咨询", map[string]any{
			"category": "LEGAL_AID", "targetUnionIds": []string{s.UnionID("courier")}}))
		if !contains(feedIDs(t, s, courier, 20, ""), only) || contains(feedIDs(t, s, shunda, 20, ""), only) {
			t.Fatal("targeted post in the wrong feeds")
		}
		// A target outside the publisher's subtree is refused and nothing is stored.
		r := s.Do(donghua, testutil.CreateEventQ, map[string]any{"in": testutil.EventInput("越权发布", map[string]any{"targetUnionIds": []string{s.UnionID("rider")}})})
		testutil.WantCode(t, r, "VALIDATION_FAILED")
		if r.Field() != "targetUnionIds" {
			t.Fatalf("field %q", r.Field())
		}

		// Pinned first, then newest.
		s.Clock.Advance(time.Minute)
		newest := s.PublishedEvent(donghua, testutil.EventInput("最新的活动", nil))
		p := feed(t, s, courier, 20, nil, "")
		edges := p.Events.Edges
		if !edges[0].Node.Pinned || edges[1].Node.ID != newest {
			t.Fatalf("feed order: first %+v, second %+v (want pinned first, then %s)", edges[0].Node, edges[1].Node, newest)
		}
		for i := 1; i < len(edges); i++ {
			if edges[i].Node.Pinned && !edges[i-1].Node.Pinned {
				t.Fatal("a pinned post after an unpinned one")
			}
		}
		// Category filter.
		for _, id := range feedIDs(t, s, courier, 20, "LEGAL_AID") {
			var c struct{ Event struct{ Category string } }
			s.MustOK(courier, `query($id: ID!) { event(id: $id) { category } }`, map[string]any{"id": id}, &c)
			if c.Event.Category != "LEGAL_AID" {
				t.Fatalf("category filter let %s through", c.Event.Category)
			}
		}
		if !contains(feedIDs(t, s, courier, 20, "LEGAL_AID"), only) {
			t.Fatal("category filter lost a post")
		}

		// A scheduled post appears at its time.
		later := s.CreateEvent(donghua, testutil.EventInput("定时发布的活动", nil))
		testutil.WantCode(t, s.Do(donghua, testutil.PublishEventQ, map[string]any{"id": later, "at": testutil.RFC(s.Clock.Now().Add(-time.Hour))}), "VALIDATION_FAILED")
		s.MustOK(donghua, testutil.PublishEventQ, map[string]any{"id": later, "at": testutil.RFC(s.Clock.Now().Add(2 * time.Hour))}, nil)
		if contains(feedIDs(t, s, courier, 20, ""), later) {
			t.Fatal("scheduled post shown before its time")
		}
		testutil.WantCode(t, s.Do(courier, testutil.EventQ, map[string]any{"id": later}), "NOT_FOUND")
		s.Clock.Advance(2*time.Hour + time.Second)
		courier = s.Reissue(courierT).Access
		if ids := feedIDs(t, s, courier, 20, ""); !contains(ids, later) || ids[1] != later {
			t.Fatalf("scheduled post not at the top once due: %v", ids)
		}

		// Closing takes it out of the feed.
		donghua = s.LoginAdmin("donghua_admin").Access
		s.MustOK(donghua, testutil.CloseEventQ, map[string]any{"id": later}, nil)
		if contains(feedIDs(t, s, courier, 20, ""), later) {
			t.Fatal("closed post still in the feed")
		}
	})
}

func TestEventEditsAreVersioned(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := s.PublishedEvent(admin, testutil.EventInput("原标题", nil))
		var out struct {
			UpdateEvent struct {
				Event struct {
					Version int
					Title   string
					Pinned  bool
				}
			}
		}
		s.MustOK(admin, testutil.UpdateEventQ, map[string]any{"in": map[string]any{"id": id, "version": 2, "title": "第一次修改", "pinned": true}}, &out)
		if out.UpdateEvent.Event.Version != 3 || !out.UpdateEvent.Event.Pinned {
			t.Fatalf("after edit: %+v", out.UpdateEvent.Event)
		}
		// A second editor still on version 2 is refused, and changes nothing.
		r := s.Do(admin, testutil.UpdateEventQ, map[string]any{"in": map[string]any{"id": id, "version": 2, "title": "覆盖别人的修改"}})
		testutil.WantCode(t, r, "CONFLICT")
		var got struct{ Event struct{ Title string } }
		s.MustOK(admin, `query($id: ID!) { event(id: $id) { title } }`, map[string]any{"id": id}, &got)
		if got.Event.Title != "第一次修改" {
			t.Fatalf("title %q after a stale edit", got.Event.Title)
		}
		// Bad input is refused with the field and changes nothing.
		for _, c := range []struct {
			in    map[string]any
			field string
		}{
			{map[string]any{"title": "x"}, "title"},
			{map[string]any{"coverUrl": "javascript:alert(1)"}, "coverUrl"},
			{map[string]any{"signUp": map[string]any{"capacity": 0, "opensAt": testutil.RFC(s.Clock.Now()), "closesAt": testutil.RFC(s.Clock.Now().Add(time.Hour))}}, "signUp.capacity"},
			{map[string]any{"signUp": map[string]any{"capacity": 5, "opensAt": testutil.RFC(s.Clock.Now().Add(-2 * time.Hour)), "closesAt": testutil.RFC(s.Clock.Now().Add(-time.Hour))}}, "signUp.closesAt"},
		} {
			c.in["id"], c.in["version"] = id, 3
			r := s.Do(admin, testutil.UpdateEventQ, map[string]any{"in": c.in})
			testutil.WantCode(t, r, "VALIDATION_FAILED")
			if r.Field() != c.field {
				t.Fatalf("field %q, want %q", r.Field(), c.field)
			}
		}
		var v struct{ Event struct{ Version int } }
		s.MustOK(admin, `query($id: ID!) { event(id: $id) { version } }`, map[string]any{"id": id}, &v)
		if v.Event.Version != 3 {
			t.Fatalf("a refused edit changed the version to %d", v.Event.Version)
		}
		// Parallel edits from the same version: exactly one wins.
		var mu sync.Mutex
		wins := 0
		testutil.Race(10, 10, func(i int) {
			r := s.Do(admin, testutil.UpdateEventQ, map[string]any{"in": map[string]any{"id": id, "version": 3, "title": fmt.Sprintf("并发修改 %d", i)}})
			if len(r.Errors) == 0 {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if r.Code() != "CONFLICT" {
				t.Errorf("parallel edit: %+v", r.Errors)
			}
		})
		if wins != 1 {
			t.Fatalf("%d parallel edits from one version won, want 1", wins)
		}
	})
}

// TestFeedPagination pages through a feed of many posts at several levels
// and checks it is complete, in order, without repeats.
func TestFeedPagination(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admins := []string{s.LoginAdmin("city_admin").Access, s.LoginAdmin("dongcheng_admin").Access,
			s.LoginAdmin("donghua_admin").Access, s.LoginAdmin("courier_admin").Access}
		member := s.Members(1, "courier")[0].Access
		before := len(feedIDs(t, s, member, 100, ""))
		for i := 0; i < 30; i++ {
			in := testutil.EventInput(fmt.Sprintf("活动 %02d", i), map[string]any{"pinned": i%10 == 0})
			s.PublishedEvent(admins[i%len(admins)], in)
			if i%3 == 0 {
				s.Clock.Advance(time.Second) // some posts share a second, some do not
			}
		}
		all := feedIDs(t, s, member, 100, "")
		if len(all) != before+30 {
			t.Fatalf("feed has %d posts, want %d", len(all), before+30)
		}
		for _, size := range []int{1, 7, 20} {
			paged := feedIDs(t, s, member, size, "")
			if strings.Join(paged, ",") != strings.Join(all, ",") {
				t.Fatalf("pages of %d give %v, want %v", size, paged, all)
			}
		}
		testutil.WantCode(t, s.Do(member, testutil.FeedQ, map[string]any{"first": 5, "after": "bm90LWEtY3Vyc29y"}), "VALIDATION_FAILED")
		testutil.WantCode(t, s.Do(member, testutil.FeedQ, map[string]any{"first": 1000}), "VALIDATION_FAILED")
	})
}

// TestFeedStatementCount: a feed page with its unions and the member's
// sign-ups costs the same few statements at any size and any depth (fewer
// once the unions are in the instance's short cache).
func TestFeedStatementCount(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admins := []string{s.LoginAdmin("city_admin").Access, s.LoginAdmin("donghua_admin").Access, s.LoginAdmin("courier_admin").Access}
		opens := s.Clock.Now()
		var ids []string
		for i := 0; i < 45; i++ {
			in := testutil.EventInput(fmt.Sprintf("报名活动 %d", i), map[string]any{"signUp": map[string]any{"capacity": 10,
				"opensAt": testutil.RFC(opens), "closesAt": testutil.RFC(opens.Add(48 * time.Hour))}})
			ids = append(ids, s.PublishedEvent(admins[i%3], in))
		}
		m := s.Members(1, "courier")[0].Access
		for _, id := range ids[:9] {
			s.MustOK(m, testutil.EventSignUpQ, map[string]any{"id": id}, nil)
		}
		counts := map[string]int64{}
		var after *string
		for _, c := range []struct {
			name string
			size int
		}{{"page 1 of 5", 5}, {"page 1 of 20", 20}, {"page 2 of 20", 20}} {
			if c.name == "page 1 of 20" {
				after = nil
			}
			before := s.DB.Statements()
			p := feed(t, s, m, c.size, after, "")
			counts[c.name] = s.DB.Statements() - before
			if len(p.Events.Edges) != c.size {
				t.Fatalf("%s has %d posts", c.name, len(p.Events.Edges))
			}
			after = p.Events.PageInfo.EndCursor
		}
		for name, n := range counts {
			if n > 4 || n > counts["page 1 of 5"] {
				t.Fatalf("statements per feed page: %v (want at most 4, and no page more than the first)", counts)
			}
			_ = name
		}
		t.Logf("statements per feed page: %v", counts)

		// An admin's list with every post's targets does not query per post.
		before := s.DB.Statements()
		var admin struct {
			Events struct {
				Edges []struct {
					Node struct{ TargetUnions []struct{ ID string } }
				}
			}
		}
		s.MustOK(admins[0], `{ events(first: 40) { edges { node { id union { id } targetUnions { id name } } } } }`, nil, &admin)
		n := s.DB.Statements() - before
		if len(admin.Events.Edges) != 40 || len(admin.Events.Edges[0].Node.TargetUnions) == 0 || n > 10 {
			t.Fatalf("admin list of %d posts took %d statements", len(admin.Events.Edges), n)
		}
	})
}

// One feed page is read once a second per union chain on an instance and
// shared: a second member of the chain costs no feed statement. An edit on
// this instance shows at once; another instance shows it within a second.
func TestFeedPageIsSharedPerChain(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		s2 := testutil.NewServerOn(t, s.DB)
		s2.Clock.Set(s.Clock.Now())
		admin := s.LoginAdmin("courier_admin").Access
		first := s.PublishedEvent(admin, testutil.EventInput("第一场", nil))
		m := s.Members(2, "courier")
		ids := func(p feedPage) []string {
			var out []string
			for _, e := range p.Events.Edges {
				out = append(out, e.Node.ID)
			}
			return out
		}
		before := s.DB.Statements()
		a := feed(t, s, m[0].Access, 5, nil, "")
		cold := s.DB.Statements() - before
		before = s.DB.Statements()
		b := feed(t, s, m[1].Access, 5, nil, "")
		warm := s.DB.Statements() - before
		if diff := cmp.Diff(ids(a), ids(b)); diff != "" {
			t.Fatalf("two members of one chain (-first +second):\n%s", diff)
		}
		if warm >= cold {
			t.Fatalf("statements: %d for the first reader, %d for the second; want fewer (the page shared)", cold, warm)
		}
		feed(t, s2, m[1].Access, 5, nil, "") // s2 has the page now too
		second := s.PublishedEvent(admin, testutil.EventInput("第二场", nil))
		if got := ids(feed(t, s, m[0].Access, 5, nil, "")); !slices.Contains(got, second) || !slices.Contains(got, first) {
			t.Fatalf("after publishing on this instance the feed is %v, want %s and %s in it", got, second, first)
		}
		s2.Clock.Set(s2.Clock.Now().Add(time.Second))
		if got := ids(feed(t, s2, m[1].Access, 5, nil, "")); !slices.Contains(got, second) {
			t.Fatalf("another instance a second later shows %v, want %s in it", got, second)
		}
	})
}
