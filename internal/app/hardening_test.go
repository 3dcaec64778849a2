package app_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"unionhall/internal/auth"
	"unionhall/internal/config"
	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

const devSecret = "dev-only-jwt-secret-do-not-use-in-production-0123456789"

func forge(method jwt.SigningMethod, key any, kid string, c jwt.Claims) string {
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		panic(err)
	}
	return s
}

func TestJWTAttacks(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("city_admin")
		member := s.LoginMember("oscar")
		now := s.Clock.Now()
		claims := func(mut func(*auth.Claims)) *auth.Claims {
			c := &auth.Claims{Kind: models.SubjectAdmin, Role: models.RoleSuperAdmin, UnionID: 1, SessionID: 1,
				RegisteredClaims: jwt.RegisteredClaims{Issuer: "unionhall", Subject: "admin:1",
					Audience: jwt.ClaimStrings{"unionhall-miniprogram"}, IssuedAt: jwt.NewNumericDate(now),
					ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute))}}
			if mut != nil {
				mut(c)
			}
			return c
		}
		secret := []byte(devSecret)
		parts := strings.Split(admin.Access, ".")
		tampered := parts[0] + "." + strings.TrimRight(parts[1], "A") + "B." + parts[2]
		none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
		cases := map[string]string{
			"alg none":         none,
			"HS512":            forge(jwt.SigningMethodHS512, secret, "dev1", claims(nil)),
			"wrong secret":     forge(jwt.SigningMethodHS256, []byte(strings.Repeat("x", 40)), "dev1", claims(nil)),
			"unknown kid":      forge(jwt.SigningMethodHS256, secret, "other", claims(nil)),
			"no kid":           forge(jwt.SigningMethodHS256, secret, "", claims(nil)),
			"no exp":           forge(jwt.SigningMethodHS256, secret, "dev1", claims(func(c *auth.Claims) { c.ExpiresAt = nil })),
			"expired":          forge(jwt.SigningMethodHS256, secret, "dev1", claims(func(c *auth.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour)) })),
			"wrong issuer":     forge(jwt.SigningMethodHS256, secret, "dev1", claims(func(c *auth.Claims) { c.Issuer = "evil" })),
			"wrong audience":   forge(jwt.SigningMethodHS256, secret, "dev1", claims(func(c *auth.Claims) { c.Audience = jwt.ClaimStrings{"other-app"} })),
			"tampered payload": tampered,
			"garbage":          "not.a.jwt",
		}
		for name, tok := range cases {
			t.Run(name, func(t *testing.T) {
				r := s.Do(tok, `{ currentAdmin { id username } }`, nil)
				if r.Code() != "UNAUTHENTICATED" || strings.Contains(string(r.Data), "city_admin") {
					t.Fatalf("got %s %s", r.Code(), r.Data)
				}
			})
		}
		// Right key, but a session that does not exist: refused where the
		// database is consulted (admin calls, member mutations).
		ghost := forge(jwt.SigningMethodHS256, secret, "dev1", claims(func(c *auth.Claims) { c.SessionID = 999999 }))
		if r := s.Do(ghost, `{ currentAdmin { id } }`, nil); r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("ghost session: %s", r.Code())
		}
		// A member's token never acts as an admin, and an expired real token is refused.
		if r := s.Do(member.Access, `{ currentAdmin { id } }`, nil); r.Code() != "FORBIDDEN" {
			t.Fatalf("member as admin: %s", r.Code())
		}
		s.Clock.Advance(16 * time.Minute)
		if r := s.Do(member.Access, `{ me { id } }`, nil); r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("expired member token: %s", r.Code())
		}
		// A bad token does not block logging in.
		s.MustOK("garbage", testutil.LoginMemberQ, map[string]any{"code": s.NextCode("oscar")}, nil)
	})
}

func TestQueryLimits(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		city := s.LoginAdmin("city_admin")
		deep := `{ unions { edges { node { children { edges { node { children { edges { node { children { edges { node { id } } } } } } } } } } } } }`
		if r := s.Do(city.Access, deep, nil); r.Code() != "VALIDATION_FAILED" || string(r.Data) != "null" && len(r.Data) != 0 {
			t.Fatalf("deep query: %s %s", r.Code(), r.Data)
		}
		costly := `{ members(first: 100) { edges { node { union { children(first: 100) { edges { node { id name } } } } } } } }`
		if r := s.Do(city.Access, costly, nil); r.Code() != "VALIDATION_FAILED" {
			t.Fatalf("costly query: %s", r.Code())
		}
		for name, q := range map[string]string{
			"first 0":    `{ unions(first: 0) { edges { node { id } } } }`,
			"first 101":  `{ unions(first: 101) { edges { node { id } } } }`,
			"bad cursor": `{ unions(after: "!!!") { edges { node { id } } } }`,
			"bad id":     `{ union(id: "abc") { id } }`,
			"syntax":     `{ unions { `,
			"no field":   `{ nope }`,
		} {
			if r := s.Do(city.Access, q, nil); r.Code() != "VALIDATION_FAILED" {
				t.Errorf("%s: %s %+v", name, r.Code(), r.Errors)
			}
		}
		// Batching, oversized and malformed bodies are refused without a 500.
		for name, body := range map[string][]byte{
			"batch":     []byte(`[{"query":"{ping}"},{"query":"{ping}"}]`),
			"malformed": []byte(`{"query": `),
			"too big":   append(append([]byte(`{"query":"{ping}","variables":{"x":"`), bytes.Repeat([]byte("a"), 2<<20)...), []byte(`"}}`)...),
		} {
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/graphql", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := s.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode >= 500 {
				t.Errorf("%s: status %d", name, resp.StatusCode)
			}
		}
		// Mutations never over GET; queries may.
		resp, err := s.HTTP.Get(s.URL + "/graphql?query=" + "mutation%7Bping%7D")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("mutation over GET accepted")
		}
		s.MustOK("", `{ __schema { queryType { name } } }`, nil, nil) // dev: introspection on
	})
}

func TestProductionHidesSchema(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, store.SQLite, func(c *config.Config) { c.Env = "prod" })
	if r := s.Do("", `{ __schema { types { name } } }`, nil); len(r.Errors) == 0 {
		t.Fatal("introspection answered in prod")
	}
	r := s.Do("", `{ pin }`, nil)
	if len(r.Errors) == 0 || strings.Contains(r.Errors[0].Message, "Did you mean") {
		t.Fatalf("field suggestion in prod: %+v", r.Errors)
	}
	resp, err := s.HTTP.Get(s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("playground in prod: %d", resp.StatusCode)
	}
}

func TestDatabaseDownGivesCodedErrors(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, store.SQLite)
	m := s.LoginMember("pat")
	s.App.DB.SQL.Close()
	r := s.Do(m.Access, `{ unions { edges { node { id } } } }`, nil)
	if r.Code() != "INTERNAL" || strings.Contains(r.Errors[0].Message, "sql") {
		t.Fatalf("database down: %s %+v", r.Code(), r.Errors)
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 503} {
		resp, err := s.HTTP.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s = %d, want %d", path, resp.StatusCode, want)
		}
	}
}
