package app_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"unionhall/internal/app"
	"unionhall/internal/config"
	"unionhall/internal/store"
	"unionhall/internal/testutil"
)

func prod(c *config.Config) { c.Env = "prod" }

// fragmentChain is F0 on a leaf, then each Fi spreading F(i-1) twice: 2^n
// expanded selections in a document of a few hundred bytes.
func fragmentChain(n int, leaf string, spread func(prev string) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "query { ...F%d }\nfragment F0 on Query { %s }\n", n, leaf)
	for i := 1; i <= n; i++ {
		p := fmt.Sprintf("F%d", i-1)
		fmt.Fprintf(&b, "fragment F%d on Query { %s %s }\n", i, spread(p), spread(p))
	}
	return b.String()
}

// TestExponentialDocumentsRefused: every variant of "small document, huge
// expansion" is refused with a code, before validation or complexity walk
// it. Without the guard the 40-level chain would not answer at all.
func TestExponentialDocumentsRefused(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("city_admin")
		plain := func(p string) string { return "..." + p }
		inline := func(p string) string { return "... on Query { ..." + p + " }" }
		docs := map[string]string{
			"chain of 40":           fragmentChain(40, "__typename", plain),
			"through inline frags":  fragmentChain(40, "__typename", inline),
			"wide leaves":           fragmentChain(30, strings.Repeat("a: __typename b: __typename ", 20), plain),
			"nested field leaves":   fragmentChain(40, "me { __typename }", plain),
			"unused fragment chain": "query { __typename }\n" + strings.SplitN(fragmentChain(40, "__typename", plain), "\n", 2)[1],
		}
		for name, q := range docs {
			if len(q) > 8<<10 {
				t.Fatalf("%s: document is %d bytes, meant to be small", name, len(q))
			}
			r := s.Do(admin.Access, q, nil)
			if r.Code() != "VALIDATION_FAILED" || len(r.Data) != 0 && string(r.Data) != "null" {
				t.Errorf("%s: code %q data %s errors %+v", name, r.Code(), r.Data, r.Errors)
			}
		}
		// Validation is quadratic in a repeated name: refused too.
		if r := s.Do(admin.Access, "{"+strings.Repeat(" __typename", 1990)+" }", nil); r.Code() != "VALIDATION_FAILED" {
			t.Errorf("repeated name: %s %+v", r.Data, r.Errors)
		}
		// A cycle is refused, not walked forever.
		r := s.Do(admin.Access, "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }", nil)
		if r.Code() != "VALIDATION_FAILED" {
			t.Errorf("cycle: %+v", r.Errors)
		}
		// A legitimate document with fragments still runs.
		r = s.Do(admin.Access, "query { ...U } fragment U on Query { unions(first: 5) { edges { node { ...N } } } } fragment N on Union { id name }", nil)
		if len(r.Errors) != 0 {
			t.Fatalf("legit fragments: %+v", r.Errors)
		}
	})
}

// TestProductionLeaksNothing: with APP_ENV=prod, no error names what the
// client did not already write: no suggestions, no types, no decoder text.
func TestProductionLeaksNothing(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, store.SQLite, prod)
	cases := map[string]string{
		"unknown argument": `mutation { loginWithWeChat(inptu: {code: "x"}) { accessToken } }`,
		"unknown field":    `{ mee { id } }`,
		"missing input":    `mutation { loginWithWeChat(input: {}) { accessToken } }`,
		"introspection":    `{ __schema { types { name } } }`,
		"bad variable":     `mutation($c: String!) { loginWithWeChat(input: {code: $c}) { accessToken } }`,
	}
	for name, q := range cases {
		r := s.Do("", q, nil)
		if len(r.Errors) == 0 {
			t.Errorf("%s: no error", name)
			continue
		}
		for _, e := range r.Errors {
			if e.Extensions["code"] == nil {
				t.Errorf("%s: uncoded %q", name, e.Message)
			}
			for _, leak := range []string{"Did you mean", "input", "LoginInput", "Mutation", "String", "code", "__Schema", "Query"} {
				if strings.Contains(e.Message, leak) {
					t.Errorf("%s: message %q leaks %q", name, e.Message, leak)
				}
			}
		}
	}
}

// TestEveryTransportErrorIsCoded: whatever arrives at /graphql, the answer
// is JSON with extensions.code and a message that repeats nothing sent.
func TestEveryTransportErrorIsCoded(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, store.SQLite)
	const secret = "SECRET-BODY-TEXT"
	type req struct {
		method, ctype, body, query string
		status                     int
	}
	cases := map[string]req{
		"trailing garbage":    {"POST", "application/json", `{"query":"{ __typename }"} garbage ` + secret, "", 400},
		"two objects":         {"POST", "application/json", `{"query":"{ __typename }"}{"query":"{ __typename }"}`, "", 400},
		"wrong type":          {"POST", "application/json", `{"query": 1, "x": "` + secret + `"}`, "", 400},
		"not json":            {"POST", "application/json", secret, "", 400},
		"batch":               {"POST", "application/json", `[{"query":"{ __typename }"}]`, "", 400},
		"empty body":          {"POST", "application/json", ``, "", 400},
		"text/plain":          {"POST", "text/plain", `{"query":"{ __typename }"}`, "", 415},
		"form":                {"POST", "application/x-www-form-urlencoded", `query=` + secret, "", 415},
		"PUT":                 {"PUT", "application/json", `{"query":"{ __typename }"}`, "", 405},
		"DELETE":              {"DELETE", "", ``, "", 405},
		"GET mutation":        {"GET", "", ``, "query=" + url.QueryEscape(`mutation { logout { __typename } }`), 405},
		"GET bad variables":   {"GET", "", ``, "query=" + url.QueryEscape(`{ __typename }`) + "&variables=" + secret, 400},
		"GET bad extensions":  {"GET", "", ``, "query=" + url.QueryEscape(`{ __typename }`) + "&extensions=[1]", 400},
		"no query":            {"POST", "application/json", `{"variables":{}}`, "", 422},
		"syntax error":        {"POST", "application/json", `{"query":"{ "}`, "", 422},
		"unknown operation":   {"POST", "application/json", `{"query":"query A { __typename }","operationName":"B"}`, "", 422},
		"bad apq version":     {"POST", "application/json", `{"extensions":{"persistedQuery":{"version":2,"sha256Hash":"x"}}}`, "", 422},
		"apq hash mismatch":   {"POST", "application/json", `{"query":"{ __typename }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + strings.Repeat("0", 64) + `"}}}`, "", 422},
		"upgrade (websocket)": {"GET", "", ``, "query=" + url.QueryEscape(`{ __typename }`), 200},
	}
	for name, c := range cases {
		u := s.URL + "/graphql"
		if c.query != "" {
			u += "?" + c.query
		}
		rq, _ := http.NewRequest(c.method, u, strings.NewReader(c.body))
		if c.ctype != "" {
			rq.Header.Set("Content-Type", c.ctype)
		}
		if name == "upgrade (websocket)" {
			rq.Header.Set("Upgrade", "websocket")
			rq.Header.Set("Connection", "Upgrade")
		}
		resp, err := s.HTTP.Do(rq)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d (%s)", name, resp.StatusCode, c.status, raw)
		}
		var out testutil.Response
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Errorf("%s: not JSON: %s", name, raw)
			continue
		}
		if c.status == 200 {
			continue
		}
		if len(out.Errors) == 0 || out.Code() == "" {
			t.Errorf("%s: uncoded answer %s", name, raw)
		}
		for _, leak := range []string{secret, "json:", "RawParams", "Go struct", "body:"} {
			if strings.Contains(string(raw), leak) {
				t.Errorf("%s: answer echoes %q: %s", name, leak, raw)
			}
		}
	}
}

func sha(doc string) string {
	sum := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(sum[:])
}

func getPersisted(t *testing.T, s *testutil.Server, hash, query string) *testutil.Response {
	t.Helper()
	ext := fmt.Sprintf(`{"persistedQuery":{"version":1,"sha256Hash":%q}}`, hash)
	v := url.Values{"extensions": {ext}}
	if query != "" {
		v.Set("query", query)
	}
	resp, err := s.HTTP.Get(s.URL + "/graphql?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := &testutil.Response{Status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPersistedQueries: a miss says PERSISTED_QUERY_NOT_FOUND; after the
// client sends the document once, the hash alone runs, by GET too; in
// production a GET runs only that way.
func TestPersistedQueries(t *testing.T) {
	t.Parallel()
	for _, env := range []string{"dev", "prod"} {
		t.Run(env, func(t *testing.T) {
			s := testutil.NewServer(t, store.SQLite, func(c *config.Config) { c.Env = env })
			const doc = `{ __typename }`
			r := getPersisted(t, s, sha(doc), "")
			if r.Code() != "PERSISTED_QUERY_NOT_FOUND" {
				t.Fatalf("miss: %d %+v", r.Status, r.Errors)
			}
			body := fmt.Sprintf(`{"query":%q,"extensions":{"persistedQuery":{"version":1,"sha256Hash":%q}}}`, doc, sha(doc))
			if r, err := s.Raw("", "application/json", []byte(body)); err != nil || len(r.Errors) != 0 {
				t.Fatalf("register: %v %+v", err, r)
			}
			if r := getPersisted(t, s, sha(doc), ""); len(r.Errors) != 0 || !strings.Contains(string(r.Data), "Query") {
				t.Fatalf("hash only: %+v %s", r.Errors, r.Data)
			}
			r = getPersisted(t, s, sha(doc), doc)
			if env == "prod" && (r.Code() != "VALIDATION_FAILED" || r.Status != 400) {
				t.Fatalf("prod GET with a document ran: %d %+v", r.Status, r.Errors)
			}
			if env == "dev" && len(r.Errors) != 0 {
				t.Fatalf("dev GET with a document: %+v", r.Errors)
			}
		})
	}
}

// TestTrustedDocuments: with a list configured, only its documents run,
// by hash or in full, and nothing can be registered.
func TestTrustedDocuments(t *testing.T) {
	t.Parallel()
	const listed = `query Me { me { __typename } }`
	path := filepath.Join(t.TempDir(), "documents.json")
	list, _ := json.Marshal(map[string]string{sha(listed): listed})
	if err := os.WriteFile(path, list, 0o600); err != nil {
		t.Fatal(err)
	}
	s := testutil.NewServer(t, store.SQLite, prod, func(c *config.Config) { c.TrustedDocuments = path })
	if r := getPersisted(t, s, sha(listed), ""); r.Code() == "PERSISTED_QUERY_NOT_FOUND" || r.Code() == "VALIDATION_FAILED" {
		t.Fatalf("listed by hash: %+v", r.Errors)
	}
	if r := s.Do("", listed, nil); r.Code() == "VALIDATION_FAILED" {
		t.Fatalf("listed in full: %+v", r.Errors)
	}
	if r := s.Do("", `{ __typename }`, nil); r.Code() != "VALIDATION_FAILED" {
		t.Fatalf("unlisted document ran: %+v %s", r.Errors, r.Data)
	}
	const other = `{ __typename }`
	body := fmt.Sprintf(`{"query":%q,"extensions":{"persistedQuery":{"version":1,"sha256Hash":%q}}}`, other, sha(other))
	if r, _ := s.Raw("", "application/json", []byte(body)); r.Code() != "VALIDATION_FAILED" {
		t.Fatalf("registered an unlisted document: %+v", r)
	}
	if r := getPersisted(t, s, sha(other), ""); r.Code() != "PERSISTED_QUERY_NOT_FOUND" {
		t.Fatalf("unlisted hash: %+v", r.Errors)
	}
}

// TestTrustedDocumentsListIsChecked: a list whose hash does not match its
// document stops the server at start.
func TestTrustedDocumentsListIsChecked(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "documents.json")
	os.WriteFile(path, []byte(`{"`+strings.Repeat("a", 64)+`": "{ __typename }"}`), 0o600)
	cfg := testConfig(t)
	cfg.TrustedDocuments = path
	if _, err := newApp(t, cfg); err == nil || !strings.Contains(err.Error(), "TRUSTED_DOCUMENTS") {
		t.Fatalf("bad list accepted: %v", err)
	}
}

// TestTricklingBodyIsCut: a client sending its body a byte at a time is
// answered (or dropped) once the body deadline passes, not held.
func TestTricklingBodyIsCut(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, store.SQLite, func(c *config.Config) { c.BodyReadTimeout = time.Second })
	u, _ := url.Parse(s.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
	done := make(chan struct{})
	go func() { // trickle for up to 30 s, stopping when the server gives up
		defer close(done)
		for i := 0; i < 300; i++ {
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		// A dropped connection is a cut too, unless it is our own deadline.
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("the trickling request was still open after 20 s")
		}
		return
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !bytes.Contains(body, []byte(`"code":"VALIDATION_FAILED"`)) {
		t.Fatalf("trickle answered %d %s", resp.StatusCode, body)
	}
}

// TestSecurityHeaders: every answer carries nosniff and friends, and no
// answer may be cached (GraphQL answers carry tokens and personal data).
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, store.SQLite)
	login, _ := json.Marshal(map[string]any{"query": `mutation($c: String!) { loginWithWeChat(input: {code: $c}) { accessToken } }`,
		"variables": map[string]any{"c": s.NextCode("headers")}})
	check := func(name string, resp *http.Response, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
			"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", name, h, got, want)
			}
		}
	}
	resp, err := http.Post(s.URL+"/graphql", "application/json", bytes.NewReader(login))
	check("login", resp, err)
	resp, err = http.Post(s.URL+"/graphql", "text/plain", strings.NewReader("x"))
	check("transport error", resp, err)
	for _, p := range []string{"/healthz", "/nowhere", "/export/vouchers?batchId=1", "/files/proof/x?exp=1&sig=x"} {
		resp, err = http.Get(s.URL + p)
		check(p, resp, err)
	}
}

// TestMetricsListener: with METRICS_ADDR set, /metrics is not on the API
// listener; in dev without it, it is (for a look from the laptop).
func TestMetricsListener(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, store.SQLite, func(c *config.Config) { c.MetricsAddr = "127.0.0.1:0" })
	if code, _ := s.Get("", "/metrics"); code != http.StatusNotFound {
		t.Fatalf("/metrics on the API listener: %d", code)
	}
	if s.App.Metrics == nil {
		t.Fatal("no metrics handler to serve on its own listener")
	}
	dev := testutil.NewServer(t, store.SQLite)
	if code, _ := dev.Get("", "/metrics"); code != http.StatusOK {
		t.Fatalf("dev /metrics: %d", code)
	}
	p := testutil.NewServer(t, store.SQLite, prod)
	if code, _ := p.Get("", "/metrics"); code != http.StatusNotFound {
		t.Fatalf("prod /metrics on the API listener: %d", code)
	}
}

// TestOneLoginPerRequest: aliased logins are refused whole: none runs.
func TestOneLoginPerRequest(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		var b strings.Builder
		b.WriteString("mutation {")
		for i := 0; i < 50; i++ {
			fmt.Fprintf(&b, " l%d: loginAdmin(input: {username: \"city_admin\", password: \"wrong%d\"}) { accessToken }", i, i)
		}
		b.WriteString(" }")
		if r := s.Do("", b.String(), nil); r.Code() != "VALIDATION_FAILED" || len(r.Data) != 0 && string(r.Data) != "null" {
			t.Fatalf("aliased logins: %s %+v", r.Data, r.Errors)
		}
		code := s.NextCode("aliased")
		q := fmt.Sprintf(`mutation { ...L ... on Mutation { b: loginWithWeChat(input: {code: %q}) { accessToken } } }
			fragment L on Mutation { a: loginWithWeChat(input: {code: %q}) { accessToken } }`, code, code)
		if r := s.Do("", q, nil); r.Code() != "VALIDATION_FAILED" {
			t.Fatalf("logins through fragments: %s %+v", r.Data, r.Errors)
		}
		// The refused requests spent nothing: the admin still logs in at once
		// (a spent per-username allowance would refuse it).
		s.LoginAdmin("city_admin")
		s.MustOK("", `mutation($c: String!) { loginWithWeChat(input: {code: $c}) { accessToken } }`, map[string]any{"c": code}, nil)
	})
}

// TestUploadFieldOrder: the purpose may come after the file.
func TestUploadFieldOrder(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		m := s.LoginMember("order")
		png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 100)...)
		var body bytes.Buffer
		w := multipartWriter(&body)
		fw, _ := w.CreateFormFile("file", "proof.png")
		fw.Write(png)
		w.WriteField("purpose", "PROOF")
		w.Close()
		rq, _ := http.NewRequest("POST", s.URL+"/upload", &body)
		rq.Header.Set("Content-Type", w.FormDataContentType())
		rq.Header.Set("Authorization", "Bearer "+m.Access)
		resp, err := s.HTTP.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(raw, []byte(`"id"`)) {
			t.Fatalf("purpose after file: %d %s", resp.StatusCode, raw)
		}
	})
}

func multipartWriter(w io.Writer) *multipart.Writer { return multipart.NewWriter(w) }

func testConfig(t *testing.T) config.Config {
	t.Helper()
	env := map[string]string{"APP_ENV": "dev", "DATA_DIR": t.TempDir()}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newApp(t *testing.T, cfg config.Config) (*app.App, error) {
	t.Helper()
	a, err := app.New(context.Background(), cfg, app.Options{DB: testutil.OpenDB(t, store.SQLite)})
	if err == nil {
		t.Cleanup(func() { a.Close() })
	}
	return a, err
}

// BenchmarkHostileDocuments: a whole request through HTTP for a small
// legitimate query, side by side with the hostile documents it is refused
// in place of (before the guard, the 40-level chain never answered).
func BenchmarkHostileDocuments(b *testing.B) {
	s := testutil.NewServer(b, store.SQLite)
	plain := func(p string) string { return "..." + p }
	for _, c := range []struct{ name, doc string }{
		{"legit-typename", `{ __typename }`},
		{"chain40", fragmentChain(40, "__typename", plain)},
		{"chain40-inline", fragmentChain(40, "__typename", func(p string) string { return "... on Query { ..." + p + " }" })},
		{"repeats1990", "{" + strings.Repeat(" __typename", 1990) + " }"},
	} {
		body, _ := json.Marshal(map[string]any{"query": c.doc})
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Raw("", "application/json", body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
