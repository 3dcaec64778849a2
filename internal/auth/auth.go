// Package auth issues and verifies access tokens (JWT, HS256 with key ids)
// and carries the authenticated principal in the request context.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"unionhall/internal/apperr"
	"unionhall/internal/clock"
	"unionhall/internal/config"
	"unionhall/models"
)

// Principal is who is calling, as the access token says. For admins the
// role and union are re-read from the database before anything that matters
// (see resolvers' @auth directive).
type Principal struct {
	Kind      models.SubjectKind
	ID        int64
	Role      models.AdminRole // admins only
	UnionID   int64            // admins only: the root of their scope
	SessionID int64
}

// IsMember reports whether the principal is a member.
func (p *Principal) IsMember() bool { return p != nil && p.Kind == models.SubjectMember }

// IsAdmin reports whether the principal is a union or super admin. A
// redeemer (merchant) account logs in like an admin but is none.
func (p *Principal) IsAdmin() bool {
	return p != nil && p.Kind == models.SubjectAdmin && p.Role != models.RoleRedeemer
}

// IsRedeemer reports whether the principal is a redeemer (merchant) account.
func (p *Principal) IsRedeemer() bool {
	return p != nil && p.Kind == models.SubjectAdmin && p.Role == models.RoleRedeemer
}

// IsStaff reports whether the principal logged in with a password (admin or
// redeemer): such calls are always re-checked against the database.
func (p *Principal) IsStaff() bool { return p != nil && p.Kind == models.SubjectAdmin }

// IsSuperAdmin reports whether the principal is a super admin.
func (p *Principal) IsSuperAdmin() bool { return p.IsAdmin() && p.Role == models.RoleSuperAdmin }

type ctxKey struct{}

type authState struct {
	p   *Principal
	err error // why a presented token was refused
	// recheck keeps the database re-check of p, once per request; only a
	// request's own token (FromHeader) gets one, see Recheck.
	recheck *recheck
}

type recheck struct {
	mu   sync.Mutex
	done bool
	p    *Principal
	err  error
}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, &authState{p: p})
}

// withRefusal records that the request presented a token that was refused.
func withRefusal(ctx context.Context, err error) context.Context {
	return context.WithValue(ctx, ctxKey{}, &authState{err: err})
}

// PrincipalFrom returns the principal, or nil when there is none.
func PrincipalFrom(ctx context.Context) *Principal {
	if s, ok := ctx.Value(ctxKey{}).(*authState); ok {
		return s.p
	}
	return nil
}

// Recheck runs check, the re-check of p against the database, once per
// request and gives every later caller of the request its result: a query
// of ten fields checks the session once, not ten times. It memoises only
// for the principal the request's bearer token carries (FromHeader); any
// other p (one made with WithPrincipal, by a job say) is checked each time.
func Recheck(ctx context.Context, p *Principal, check func() (*Principal, error)) (*Principal, error) {
	s, _ := ctx.Value(ctxKey{}).(*authState)
	if s == nil || s.recheck == nil || s.p != p {
		return check()
	}
	r := s.recheck
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.done {
		r.p, r.err = check()
		r.done = true
	}
	return r.p, r.err
}

// Require returns the principal or UNAUTHENTICATED, saying why a presented
// token was refused.
func Require(ctx context.Context) (*Principal, error) {
	s, _ := ctx.Value(ctxKey{}).(*authState)
	if s != nil && s.p != nil {
		return s.p, nil
	}
	if s != nil && s.err != nil {
		return nil, s.err
	}
	return nil, apperr.New(apperr.Unauthenticated, "请先登录")
}

// Claims is the access token's payload.
type Claims struct {
	Kind      models.SubjectKind `json:"knd"`
	Role      models.AdminRole   `json:"rol,omitempty"`
	UnionID   int64              `json:"uni,omitempty"`
	SessionID int64              `json:"sid"`
	jwt.RegisteredClaims
}

// Tokens signs and verifies access tokens, and derives refresh-token
// successors (Successors).
type Tokens struct {
	keys     map[string][]byte
	signKID  string
	issuer   string
	audience string
	ttl      time.Duration
	clock    clock.Clock
	parser   *jwt.Parser
	// successorKeys are derived from the JWT keys, the signing key's first.
	successorKeys [][]byte
}

// NewTokens builds the signer/verifier from configuration.
func NewTokens(cfg config.Config, clk clock.Clock) (*Tokens, error) {
	keys, err := cfg.SigningKeys()
	if err != nil {
		return nil, err
	}
	t := &Tokens{
		keys: map[string][]byte{}, signKID: keys[0].ID,
		issuer: cfg.JWTIssuer, audience: cfg.JWTAudience, ttl: cfg.AccessTokenTTL, clock: clk,
	}
	for _, k := range keys {
		t.keys[k.ID] = k.Secret
		t.successorKeys = append(t.successorKeys, mac(k.Secret, []byte("unionhall refresh-token successor v1")))
	}
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(cfg.JWTIssuer),
		jwt.WithAudience(cfg.JWTAudience),
		jwt.WithLeeway(30*time.Second),
		jwt.WithTimeFunc(clk.Now),
	)
	return t, nil
}

// TTL is the access token lifetime.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// Issue signs an access token for p; it returns the token and its expiry.
func (t *Tokens) Issue(p Principal) (string, time.Time, error) {
	now := t.clock.Now()
	exp := now.Add(t.ttl)
	c := Claims{
		Kind: p.Kind, Role: p.Role, UnionID: p.UnionID, SessionID: p.SessionID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   string(p.Kind) + ":" + strconv.FormatInt(p.ID, 10),
			Audience:  jwt.ClaimStrings{t.audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
		},
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["kid"] = t.signKID
	s, err := tok.SignedString(t.keys[t.signKID])
	return s, exp, err
}

// Successors returns the refresh token that follows raw in its rotation,
// HMAC-SHA256(raw) under a key derived from the signing key, then the ones
// the other verifying keys would give. A successor is derived rather than
// random so that a retried refresh, whose first answer was lost, can
// recompute the one it was given while the database keeps only hashes; the
// others let a retry straddling a key rotation still find it. Knowing a
// token and not the key tells nothing about its successor.
func (t *Tokens) Successors(raw string) []string {
	out := make([]string, len(t.successorKeys))
	for i, k := range t.successorKeys {
		out[i] = base64.RawURLEncoding.EncodeToString(mac(k, []byte(raw)))
	}
	return out
}

func mac(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)
}

var errBadToken = apperr.New(apperr.Unauthenticated, "登录状态无效，请重新登录")

// Verify checks signature, algorithm, key id, expiry, issuer and audience,
// and returns the principal. Every failure is UNAUTHENTICATED; an expired
// token says so, so the client knows to refresh.
func (t *Tokens) Verify(raw string) (*Principal, error) {
	var c Claims
	_, err := t.parser.ParseWithClaims(raw, &c, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		key, ok := t.keys[kid]
		if !ok {
			return nil, errors.New("unknown kid")
		}
		return key, nil
	})
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, apperr.Wrap(err, apperr.Unauthenticated, "登录已过期，请重新登录")
		}
		return nil, apperr.Wrap(err, apperr.Unauthenticated, errBadToken.Message)
	}
	kind, idStr, ok := strings.Cut(c.Subject, ":")
	id, perr := strconv.ParseInt(idStr, 10, 64)
	if !ok || perr != nil || id <= 0 || models.SubjectKind(kind) != c.Kind || c.SessionID <= 0 {
		return nil, errBadToken
	}
	switch c.Kind {
	case models.SubjectMember:
		if c.Role != "" {
			return nil, errBadToken
		}
	case models.SubjectAdmin:
		if !c.Role.IsValid() || c.UnionID <= 0 {
			return nil, errBadToken
		}
	default:
		return nil, errBadToken
	}
	return &Principal{Kind: c.Kind, ID: id, Role: c.Role, UnionID: c.UnionID, SessionID: c.SessionID}, nil
}

// FromHeader reads "Authorization: Bearer <jwt>" into the context. A missing
// header leaves the request anonymous; a bad token is remembered so that a
// field needing a login says why, while public fields (login itself) work.
func (t *Tokens) FromHeader(ctx context.Context, header string) context.Context {
	if header == "" {
		return ctx
	}
	scheme, raw, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return withRefusal(ctx, errBadToken)
	}
	p, err := t.Verify(strings.TrimSpace(raw))
	if err != nil {
		return withRefusal(ctx, err)
	}
	return context.WithValue(ctx, ctxKey{}, &authState{p: p, recheck: &recheck{}})
}

// String is for logs: kind and id, nothing personal.
func (p *Principal) String() string {
	if p == nil {
		return "anonymous"
	}
	return fmt.Sprintf("%s:%d", p.Kind, p.ID)
}
