package members_test

import (
	"sync"
	"testing"
	"time"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

func TestWeChatLogin(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		first := s.LoginMember("alice")
		second := s.LoginMember("alice")
		if first.ID == "" || first.ID != second.ID {
			t.Fatalf("second login made another member: %q vs %q", first.ID, second.ID)
		}
		var me struct{ Me struct{ ID, Status string } }
		s.MustOK(first.Access, `{ me { id status } }`, nil, &me)
		if me.Me.ID != first.ID || me.Me.Status != "UNBOUND" {
			t.Fatalf("me = %+v", me.Me)
		}

		used := s.NextCode("bob")
		s.MustOK("", loginQ, map[string]any{"code": used}, nil)
		for _, tc := range []struct{ code, want string }{
			{used, "UNAUTHENTICATED"},        // 40163: code already used
			{"err:40029", "UNAUTHENTICATED"}, // invalid code
			{"err:45011", "RATE_LIMITED"},    // WeChat quota
			{"err:40226", "FORBIDDEN"},       // high-risk user
			{"busy2:carol", "INTERNAL"},      // busy twice
			{"", "VALIDATION_FAILED"},        // empty
		} {
			r := s.Do("", loginQ, map[string]any{"code": tc.code})
			if r.Code() != tc.want || string(r.Data) != "null" {
				t.Errorf("code %q: got %s %s, want %s", tc.code, r.Code(), r.Data, tc.want)
			}
		}
		// errcode -1 once is retried and succeeds.
		s.MustOK("", loginQ, map[string]any{"code": "busy:dave"}, nil)
	})
}

const loginQ = `mutation($code: String!) { loginWithWeChat(input: {code: $code}) { accessToken refreshToken member { id } } }`

const refreshQ = `mutation($t: String!) { refreshToken(input: {refreshToken: $t}) { accessToken refreshToken member { id } admin { id } } }`

type refreshOut struct {
	RefreshToken struct {
		AccessToken, RefreshToken string
		Member                    *struct{ ID string }
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		tok := s.LoginMember("erin")
		var r1 refreshOut
		s.MustOK("", refreshQ, map[string]any{"t": tok.Refresh}, &r1)
		if r1.RefreshToken.RefreshToken == tok.Refresh || r1.RefreshToken.Member.ID != tok.ID {
			t.Fatalf("refresh did not rotate: %+v", r1)
		}
		s.MustOK(r1.RefreshToken.AccessToken, `{ me { id } }`, nil, nil)

		// Replaying the first (rotated) token past the retry grace is theft:
		// the family dies (TestRefreshRetry* cover the grace itself).
		s.Clock.Advance(31 * time.Second)
		if r := s.Do("", refreshQ, map[string]any{"t": tok.Refresh}); r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("reuse of rotated token: %s", r.Code())
		}
		if r := s.Do("", refreshQ, map[string]any{"t": r1.RefreshToken.RefreshToken}); r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("newest token of a revoked family still works: %s", r.Code())
		}
		// Every call re-checks the session, so the family's access tokens stop too.
		if r := s.Do(r1.RefreshToken.AccessToken, `mutation { logout { ok } }`, nil); r.Code() != "" {
			t.Fatalf("logout is idempotent: %s", r.Code())
		}
		if r := s.Do(r1.RefreshToken.AccessToken, bindQ, bindVars("张三", idFor(1), "13800001111", s.UnionID("courier"))); r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("mutation with a revoked session: %s", r.Code())
		}
		// Garbage and expired refresh tokens.
		if r := s.Do("", refreshQ, map[string]any{"t": "nope"}); r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("garbage refresh token: %s", r.Code())
		}
		tok2 := s.LoginMember("erin")
		s.Clock.Advance(31 * 24 * time.Hour)
		if r := s.Do("", refreshQ, map[string]any{"t": tok2.Refresh}); r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("expired refresh token: %s", r.Code())
		}
	})
}

func TestLogout(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("dongcheng_admin")
		s.MustOK(admin.Access, `{ currentAdmin { username } }`, nil, nil)
		s.MustOK(admin.Access, `mutation { logout { ok } }`, nil, nil)
		// Admin calls always re-check the session: the access token is dead now.
		if r := s.Do(admin.Access, `{ currentAdmin { username } }`, nil); r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("admin token after logout: %s", r.Code())
		}
		if r := s.Do("", refreshQ, map[string]any{"t": admin.Refresh}); r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("refresh after logout: %s", r.Code())
		}
		// Logout by refresh token, without an access token.
		m := s.LoginMember("frank")
		s.MustOK("", `mutation($t: String) { logout(input: {refreshToken: $t}) { ok } }`, map[string]any{"t": m.Refresh}, nil)
		if r := s.Do("", refreshQ, map[string]any{"t": m.Refresh}); r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("refresh after logout by token: %s", r.Code())
		}
	})
}

func TestAdminLogin(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		var out struct {
			LoginAdmin struct {
				Admin struct {
					Username, Role string
					Union          struct{ Name string }
				}
			}
		}
		s.MustOK("", `mutation { loginAdmin(input: {username: "xicheng_admin", password: "dev-password-123"}) { admin { username role union { name } } } }`, nil, &out)
		if out.LoginAdmin.Admin.Role != "UNION_ADMIN" || out.LoginAdmin.Admin.Union.Name != "西城区总工会" {
			t.Fatalf("admin = %+v", out.LoginAdmin.Admin)
		}
		q := `mutation($u: String!, $p: String!) { loginAdmin(input: {username: $u, password: $p}) { accessToken } }`
		wrong := s.Do("", q, map[string]any{"u": "xicheng_admin", "p": "wrong-password"})
		unknown := s.Do("", q, map[string]any{"u": "nobody_here", "p": "wrong-password"})
		if wrong.Code() != "UNAUTHENTICATED" || unknown.Code() != "UNAUTHENTICATED" ||
			wrong.Errors[0].Message != unknown.Errors[0].Message {
			t.Fatalf("wrong password %v / unknown user %v must look the same", wrong.Errors, unknown.Errors)
		}
		limited := false
		for i := 0; i < 10 && !limited; i++ {
			limited = s.Do("", q, map[string]any{"u": "anxin_admin", "p": "guess"}).Code() == "RATE_LIMITED"
		}
		if !limited {
			t.Fatal("password guessing was never rate limited")
		}
	})
}

// Many first logins of one WeChat user at once make one member.
func TestConcurrentFirstLogin(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		const n = 20
		ids := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := s.Try("", loginQ, map[string]any{"code": s.NextCode("grace")})
				if err != nil || len(r.Errors) > 0 {
					t.Errorf("login %d: %v %+v", i, err, r)
					return
				}
				var out struct {
					LoginWithWeChat struct{ Member struct{ ID string } }
				}
				r.Decode(t, &out)
				ids[i] = out.LoginWithWeChat.Member.ID
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("logins returned different members: %v", ids)
			}
		}
		var count int64
		s.DB.Model(&models.Member{}).Where("openid = ?", "o-grace").Count(&count)
		if count != 1 {
			t.Fatalf("%d members for one openid", count)
		}
	})
}
