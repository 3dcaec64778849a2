package members_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"unionhall/internal/app"
	"unionhall/internal/clock"
	"unionhall/internal/config"
	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

const (
	meQ           = `{ me { id } }`
	currentAdminQ = `{ currentAdmin { id } }`
	logoutQ       = `mutation { logout { ok } }`
	logoutTokenQ  = `mutation($t: String) { logout(input: {refreshToken: $t}) { ok } }`
	loginAdminQ   = `mutation($u: String!, $p: String!) { loginAdmin(input: {username: $u, password: $p}) { accessToken admin { id } } }`
	rateLimitMsg  = "登录过于频繁，请稍后再试"
)

// trustRealIP makes the server take the client's address from X-Real-IP,
// as behind a proxy, so a test can speak from many addresses.
func trustRealIP(c *config.Config) { c.ClientIPHeader = "X-Real-IP" }

// postFrom posts a GraphQL request to url as if from client address addr
// (empty: no header). It returns errors rather than failing, for goroutines.
func postFrom(hc *http.Client, url, addr, token, query string, vars map[string]any) (*testutil.Response, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if addr != "" {
		req.Header.Set("X-Real-IP", addr)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := &testutil.Response{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("status %d, body %q: %w", resp.StatusCode, raw, err)
	}
	return out, nil
}

func mustPostFrom(t *testing.T, s *testutil.Server, addr, token, query string, vars map[string]any) *testutil.Response {
	t.Helper()
	r, err := postFrom(s.HTTP, s.URL, addr, token, query, vars)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func sessionWant(t *testing.T, r *testutil.Response, code, what string) {
	t.Helper()
	if r.Code() != code {
		t.Fatalf("%s: got %q %s %+v, want %s", what, r.Code(), r.Data, r.Errors, code)
	}
}

// TestLogoutEndsQueriesAtOnce: a logged-out access token answers no query,
// member or admin, from the very next request (it used to answer member
// queries until it expired).
func TestLogoutEndsQueriesAtOnce(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		m := s.LoginMember("sess-ivan")
		s.MustOK(m.Access, meQ, nil, nil) // the session is read live, and cached
		s.MustOK(m.Access, logoutQ, nil, nil)
		sessionWant(t, s.Do(m.Access, meQ, nil), "UNAUTHENTICATED", "member query after logout")
		sessionWant(t, s.Do(m.Access, `{ events(first: 1) { edges { node { id } } } }`, nil), "UNAUTHENTICATED", "feed after logout")

		// Logging out by refresh token, without the access token, too.
		m2 := s.LoginMember("sess-judy")
		s.MustOK(m2.Access, meQ, nil, nil)
		s.MustOK("", logoutTokenQ, map[string]any{"t": m2.Refresh}, nil)
		sessionWant(t, s.Do(m2.Access, meQ, nil), "UNAUTHENTICATED", "member query after logout by refresh token")

		a := s.LoginAdmin("city_admin")
		s.MustOK(a.Access, currentAdminQ, nil, nil)
		s.MustOK(a.Access, logoutQ, nil, nil)
		sessionWant(t, s.Do(a.Access, currentAdminQ, nil), "UNAUTHENTICATED", "admin query after logout")
	})
}

// TestRevocationReachesOtherInstances: an instance trusts a session it read
// live for SessionCacheTTL, so a logout on another instance stops the access
// token there within that time, on its own clock.
func TestRevocationReachesOtherInstances(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		s2 := testutil.NewServerOn(t, s.DB) // its own fake clock, also at Epoch
		ttl := s2.App.Cfg.SessionCacheTTL
		if ttl <= 0 {
			t.Fatalf("SessionCacheTTL = %v", ttl)
		}
		m := s.LoginMember("sess-kate")
		a := s.LoginAdmin("city_admin")
		s2.MustOK(m.Access, meQ, nil, nil)
		s2.MustOK(a.Access, currentAdminQ, nil, nil)

		s.MustOK(m.Access, logoutQ, nil, nil)
		s.MustOK(a.Access, logoutQ, nil, nil)
		sessionWant(t, s.Do(m.Access, meQ, nil), "UNAUTHENTICATED", "member on the instance that logged out")
		sessionWant(t, s.Do(a.Access, currentAdminQ, nil), "UNAUTHENTICATED", "admin on the instance that logged out")
		// The other instance still trusts what it read, for at most the TTL
		// (this is the bound, shown so the test sees the cache at work).
		s2.MustOK(m.Access, meQ, nil, nil)
		s2.MustOK(a.Access, currentAdminQ, nil, nil)

		s.Clock.Advance(ttl + time.Second)
		s2.Clock.Advance(ttl + time.Second)
		sessionWant(t, s2.Do(m.Access, meQ, nil), "UNAUTHENTICATED", "member on the other instance past the TTL")
		sessionWant(t, s2.Do(a.Access, currentAdminQ, nil), "UNAUTHENTICATED", "admin on the other instance past the TTL")
	})
}

// TestSessionCheckedOncePerRequest: a request of many @auth fields re-checks
// the login once. An admin's check reads the account (every request), so
// without the per-request memo each field would read it again.
func TestSessionCheckedOncePerRequest(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		a := s.LoginAdmin("city_admin")
		s.MustOK(a.Access, currentAdminQ, nil, nil) // session cached from here
		before := s.DB.Statements()
		s.MustOK(a.Access, currentAdminQ, nil, nil)
		one := s.DB.Statements() - before
		before = s.DB.Statements()
		s.MustOK(a.Access, `{ a: currentAdmin { id } b: currentAdmin { id } c: currentAdmin { id } }`, nil, nil)
		three := s.DB.Statements() - before
		// Each extra field costs its own read of the admin, nothing more.
		if three > one+2 {
			t.Fatalf("one field: %d statements, three: %d (want at most %d)", one, three, one+2)
		}
	})
}

func refresh(t *testing.T, s *testutil.Server, token string) refreshOut {
	t.Helper()
	var out refreshOut
	s.MustOK("", refreshQ, map[string]any{"t": token}, &out)
	return out
}

// TestRefreshRetryWithinGrace: a refresh whose answer was lost, sent again
// within RefreshReuseGrace, gets the same new refresh token and the login
// goes on; the retried pair is as good as the first.
func TestRefreshRetryWithinGrace(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		m := s.LoginMember("sess-liam")
		first := refresh(t, s, m.Refresh).RefreshToken
		s.Clock.Advance(29 * time.Second)
		again := refresh(t, s, m.Refresh).RefreshToken
		if again.RefreshToken != first.RefreshToken || again.Member == nil || again.Member.ID != m.ID {
			t.Fatalf("retry within the grace: %+v, first answer %+v", again, first)
		}
		s.MustOK(again.AccessToken, meQ, nil, nil)
		s.MustOK(first.AccessToken, meQ, nil, nil)
		next := refresh(t, s, again.RefreshToken).RefreshToken
		if next.RefreshToken == again.RefreshToken {
			t.Fatal("the successor did not rotate")
		}
		s.MustOK(next.AccessToken, meQ, nil, nil)

		// Admins alike.
		a := s.LoginAdmin("xicheng_admin")
		var fa, ga struct {
			RefreshToken struct {
				AccessToken, RefreshToken string
				Admin                     *struct{ ID string }
			}
		}
		s.MustOK("", refreshQ, map[string]any{"t": a.Refresh}, &fa)
		s.Clock.Advance(10 * time.Second)
		s.MustOK("", refreshQ, map[string]any{"t": a.Refresh}, &ga)
		if ga.RefreshToken.RefreshToken != fa.RefreshToken.RefreshToken || ga.RefreshToken.Admin == nil || ga.RefreshToken.Admin.ID != a.ID {
			t.Fatalf("admin retry within the grace: %+v, first %+v", ga, fa)
		}
		s.MustOK(ga.RefreshToken.AccessToken, currentAdminQ, nil, nil)
	})
}

// TestRefreshRetryAfterGrace: the same token again past the grace is a
// replay: the session and its successor are revoked, and its access tokens
// stop at once.
func TestRefreshRetryAfterGrace(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		m := s.LoginMember("sess-mia")
		first := refresh(t, s, m.Refresh).RefreshToken
		s.MustOK(first.AccessToken, meQ, nil, nil)
		s.Clock.Advance(31 * time.Second)
		sessionWant(t, s.Do("", refreshQ, map[string]any{"t": m.Refresh}), "UNAUTHENTICATED", "retry after the grace")
		sessionWant(t, s.Do(first.AccessToken, meQ, nil), "UNAUTHENTICATED", "access token of the replayed session")
		sessionWant(t, s.Do("", refreshQ, map[string]any{"t": first.RefreshToken}), "UNAUTHENTICATED", "successor of the replayed token")
	})
}

// TestRefreshGrandparentReuse: within the grace, a token whose successor
// was used too is two generations old: a replay, however recent.
func TestRefreshGrandparentReuse(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		m := s.LoginMember("sess-noah")
		b := refresh(t, s, m.Refresh).RefreshToken
		c := refresh(t, s, b.RefreshToken).RefreshToken
		s.MustOK(c.AccessToken, meQ, nil, nil)
		s.Clock.Advance(5 * time.Second)
		sessionWant(t, s.Do("", refreshQ, map[string]any{"t": m.Refresh}), "UNAUTHENTICATED", "grandparent within the grace")
		sessionWant(t, s.Do(c.AccessToken, meQ, nil), "UNAUTHENTICATED", "access token after the grandparent's reuse")
		sessionWant(t, s.Do("", refreshQ, map[string]any{"t": c.RefreshToken}), "UNAUTHENTICATED", "newest token after the grandparent's reuse")
	})
}

// TestConcurrentRefreshOnePair: refreshes racing with one token all get the
// one pair; never two live successors.
func TestConcurrentRefreshOnePair(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		tok := s.LoginMember("sess-olga")
		const n = 10
		got := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := s.Try("", refreshQ, map[string]any{"t": tok.Refresh})
				if err != nil || len(r.Errors) > 0 {
					t.Errorf("refresh %d: %v %+v", i, err, r)
					return
				}
				var out refreshOut
				r.Decode(t, &out)
				got[i] = out.RefreshToken.RefreshToken
			}()
		}
		wg.Wait()
		for _, g := range got {
			if g == "" || g != got[0] {
				t.Fatalf("racing refreshes got different tokens: %q", got)
			}
		}
		var sess models.AuthSession
		if err := s.DB.Where("subject_kind = ? AND subject_id = ?", models.SubjectMember, tok.ID).Take(&sess).Error; err != nil {
			t.Fatal(err)
		}
		var all, used int64
		s.DB.Model(&models.RefreshToken{}).Where("session_id = ?", sess.ID).Count(&all)
		s.DB.Model(&models.RefreshToken{}).Where("session_id = ? AND used_at IS NOT NULL", sess.ID).Count(&used)
		if all != 2 || used != 1 || sess.RevokedAt != nil {
			t.Fatalf("session has %d tokens, %d used, revoked %v; want 2, 1, live", all, used, sess.RevokedAt)
		}
		next := refresh(t, s, got[0]).RefreshToken
		s.MustOK(next.AccessToken, meQ, nil, nil)
	})
}

// TestWeChatLoginLimitPerAddress: a flood of failed WeChat logins from one
// address is refused before it reaches WeChat, while another address logs
// in; the addresses of one IPv6 /64 are one.
func TestWeChatLoginLimitPerAddress(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d, trustRealIP)
		const flooder = "203.0.113.7"
		calls := s.WeChat.Calls()
		start := time.Now()
		var mu sync.Mutex
		counts := map[string]int{}
		var wg sync.WaitGroup
		sem := make(chan struct{}, 50)
		for i := range 200 {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				r, err := postFrom(s.HTTP, s.URL, flooder, "", loginQ, map[string]any{"code": fmt.Sprintf("bad-%d", i)})
				if err != nil {
					t.Error(err)
					return
				}
				if r.Code() == "RATE_LIMITED" && r.Errors[0].Message != rateLimitMsg {
					t.Errorf("message %q", r.Errors[0].Message)
				}
				mu.Lock()
				counts[r.Code()]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		passed := counts["UNAUTHENTICATED"]
		if counts["RATE_LIMITED"] == 0 || passed+counts["RATE_LIMITED"] != 200 {
			t.Fatalf("200 failed logins from one address: %v", counts)
		}
		// 30 at once, then one a second.
		if limit := 30 + int(elapsed/time.Second) + 1; passed > limit {
			t.Fatalf("%d failed logins passed in %v, want at most %d", passed, elapsed, limit)
		}
		if c := s.WeChat.Calls() - calls; c != passed {
			t.Fatalf("WeChat was called %d times for %d logins let through", c, passed)
		}

		sessionWant(t, mustPostFrom(t, s, flooder, "", loginQ, map[string]any{"code": s.NextCode("sess-pia")}), "RATE_LIMITED", "the flooding address")
		var out struct {
			LoginWithWeChat struct{ Member struct{ ID string } }
		}
		mustPostFrom(t, s, "198.51.100.20", "", loginQ, map[string]any{"code": s.NextCode("sess-pia")}).Decode(t, &out)
		if out.LoginWithWeChat.Member.ID == "" {
			t.Fatal("login from another address failed")
		}

		// An IPv6 attacker cannot take a fresh address for every try.
		limited := false
		for i := 1; i <= 40 && !limited; i++ {
			r := mustPostFrom(t, s, fmt.Sprintf("2001:db8:1:2::%x", i), "", loginQ, map[string]any{"code": fmt.Sprintf("bad6-%d", i)})
			limited = r.Code() == "RATE_LIMITED"
		}
		if !limited {
			t.Fatal("40 failures from one IPv6 /64 were never limited")
		}
		mustPostFrom(t, s, "2001:db8:1:3::1", "", loginQ, map[string]any{"code": s.NextCode("sess-pia")}).Decode(t, &out)
	})
}

// TestWeChatLoginLimitPerCode: one code failing again and again, from any
// number of addresses, stops reaching WeChat.
func TestWeChatLoginLimitPerCode(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d, trustRealIP)
		calls := s.WeChat.Calls()
		limited := false
		for i := 1; i <= 10 && !limited; i++ {
			r := mustPostFrom(t, s, fmt.Sprintf("198.51.100.%d", i), "", loginQ, map[string]any{"code": "err:40029"})
			limited = r.Code() == "RATE_LIMITED"
		}
		if !limited {
			t.Fatal("one bad code from 10 addresses was never limited")
		}
		if c := s.WeChat.Calls() - calls; c > 5 {
			t.Fatalf("WeChat was called %d times for one bad code", c)
		}
	})
}

// TestAdminLoginLimitPerAddress: password guessing spread over usernames is
// limited per address; another address logs in.
func TestAdminLoginLimitPerAddress(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d, trustRealIP)
		const guesser = "203.0.113.8"
		// Four tries per username stay under the per-username limit (5).
		names := []string{"dongcheng_admin", "xicheng_admin", "donghua_admin", "xihu_admin", "shunda_admin", "courier_admin", "rider_admin", "anxin_admin"}
		var r *testutil.Response
		tries := 0
		for _, name := range names {
			for i := range 4 {
				tries++
				r = mustPostFrom(t, s, guesser, "", loginAdminQ, map[string]any{"u": name, "p": fmt.Sprintf("guess-%d", i)})
				if r.Code() == "RATE_LIMITED" {
					break
				}
			}
			if r.Code() == "RATE_LIMITED" {
				break
			}
		}
		sessionWant(t, r, "RATE_LIMITED", fmt.Sprintf("%d guesses from one address", tries))
		if r.Errors[0].Message != rateLimitMsg {
			t.Fatalf("message %q", r.Errors[0].Message)
		}
		ok := map[string]any{"u": "city_admin", "p": "dev-password-123"}
		sessionWant(t, mustPostFrom(t, s, guesser, "", loginAdminQ, ok), "RATE_LIMITED", "a right password from the guessing address")
		if r := mustPostFrom(t, s, "198.51.100.21", "", loginAdminQ, ok); len(r.Errors) > 0 {
			t.Fatalf("login from another address: %+v", r.Errors)
		}
	})
}

// TestLoginsMatchExactly: a username or a code is taken as sent: a trailing
// space or tab (or other case, on MySQL's collations) is not the account.
func TestLoginsMatchExactly(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		for _, u := range []string{"city_admin ", "city_admin\t", " city_admin", "CITY_ADMIN", "city_admin\u00a0"} {
			r := s.Do("", loginAdminQ, map[string]any{"u": u, "p": "dev-password-123"})
			if r.Code() != "UNAUTHENTICATED" || r.Errors[0].Message != "用户名或密码错误" {
				t.Fatalf("admin %q with the right password: %s %+v", u, r.Data, r.Errors)
			}
		}
		s.LoginAdmin("city_admin") // the near copies spent nothing of its allowance

		for _, code := range []string{"ok:sess-quinn ", "ok:sess-quinn\t", "\tok:sess-quinn", "ok:sess-quinn\n"} {
			r := s.Do("", loginQ, map[string]any{"code": code})
			if r.Code() != "VALIDATION_FAILED" || string(r.Data) != "null" {
				t.Fatalf("code %q: %s %+v", code, r.Data, r.Errors)
			}
		}
		var n int64
		s.DB.Model(&models.Member{}).Where("openid = ?", "o-sess-quinn").Count(&n)
		if n != 0 {
			t.Fatal("a near copy of the code logged in")
		}
		s.MustOK("", loginQ, map[string]any{"code": "ok:sess-quinn"}, nil) // and did not spend it

		// The dev-mode WeChat alike.
		dev := newDevServer(t, d)
		var out struct {
			LoginWithWeChat struct{ Member struct{ ID string } }
		}
		r, err := postFrom(http.DefaultClient, dev, "", "", loginQ, map[string]any{"code": "dev:member01"})
		if err != nil {
			t.Fatal(err)
		}
		r.Decode(t, &out)
		for _, code := range []string{"dev:member01 ", "dev:member01\t", " dev:member01", "dev:member01\n"} {
			r, err := postFrom(http.DefaultClient, dev, "", "", loginQ, map[string]any{"code": code})
			if err != nil {
				t.Fatal(err)
			}
			if r.Code() != "UNAUTHENTICATED" || string(r.Data) != "null" {
				t.Fatalf("dev code %q: %s %+v", code, r.Data, r.Errors)
			}
		}
	})
}

// newDevServer starts the server as `go run .` in dev does, with the
// dev-mode WeChat (dev:<name> codes), and returns its URL.
func newDevServer(t *testing.T, d store.Dialect) string {
	t.Helper()
	env := map[string]string{"APP_ENV": "dev", "DATA_DIR": t.TempDir()}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{
		DB: testutil.OpenDB(t, d), Clock: clock.NewFake(testutil.Epoch),
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	hs := httptest.NewServer(a.Handler)
	t.Cleanup(hs.Close)
	return hs.URL
}
