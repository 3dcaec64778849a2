package testutil

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"unionhall/internal/app"
	"unionhall/internal/clock"
	"unionhall/internal/config"
	"unionhall/internal/seed"
	"unionhall/internal/store"
	"unionhall/internal/wechat"
)

// Epoch is where test clocks start: a fixed Tuesday morning in China time.
var Epoch = time.Date(2026, 6, 2, 1, 0, 0, 0, time.UTC)

// Server is a real server (the production handler) over HTTP on a fresh
// database, with demo data, a fake clock and a fake WeChat.
type Server struct {
	tb     testing.TB
	URL    string
	App    *app.App
	DB     *store.DB
	Clock  *clock.Fake
	WeChat *wechat.FakeServer
	Demo   *seed.DemoData
	HTTP   *http.Client
}

// Option adjusts the configuration before the server starts.
type Option func(*config.Config)

// NewServer starts a server on backend d.
func NewServer(tb testing.TB, d store.Dialect, opts ...Option) *Server {
	tb.Helper()
	db := OpenDB(tb, d)
	return NewServerOn(tb, db, opts...)
}

// NewServerOn starts a server on an existing database (a second instance
// sharing one database, say). Demo data is seeded only into an empty one.
func NewServerOn(tb testing.TB, db *store.DB, opts ...Option) *Server {
	tb.Helper()
	// REQUEST_TIMEOUT is longer than production's 15 s: under -race, with
	// the suites of two packages sharing two cores, a request queued behind
	// a rush of thousands can wait longer than that, and its deadline would
	// fail it as INTERNAL. Tests of the deadline set their own.
	env := map[string]string{"APP_ENV": "dev", "DATA_DIR": tb.TempDir(), "REQUEST_TIMEOUT": "60s"}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		tb.Fatal(err)
	}
	for _, o := range opts {
		o(&cfg)
	}
	fake := wechat.NewFakeServer()
	tb.Cleanup(fake.Close)
	clk := clock.NewFake(Epoch)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewJSONHandler(&tbWriter{tb}, nil))
	}
	a, err := app.New(context.Background(), cfg, app.Options{
		Clock: clk, DB: db, Log: log,
		WeChat: wechat.NewHTTPClient(fake.URL(), wechat.FakeAppID, wechat.FakeSecret, nil),
	})
	if err != nil {
		tb.Fatal(err)
	}
	demo, err := seed.Demo(context.Background(), db, a.Core.Sealer(), clk.Now())
	if err != nil {
		tb.Fatal(err)
	}
	if demo == nil {
		demo = &seed.DemoData{}
	}
	// The production connection limits, so slow-client tests mean something.
	hs := httptest.NewUnstartedServer(a.Handler)
	a.ConfigureServer(hs.Config)
	hs.Start()
	tb.Cleanup(hs.Close)
	return &Server{tb: tb, URL: hs.URL, App: a, DB: db, Clock: clk, WeChat: fake, Demo: demo,
		HTTP: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
}

type tbWriter struct{ tb testing.TB }

func (w *tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// GQLError is one error of a response.
type GQLError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Response is a decoded GraphQL response.
type Response struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []GQLError      `json:"errors"`
}

// Code is the first error's extensions.code, or "" when there is none.
func (r *Response) Code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	s, _ := r.Errors[0].Extensions["code"].(string)
	return s
}

// Field is the first error's extensions.field.
func (r *Response) Field() string {
	if len(r.Errors) == 0 {
		return ""
	}
	s, _ := r.Errors[0].Extensions["field"].(string)
	return s
}

// Decode unmarshals data into v, failing the test on errors.
func (r *Response) Decode(tb testing.TB, v any) {
	tb.Helper()
	if len(r.Errors) > 0 {
		tb.Fatalf("unexpected errors: %+v", r.Errors)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		tb.Fatalf("decode %s: %v", r.Data, err)
	}
}

// Do posts a query with an optional bearer token.
func (s *Server) Do(token, query string, vars map[string]any) *Response {
	s.tb.Helper()
	r, err := s.Try(token, query, vars)
	if err != nil {
		s.tb.Fatal(err)
	}
	return r
}

// Try is Do that returns transport errors instead of failing (for use from
// goroutines).
func (s *Server) Try(token, query string, vars map[string]any) (*Response, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return s.Raw(token, "application/json", body)
}

// Raw posts body as is.
func (s *Server) Raw(token, contentType string, body []byte) (*Response, error) {
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := &Response{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("status %d, body %q: %w", resp.StatusCode, raw, err)
	}
	return out, nil
}

// MustOK runs a query that must succeed and decodes its data into v.
func (s *Server) MustOK(token, query string, vars map[string]any, v any) {
	s.tb.Helper()
	r := s.Do(token, query, vars)
	if v == nil {
		v = &map[string]any{}
	}
	r.Decode(s.tb, v)
}

// LoginMemberQ is the WeChat login document the fixtures use.
const LoginMemberQ = `mutation($code: String!) { loginWithWeChat(input: {code: $code}) { accessToken refreshToken member { id } } }`

// Tokens is what a login returns.
type Tokens struct {
	Access, Refresh string
	ID              string // member or admin id
}

// LoginMember logs in through the fake WeChat as openid o-<name>.
func (s *Server) LoginMember(name string) Tokens {
	s.tb.Helper()
	var out struct {
		Login struct {
			AccessToken, RefreshToken string
			Member                    struct{ ID string }
		} `json:"loginWithWeChat"`
	}
	s.MustOK("", LoginMemberQ, map[string]any{"code": s.NextCode(name)}, &out)
	return Tokens{Access: out.Login.AccessToken, Refresh: out.Login.RefreshToken, ID: out.Login.Member.ID}
}

var codeSeq = make(chan int, 1)

func init() { codeSeq <- 0 }

// NextCode returns a fresh single-use fake WeChat code for openid o-<name>.
func (s *Server) NextCode(name string) string {
	n := <-codeSeq
	codeSeq <- n + 1
	return fmt.Sprintf("ok:%s#%d", name, n)
}

const loginAdminQ = `mutation($u: String!, $p: String!) { loginAdmin(input: {username: $u, password: $p}) { accessToken refreshToken admin { id } } }`

// LoginAdmin logs a demo admin in.
func (s *Server) LoginAdmin(username string) Tokens {
	s.tb.Helper()
	var out struct {
		Login struct {
			AccessToken, RefreshToken string
			Admin                     struct{ ID string }
		} `json:"loginAdmin"`
	}
	s.MustOK("", loginAdminQ, map[string]any{"u": username, "p": seed.DevPassword}, &out)
	return Tokens{Access: out.Login.AccessToken, Refresh: out.Login.RefreshToken, ID: out.Login.Admin.ID}
}

// UnionID is the id of a demo union by its seed key (city, dongcheng, rider …).
func (s *Server) UnionID(key string) string {
	s.tb.Helper()
	id, ok := s.Demo.Unions[key]
	if !ok {
		s.tb.Fatalf("no demo union %q", key)
	}
	return fmt.Sprint(id)
}

// Upload posts a file to /upload and returns the decoded JSON answer and
// status.
func (s *Server) Upload(token, purpose, fileName string, content []byte) (int, map[string]any) {
	s.tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("purpose", purpose)
	fw, _ := mw.CreateFormFile("file", fileName)
	_, _ = fw.Write(content)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/upload", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		s.tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// Each runs f as a subtest on every backend.
func Each(t *testing.T, f func(t *testing.T, d store.Dialect)) {
	t.Helper()
	for _, d := range Backends(t) {
		t.Run(string(d), func(t *testing.T) { f(t, d) })
	}
}

// TB is the test the server belongs to.
func (s *Server) TB() testing.TB { return s.tb }

// Get fetches path with an optional bearer token and returns the status and
// body.
func (s *Server) Get(token, path string) (int, []byte) {
	s.tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		s.tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}
