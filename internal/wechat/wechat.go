// Package wechat exchanges a mini-program login code (wx.login) for the
// member's WeChat identity through the jscode2session API.
package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"unionhall/internal/apperr"
)

// Session is the identity WeChat returns for a login code.
type Session struct {
	OpenID     string
	UnionID    string // empty unless the app is bound to an open-platform account
	SessionKey string // secret: never log it or send it to the client
}

// Client exchanges a login code for a Session.
type Client interface {
	Code2Session(ctx context.Context, code string) (Session, error)
}

// DefaultBaseURL is the production WeChat API.
const DefaultBaseURL = "https://api.weixin.qq.com"

// jscode2session error codes that get a specific answer.
const (
	errcodeBusy         = -1
	errcodeInvalidCode  = 40029
	errcodeCodeUsed     = 40163
	errcodeMinuteQuota  = 45011
	errcodeHighRiskUser = 40226
)

const (
	jscode2sessionPath = "sns/jscode2session"
	maxCodeLen         = 128      // real codes are 32 chars; refuse junk early
	maxBodyBytes       = 64 << 10 // a real answer is a few hundred bytes
	defaultHTTPTimeout = 5 * time.Second
	defaultRetryPause  = 100 * time.Millisecond

	msgBusy        = "微信服务繁忙，请稍后再试"
	msgLoginFailed = "微信登录失败，请稍后再试"
)

// HTTPClient calls the real (or a fake) jscode2session endpoint.
type HTTPClient struct {
	baseURL    string
	appID      string
	secret     string
	hc         *http.Client
	retryPause time.Duration
}

var _ Client = (*HTTPClient)(nil)

// NewHTTPClient returns a client for the API at baseURL (DefaultBaseURL in
// production). A nil hc gets a client with a 5s timeout, so a hung WeChat
// cannot hold a login request forever.
func NewHTTPClient(baseURL, appID, secret string, hc *http.Client) *HTTPClient {
	if hc == nil {
		hc = &http.Client{Timeout: defaultHTTPTimeout}
	}
	return &HTTPClient{baseURL: baseURL, appID: appID, secret: secret, hc: hc, retryPause: defaultRetryPause}
}

// code2SessionResponse is the JSON body; errcode is absent on success.
type code2SessionResponse struct {
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
	UnionID    string `json:"unionid"`
	ErrCode    int    `json:"errcode"`
	ErrMsg     string `json:"errmsg"`
}

// Code2Session exchanges code for a Session. A transient failure (errcode
// -1, an HTTP 5xx or a transport error) is retried once after a short pause.
// Errors are *apperr.Error; their causes never contain the app secret.
func (c *HTTPClient) Code2Session(ctx context.Context, code string) (Session, error) {
	if code == "" {
		return Session{}, apperr.Invalid("code", "登录凭证不能为空")
	}
	if len(code) > maxCodeLen || !wellFormedCode(code) {
		return Session{}, apperr.Invalid("code", "登录凭证格式不正确")
	}
	u, err := c.requestURL(code)
	if err != nil {
		return Session{}, apperr.Wrap(err, apperr.Internal, msgLoginFailed)
	}

	for attempt := 1; ; attempt++ {
		s, err := c.call(ctx, u)
		var t *transientError
		if !errors.As(err, &t) {
			return s, err
		}
		if ctx.Err() != nil {
			// The caller gave up (or timed out): no point retrying.
			return Session{}, apperr.Wrap(t.err, apperr.Internal, msgBusy)
		}
		if attempt == 2 {
			return Session{}, apperr.Wrap(fmt.Errorf("after retry: %w", t.err), apperr.Internal, msgBusy)
		}
		timer := time.NewTimer(c.retryPause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return Session{}, apperr.Wrap(errors.Join(t.err, ctx.Err()), apperr.Internal, msgBusy)
		case <-timer.C:
		}
	}
}

// wellFormedCode reports whether code is printable ASCII without spaces, as
// every WeChat code is. The code is not trimmed: "ok:alice " is another
// code than "ok:alice", and a near copy of a code must not pass for it.
func wellFormedCode(code string) bool {
	for i := 0; i < len(code); i++ {
		if code[i] <= ' ' || code[i] > '~' {
			return false
		}
	}
	return true
}

// requestURL builds the request URL. It contains the secret: never put it
// in an error or a log.
func (c *HTTPClient) requestURL(code string) (string, error) {
	base, err := url.Parse(c.baseURL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		// A configuration mistake. The base URL holds no secret, so it
		// may be named in the cause.
		return "", fmt.Errorf("wechat: invalid base URL %q", c.baseURL)
	}
	u := base.JoinPath(jscode2sessionPath)
	u.RawQuery = url.Values{
		"appid":      {c.appID},
		"secret":     {c.secret},
		"js_code":    {code},
		"grant_type": {"authorization_code"},
	}.Encode()
	return u.String(), nil
}

// transientError marks a failure worth one retry.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// call makes one request. It returns a *transientError for a failure worth
// retrying and an *apperr.Error for any other.
func (c *HTTPClient) call(ctx context.Context, u string) (Session, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Session{}, apperr.Wrap(errors.New("wechat: cannot build request"), apperr.Internal, msgLoginFailed)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return Session{}, &transientError{fmt.Errorf("wechat: jscode2session: %w", c.redact(err))}
	}
	defer resp.Body.Close()

	if resp.StatusCode >= 500 {
		return Session{}, &transientError{fmt.Errorf("wechat: jscode2session: HTTP %d", resp.StatusCode)}
	}
	if resp.StatusCode != http.StatusOK {
		return Session{}, apperr.Wrap(fmt.Errorf("wechat: jscode2session: HTTP %d", resp.StatusCode), apperr.Internal, msgLoginFailed)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return Session{}, &transientError{fmt.Errorf("wechat: jscode2session: reading body: %w", c.redact(err))}
	}
	if len(body) > maxBodyBytes {
		return Session{}, apperr.Wrap(errors.New("wechat: jscode2session: body over 64 KiB"), apperr.Internal, msgLoginFailed)
	}
	var r code2SessionResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return Session{}, apperr.Wrap(fmt.Errorf("wechat: jscode2session: decoding body: %w", err), apperr.Internal, msgLoginFailed)
	}

	switch r.ErrCode {
	case 0:
		if r.OpenID == "" {
			return Session{}, apperr.Wrap(errors.New("wechat: jscode2session: no openid in response"), apperr.Internal, msgLoginFailed)
		}
		return Session{OpenID: r.OpenID, UnionID: r.UnionID, SessionKey: r.SessionKey}, nil
	case errcodeBusy:
		return Session{}, &transientError{r.err()}
	case errcodeInvalidCode:
		return Session{}, apperr.Wrap(r.err(), apperr.Unauthenticated, "登录凭证无效，请重新登录")
	case errcodeCodeUsed:
		return Session{}, apperr.Wrap(r.err(), apperr.Unauthenticated, "登录凭证已使用，请重新登录")
	case errcodeMinuteQuota:
		return Session{}, apperr.Wrap(r.err(), apperr.RateLimited, "登录太频繁，请稍后再试")
	case errcodeHighRiskUser:
		return Session{}, apperr.Wrap(r.err(), apperr.Forbidden, "该微信账号存在风险，暂时无法登录")
	default:
		return Session{}, apperr.Wrap(r.err(), apperr.Internal, msgLoginFailed)
	}
}

// err describes a WeChat error code for the logs. errmsg comes from WeChat
// and never echoes our secret.
func (r *code2SessionResponse) err() error {
	return fmt.Errorf("wechat: jscode2session errcode %d: %s", r.ErrCode, r.ErrMsg)
}

// redact drops the *url.Error wrapper of a transport error, whose text holds
// the full request URL and so the secret, and as a last guard replaces the
// secret should it appear anywhere else in the text. The result keeps
// errors.Is working for context errors.
func (c *HTTPClient) redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if c.secret != "" && strings.Contains(err.Error(), c.secret) {
		return &redactedError{msg: strings.ReplaceAll(err.Error(), c.secret, "REDACTED"), err: err}
	}
	return err
}

// redactedError shows a cleaned text but keeps the cause for errors.Is.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Is(target error) bool {
	return errors.Is(e.err, target)
}

// DevClient is the dev-mode Client: it trusts codes "dev:<name>" and makes
// "dev:<name>" the OpenID, so one can log in as anyone without WeChat.
// Never wire it in production.
type DevClient struct{}

var _ Client = DevClient{}

var devCodeRE = regexp.MustCompile(`^dev:[A-Za-z0-9_.-]{1,64}$`)

// Code2Session accepts only "dev:<name>" codes, exactly: "dev:alice " is
// not alice.
func (DevClient) Code2Session(_ context.Context, code string) (Session, error) {
	if !devCodeRE.MatchString(code) {
		return Session{}, apperr.New(apperr.Unauthenticated, "开发模式仅接受 dev:<名字> 形式的登录码")
	}
	return Session{OpenID: code}, nil
}
