package wechat

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
)

// Credentials the FakeServer accepts.
const (
	FakeAppID  = "wx-test-app"
	FakeSecret = "test-secret"
)

// FakeServer is an in-process jscode2session endpoint for tests. It is not
// in a _test file so that other packages' tests can log members in through
// the real HTTPClient:
//
//	fs := wechat.NewFakeServer()
//	defer fs.Close()
//	c := wechat.NewHTTPClient(fs.URL(), wechat.FakeAppID, wechat.FakeSecret, nil)
//
// Codes it understands:
//
//	ok:<name>     openid "o-<name>", unionid "u-<name>"; single use, then 40163
//	              (ok:<name>#<nonce> is another code for the same user)
//	busy:<name>   errcode -1 the first time, then as ok:<name>
//	busy2:<name>  errcode -1 always
//	err:<n>       errcode n (e.g. err:40029, err:45011, err:40226)
//	anything else errcode 40029 (invalid code), as is any code with a space,
//	a control character or non-ASCII in it (codes are taken as sent)
//
// A wrong appid answers 40013 and a wrong secret 40125, as WeChat does.
type FakeServer struct {
	srv *httptest.Server

	mu    sync.Mutex
	calls int
	seen  map[string]int // times each code was presented
}

// NewFakeServer starts a FakeServer; Close it when done.
func NewFakeServer() *FakeServer {
	f := &FakeServer{seen: make(map[string]int)}
	mux := http.NewServeMux()
	mux.HandleFunc("/sns/jscode2session", f.jscode2session)
	f.srv = httptest.NewServer(mux)
	return f
}

// URL is the base URL to give NewHTTPClient.
func (f *FakeServer) URL() string { return f.srv.URL }

// Close shuts the server down.
func (f *FakeServer) Close() { f.srv.Close() }

// Calls is the number of jscode2session requests served so far.
func (f *FakeServer) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

type fakeAnswer struct {
	OpenID     string `json:"openid,omitempty"`
	SessionKey string `json:"session_key,omitempty"`
	UnionID    string `json:"unionid,omitempty"`
	ErrCode    int    `json:"errcode"`
	ErrMsg     string `json:"errmsg"`
}

func (f *FakeServer) jscode2session(w http.ResponseWriter, r *http.Request) {
	a := f.answer(r)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(a)
}

// answer decides the reply under the lock, so that parallel tests sharing
// one server see each code used exactly once.
func (f *FakeServer) answer(r *http.Request) fakeAnswer {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++

	q := r.URL.Query()
	switch {
	case r.Method != http.MethodGet:
		return fakeAnswer{ErrCode: 43001, ErrMsg: "require GET method"}
	case q.Get("appid") != FakeAppID:
		return fakeAnswer{ErrCode: 40013, ErrMsg: "invalid appid"}
	case q.Get("secret") != FakeSecret:
		return fakeAnswer{ErrCode: 40125, ErrMsg: "invalid appsecret"}
	case q.Get("grant_type") != "authorization_code":
		return fakeAnswer{ErrCode: 40002, ErrMsg: "invalid grant_type"}
	}
	code := q.Get("js_code")
	if code == "" {
		return fakeAnswer{ErrCode: 41008, ErrMsg: "missing code"}
	}
	if !wellFormedCode(code) {
		// Taken as sent, never trimmed: "ok:alice " is no code for alice.
		return fakeAnswer{ErrCode: errcodeInvalidCode, ErrMsg: "invalid code"}
	}

	kind, name, _ := strings.Cut(code, ":")
	switch {
	case name == "":
		// "ok:" and the like are not valid fake codes.
	case kind == "ok":
		f.seen[code]++
		return fakeSuccess(user(name), f.seen[code] == 1)
	case kind == "busy":
		f.seen[code]++
		if f.seen[code] == 1 {
			return fakeAnswer{ErrCode: errcodeBusy, ErrMsg: "system error"}
		}
		return fakeSuccess(user(name), f.seen[code] == 2)
	case kind == "busy2":
		return fakeAnswer{ErrCode: errcodeBusy, ErrMsg: "system error"}
	case kind == "err":
		if n, err := strconv.Atoi(name); err == nil && n != 0 {
			return fakeAnswer{ErrCode: n, ErrMsg: "fake error " + name}
		}
	}
	return fakeAnswer{ErrCode: errcodeInvalidCode, ErrMsg: "invalid code"}
}

// user drops a "#nonce" suffix, so many codes can name one user.
func user(name string) string {
	u, _, _ := strings.Cut(name, "#")
	return u
}

// fakeSuccess answers a session for name, or 40163 if the code was already
// used (first is false).
func fakeSuccess(name string, first bool) fakeAnswer {
	if !first {
		return fakeAnswer{ErrCode: errcodeCodeUsed, ErrMsg: "code been used"}
	}
	return fakeAnswer{
		OpenID:     "o-" + name,
		UnionID:    "u-" + name,
		SessionKey: newSessionKey(),
		ErrMsg:     "ok",
	}
}

// newSessionKey returns a random base64 16-byte key, like WeChat's.
func newSessionKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
