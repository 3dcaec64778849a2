package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"unionhall/internal/apperr"
)

func newFake(t *testing.T) (*FakeServer, *HTTPClient) {
	t.Helper()
	fs := NewFakeServer()
	t.Cleanup(fs.Close)
	return fs, NewHTTPClient(fs.URL(), FakeAppID, FakeSecret, nil)
}

// wantErr checks that err is an *apperr.Error with code and message.
func wantErr(t *testing.T, err error, code apperr.Code, msg string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok {
		t.Fatalf("error %v (%T) is not an *apperr.Error", err, err)
	}
	if e.Code != code || e.Message != msg {
		t.Fatalf("error = %s %q, want %s %q (full: %v)", e.Code, e.Message, code, msg, err)
	}
}

func TestCode2SessionSuccess(t *testing.T) {
	fs, c := newFake(t)
	s, err := c.Code2Session(context.Background(), "ok:alice")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Session{OpenID: "o-alice", UnionID: "u-alice"}, s,
		cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "SessionKey" }, cmp.Ignore())); diff != "" {
		t.Errorf("session mismatch (-want +got):\n%s", diff)
	}
	if s.SessionKey == "" {
		t.Error("empty SessionKey")
	}
	if got := fs.Calls(); got != 1 {
		t.Errorf("Calls() = %d, want 1", got)
	}
}

func TestCode2SessionBaseURLForms(t *testing.T) {
	fs := NewFakeServer()
	defer fs.Close()
	for i, base := range []string{fs.URL(), fs.URL() + "/"} {
		c := NewHTTPClient(base, FakeAppID, FakeSecret, nil)
		if _, err := c.Code2Session(context.Background(), fmt.Sprintf("ok:u%d", i)); err != nil {
			t.Errorf("base %q: %v", base, err)
		}
	}
}

func TestCode2SessionSingleUse(t *testing.T) {
	_, c := newFake(t)
	ctx := context.Background()
	if _, err := c.Code2Session(ctx, "ok:bob"); err != nil {
		t.Fatal(err)
	}
	_, err := c.Code2Session(ctx, "ok:bob")
	wantErr(t, err, apperr.Unauthenticated, "登录凭证已使用，请重新登录")
	if !strings.Contains(err.Error(), "40163") {
		t.Errorf("cause lacks the errcode: %v", err)
	}
}

func TestCode2SessionErrcodes(t *testing.T) {
	tests := []struct {
		code     string
		wantCode apperr.Code
		wantMsg  string
	}{
		{"err:40029", apperr.Unauthenticated, "登录凭证无效，请重新登录"},
		{"garbage", apperr.Unauthenticated, "登录凭证无效，请重新登录"},
		{"ok:", apperr.Unauthenticated, "登录凭证无效，请重新登录"},
		{"err:40163", apperr.Unauthenticated, "登录凭证已使用，请重新登录"},
		{"err:45011", apperr.RateLimited, "登录太频繁，请稍后再试"},
		{"err:40226", apperr.Forbidden, "该微信账号存在风险，暂时无法登录"},
		{"err:40001", apperr.Internal, "微信登录失败，请稍后再试"},
		{"err:87009", apperr.Internal, "微信登录失败，请稍后再试"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			fs, c := newFake(t)
			_, err := c.Code2Session(context.Background(), tt.code)
			wantErr(t, err, tt.wantCode, tt.wantMsg)
			if got := fs.Calls(); got != 1 {
				t.Errorf("Calls() = %d, want 1 (no retry)", got)
			}
			if n, ok := strings.CutPrefix(tt.code, "err:"); ok && !strings.Contains(err.Error(), "errcode "+n) {
				t.Errorf("cause lacks the errcode: %v", err)
			}
		})
	}
}

func TestCode2SessionBusyRetriedOnce(t *testing.T) {
	fs, c := newFake(t)
	start := time.Now()
	s, err := c.Code2Session(context.Background(), "busy:carol")
	if err != nil {
		t.Fatal(err)
	}
	if s.OpenID != "o-carol" {
		t.Errorf("OpenID = %q, want o-carol", s.OpenID)
	}
	if got := fs.Calls(); got != 2 {
		t.Errorf("Calls() = %d, want 2", got)
	}
	if d := time.Since(start); d < defaultRetryPause {
		t.Errorf("retried after %v, want a pause of at least %v", d, defaultRetryPause)
	}
	// The code was consumed by the successful retry.
	_, err = c.Code2Session(context.Background(), "busy:carol")
	wantErr(t, err, apperr.Unauthenticated, "登录凭证已使用，请重新登录")
}

func TestCode2SessionBusyTwice(t *testing.T) {
	fs, c := newFake(t)
	_, err := c.Code2Session(context.Background(), "busy2:dave")
	wantErr(t, err, apperr.Internal, "微信服务繁忙，请稍后再试")
	if got := fs.Calls(); got != 2 {
		t.Errorf("Calls() = %d, want exactly 2", got)
	}
}

func TestCode2SessionBadCredentials(t *testing.T) {
	const secret = "s3cr3t-that-must-not-leak"
	fs := NewFakeServer()
	defer fs.Close()
	for _, tc := range []struct{ name, appID, secret string }{
		{"wrong secret", FakeAppID, secret},
		{"wrong appid", "wx-other", FakeSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fs.Calls()
			c := NewHTTPClient(fs.URL(), tc.appID, tc.secret, nil)
			_, err := c.Code2Session(context.Background(), "ok:erin-"+strings.ReplaceAll(tc.name, " ", "-"))
			wantErr(t, err, apperr.Internal, "微信登录失败，请稍后再试")
			if strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error text contains the secret: %v", err)
			}
			if got := fs.Calls() - before; got != 1 {
				t.Errorf("calls = %d, want 1 (no retry)", got)
			}
		})
	}
}

// A transport error (*url.Error) names the full URL, secret included; the
// client must not let it through.
func TestCode2SessionTransportErrorHidesSecret(t *testing.T) {
	fs := NewFakeServer()
	base := fs.URL()
	fs.Close() // connection refused from now on
	c := NewHTTPClient(base, FakeAppID, FakeSecret, nil)
	_, err := c.Code2Session(context.Background(), "ok:frank")
	wantErr(t, err, apperr.Internal, "微信服务繁忙，请稍后再试")
	for _, leak := range []string{FakeSecret, "secret=", "js_code"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error text contains %q: %v", leak, err)
		}
	}
}

func TestRedactReplacesSecretAnywhere(t *testing.T) {
	c := NewHTTPClient("http://x", "app", "topsecret", nil)
	err := c.redact(fmt.Errorf("odd error mentioning topsecret: %w", context.Canceled))
	if strings.Contains(err.Error(), "topsecret") {
		t.Errorf("redact kept the secret: %v", err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("redact broke errors.Is: %v", err)
	}
}

// stubServer answers every request with handler and counts requests.
func stubServer(t *testing.T, handler func(n int, w http.ResponseWriter)) (*HTTPClient, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler(int(n.Add(1)), w)
	}))
	t.Cleanup(srv.Close)
	return NewHTTPClient(srv.URL, "app", "secret", srv.Client()), &n
}

func TestCode2SessionHTTPStatus(t *testing.T) {
	okBody := `{"openid":"o-x","session_key":"k"}`
	t.Run("5xx then ok", func(t *testing.T) {
		c, n := stubServer(t, func(i int, w http.ResponseWriter) {
			if i == 1 {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			fmt.Fprint(w, okBody)
		})
		s, err := c.Code2Session(context.Background(), "x")
		if err != nil || s.OpenID != "o-x" || n.Load() != 2 {
			t.Errorf("got %+v, %v after %d calls; want o-x after 2", s, err, n.Load())
		}
	})
	t.Run("5xx twice", func(t *testing.T) {
		c, n := stubServer(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) })
		_, err := c.Code2Session(context.Background(), "x")
		wantErr(t, err, apperr.Internal, "微信服务繁忙，请稍后再试")
		if n.Load() != 2 {
			t.Errorf("calls = %d, want 2", n.Load())
		}
	})
	t.Run("4xx not retried", func(t *testing.T) {
		c, n := stubServer(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusNotFound) })
		_, err := c.Code2Session(context.Background(), "x")
		wantErr(t, err, apperr.Internal, "微信登录失败，请稍后再试")
		if n.Load() != 1 {
			t.Errorf("calls = %d, want 1", n.Load())
		}
	})
}

func TestCode2SessionBadBodies(t *testing.T) {
	for name, body := range map[string]string{
		"not json":       "<html>oops</html>",
		"no openid":      `{"session_key":"k","errcode":0,"errmsg":"ok"}`,
		"over 64 KiB":    `{"openid":"o-x","errmsg":"` + strings.Repeat("a", 70<<10) + `"}`,
		"errcode string": `{"errcode":"40029"}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := stubServer(t, func(_ int, w http.ResponseWriter) { fmt.Fprint(w, body) })
			_, err := c.Code2Session(context.Background(), "x")
			wantErr(t, err, apperr.Internal, "微信登录失败，请稍后再试")
		})
	}
	t.Run("explicit errcode 0 is success", func(t *testing.T) {
		c, _ := stubServer(t, func(_ int, w http.ResponseWriter) {
			fmt.Fprint(w, `{"openid":"o-y","session_key":"k","errcode":0,"errmsg":"ok"}`)
		})
		if s, err := c.Code2Session(context.Background(), "x"); err != nil || s.OpenID != "o-y" {
			t.Errorf("got %+v, %v", s, err)
		}
	})
}

// The query is built with net/url, so odd characters in the code or the
// secret arrive intact.
func TestCode2SessionQueryEncoding(t *testing.T) {
	var got map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		got = map[string]string{
			"path": r.URL.Path, "appid": q.Get("appid"), "secret": q.Get("secret"),
			"js_code": q.Get("js_code"), "grant_type": q.Get("grant_type"),
		}
		fmt.Fprint(w, `{"openid":"o"}`)
	}))
	defer srv.Close()
	c := NewHTTPClient(srv.URL, "wx&app", "se=cr+et /?#", srv.Client())
	if _, err := c.Code2Session(context.Background(), "a&b=c+d#e"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"path": "/sns/jscode2session", "appid": "wx&app", "secret": "se=cr+et /?#",
		"js_code": "a&b=c+d#e", "grant_type": "authorization_code",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("query mismatch (-want +got):\n%s", diff)
	}
}

func TestCode2SessionBadCode(t *testing.T) {
	fs, c := newFake(t)
	for _, tc := range []struct{ code, msg string }{
		{"", "登录凭证不能为空"},
		{strings.Repeat("a", 129), "登录凭证格式不正确"},
		// Codes are taken as sent: never trimmed into another code.
		{"  \t ", "登录凭证格式不正确"},
		{"ok:alice ", "登录凭证格式不正确"},
		{"ok:alice\t", "登录凭证格式不正确"},
		{" ok:alice", "登录凭证格式不正确"},
		{"ok:alice\n", "登录凭证格式不正确"},
		{"ok:al ice", "登录凭证格式不正确"},
		{"ok:alice\x00", "登录凭证格式不正确"},
		{"ok:alice\u200b", "登录凭证格式不正确"}, // zero-width space
		{"ok:张三", "登录凭证格式不正确"},
	} {
		_, err := c.Code2Session(context.Background(), tc.code)
		want := &apperr.Error{Code: apperr.ValidationFailed, Field: "code", Message: tc.msg}
		e, _ := apperr.As(err)
		if diff := cmp.Diff(want, e); diff != "" {
			t.Errorf("Code2Session(%q) error mismatch (-want +got):\n%s", tc.code, diff)
		}
	}
	// 128 chars is still allowed (and, being unknown to the fake, invalid).
	_, err := c.Code2Session(context.Background(), strings.Repeat("a", 128))
	wantErr(t, err, apperr.Unauthenticated, "登录凭证无效，请重新登录")
	if got := fs.Calls(); got != 1 {
		t.Errorf("Calls() = %d, want 1 (bad codes must not call out)", got)
	}
}

func TestCode2SessionContextCanceled(t *testing.T) {
	fs, c := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Code2Session(ctx, "ok:gina")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not wrap context.Canceled", err)
	}
	if apperr.CodeOf(err) != apperr.Internal {
		t.Errorf("code = %s, want INTERNAL", apperr.CodeOf(err))
	}
	if got := fs.Calls(); got != 0 {
		t.Errorf("Calls() = %d, want 0", got)
	}
}

// The pause before the retry gives way to the context.
func TestCode2SessionContextDuringPause(t *testing.T) {
	fs, c := newFake(t)
	c.retryPause = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Code2Session(ctx, "busy2:hank")
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("returned after %v: the pause ignored the context", d)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
	}
	wantErr(t, err, apperr.Internal, "微信服务繁忙，请稍后再试")
	if got := fs.Calls(); got != 1 {
		t.Errorf("Calls() = %d, want 1", got)
	}
}

// Many parallel logins with one code: exactly one wins, the rest get 40163.
func TestFakeServerParallelSingleUse(t *testing.T) {
	fs, c := newFake(t)
	const n = 20
	var wg sync.WaitGroup
	var wins, used atomic.Int32
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Code2Session(context.Background(), "ok:ivy")
			switch {
			case err == nil:
				wins.Add(1)
			case apperr.Is(err, apperr.Unauthenticated):
				used.Add(1)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || used.Load() != n-1 || fs.Calls() != n {
		t.Errorf("wins=%d used=%d calls=%d; want 1, %d, %d", wins.Load(), used.Load(), fs.Calls(), n-1, n)
	}
}

// The fake takes a code as sent, as WeChat does: one with a space or a
// control character in it is invalid, not trimmed into another user's.
func TestFakeServerTakesCodesAsSent(t *testing.T) {
	fs, c := newFake(t)
	errcode := func(code string) int {
		t.Helper()
		q := url.Values{"appid": {FakeAppID}, "secret": {FakeSecret}, "js_code": {code}, "grant_type": {"authorization_code"}}
		resp, err := http.Get(fs.URL() + "/sns/jscode2session?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a fakeAnswer
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			t.Fatal(err)
		}
		return a.ErrCode
	}
	for _, code := range []string{"ok:alice ", "ok:alice\t", " ok:alice", "ok:alice\n", "ok:alice\x7f", "ok:张三"} {
		if got := errcode(code); got != errcodeInvalidCode {
			t.Errorf("js_code %q: errcode %d, want %d", code, got, errcodeInvalidCode)
		}
	}
	// None of them spent alice's code.
	if s, err := c.Code2Session(context.Background(), "ok:alice"); err != nil || s.OpenID != "o-alice" {
		t.Fatalf("ok:alice after its near copies: %+v, %v", s, err)
	}
}

func TestDevClient(t *testing.T) {
	var c Client = DevClient{}
	for _, code := range []string{"dev:alice", "dev:A.b_c-9", "dev:" + strings.Repeat("z", 64)} {
		s, err := c.Code2Session(context.Background(), code)
		want := Session{OpenID: code}
		if err != nil || s != want {
			t.Errorf("DevClient(%q) = %+v, %v; want %+v", code, s, err, want)
		}
	}
	for _, code := range []string{
		"", "dev:", "alice", "ok:alice", "DEV:alice", "dev:a b", "dev:张三",
		"dev:a/b", "dev:a:b", "dev:" + strings.Repeat("z", 65), "xdev:alice",
		// Not trimmed: a near copy of alice's code is not alice's.
		" dev:x ", "dev:alice ", "dev:alice\t", "\tdev:alice", "dev:alice\n", "dev:alice\r\n",
	} {
		_, err := c.Code2Session(context.Background(), code)
		want := &apperr.Error{Code: apperr.Unauthenticated, Message: "开发模式仅接受 dev:<名字> 形式的登录码"}
		e, _ := apperr.As(err)
		if diff := cmp.Diff(want, e); diff != "" {
			t.Errorf("DevClient(%q) error mismatch (-want +got):\n%s", code, diff)
		}
	}
}
