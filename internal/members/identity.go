package members

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/netip"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/core"
	"unionhall/internal/obs"
	"unionhall/internal/ratelimit"
	"unionhall/internal/store"
	"unionhall/internal/wechat"
	"unionhall/models"
)

// AuthResult is what a login or refresh hands the client.
type AuthResult struct {
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
	Member           *models.Member
	Admin            *models.Admin
}

var (
	errBadCredentials   = apperr.New(apperr.Unauthenticated, "用户名或密码错误")
	errLoginRateLimited = apperr.New(apperr.RateLimited, "登录过于频繁，请稍后再试")
)

// loginLimits bound logins per client address (see addrKey) and per what
// is tried. The per-address numbers are for a fleet of phones behind one
// carrier NAT or one venue's Wi-Fi: a login is rare per phone (the refresh
// token lasts a month) and a failed one rarer, so for members only failures
// count and a crowd logging in at once is not refused.
type loginLimits struct {
	// WeChat: 30 failures per address, then one a second; an attempt in
	// flight counts until WeChat answers. Every failure cost a call to
	// jscode2session, whose quota is the whole app's.
	wechatByAddr *ratelimit.Keyed
	// 5 failures per code, then one a minute: a code is single-use, so a
	// code failing again is a client loop or a replay, from any address.
	wechatByCode *ratelimit.Keyed
	// Admins: 20 attempts per address, then one every 3 s, successes
	// included: each costs a bcrypt comparison, whatever the username.
	adminByAddr *ratelimit.Keyed
	// 5 attempts per username, then one every 12 s.
	adminByName *ratelimit.Keyed
	// Refresh: 60 failures per address, then one a second. A refresh is
	// no login, but garbage tokens are cheap to send and each costs a read.
	refreshByAddr *ratelimit.Keyed
}

func newLoginLimits() *loginLimits {
	return &loginLimits{
		wechatByAddr:  ratelimit.New(time.Second, 30),
		wechatByCode:  ratelimit.New(time.Minute, 5),
		adminByAddr:   ratelimit.New(3*time.Second, 20),
		adminByName:   ratelimit.New(12*time.Second, 5),
		refreshByAddr: ratelimit.New(time.Second, 60),
	}
}

// addrKey is the client's address as the login limits count it: an IPv6
// address by its /64, which a subscriber line gets whole (keyed by address
// an attacker would have 2^64 allowances); none (a call from inside the
// process, a test) or one that does not parse, one shared "unknown".
func addrKey(ctx context.Context) string {
	a, err := netip.ParseAddr(obs.ClientIP(ctx))
	if err != nil {
		return "unknown"
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// loginFailed reports whether err is the caller's failure, which the
// failure limits count. WeChat being busy, out of quota or unreachable is
// not: the client is right to try again.
func loginFailed(err error) bool {
	if err == nil {
		return false
	}
	c := apperr.CodeOf(err)
	return c != apperr.Internal && c != apperr.RateLimited
}

// LoginWithWeChat exchanges a wx.login() code for tokens, creating the member
// on first login. Codes: UNAUTHENTICATED (bad or used code), RATE_LIMITED,
// FORBIDDEN (WeChat blocked the user), VALIDATION_FAILED, INTERNAL.
func (s *Service) LoginWithWeChat(ctx context.Context, code string) (*AuthResult, error) {
	sess, err := s.code2Session(ctx, code)
	if err != nil {
		return nil, err
	}
	m, err := s.memberForOpenID(ctx, sess.OpenID)
	if err != nil {
		return nil, err
	}
	res, err := s.startSession(ctx, auth.Principal{Kind: models.SubjectMember, ID: m.ID})
	if err != nil {
		return nil, err
	}
	res.Member = m
	return res, nil
}

// code2Session asks WeChat about code within the failure limits per client
// address and per code; a refused attempt does not call WeChat.
func (s *Service) code2Session(ctx context.Context, code string) (wechat.Session, error) {
	endAddr, ok := s.logins.wechatByAddr.Begin(addrKey(ctx))
	if !ok {
		return wechat.Session{}, errLoginRateLimited
	}
	// Keyed by a hash: a code may be up to a body long before WeChat's
	// client refuses it.
	endCode, ok := s.logins.wechatByCode.Begin(hashToken(code))
	if !ok {
		endAddr(true)
		return wechat.Session{}, errLoginRateLimited
	}
	sess, err := s.WeChat().Code2Session(ctx, code)
	failed := loginFailed(err)
	endCode(failed)
	endAddr(failed)
	return sess, err
}

// memberForOpenID finds or creates the member; two first logins racing both
// end with the one row the unique index allows.
func (s *Service) memberForOpenID(ctx context.Context, openID string) (*models.Member, error) {
	var m models.Member
	err := s.Q(ctx).Where("openid = ?", openID).Take(&m).Error
	if err == nil {
		return &m, nil
	}
	if !store.IsNotFound(err) {
		return nil, err
	}
	now := s.Clock().Now()
	m = models.Member{OpenID: openID, Status: models.MembershipUnbound, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := s.Q(ctx).Create(&m).Error; err != nil {
		if !store.IsDuplicate(err) {
			return nil, err
		}
		m = models.Member{}
		if err := s.Q(ctx).Where("openid = ?", openID).Take(&m).Error; err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// dummyHash keeps a login for an unknown username as slow as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("unionhall-dummy-password"), bcrypt.DefaultCost)

// LoginAdmin checks username and password. The username is matched
// exactly, not trimmed or folded. Codes: UNAUTHENTICATED (wrong either, one
// message for both), FORBIDDEN (disabled), RATE_LIMITED.
func (s *Service) LoginAdmin(ctx context.Context, username, password string) (*AuthResult, error) {
	if username == "" || len(username) > 64 || password == "" || len(password) > 72 {
		return nil, errBadCredentials
	}
	if !s.logins.adminByAddr.Allow(addrKey(ctx)) || !s.logins.adminByName.Allow(username) {
		return nil, errLoginRateLimited
	}
	var a models.Admin
	err := s.Q(ctx).Where("username = ?", username).Take(&a).Error
	if err != nil && !store.IsNotFound(err) {
		return nil, err
	}
	// MySQL's collations match "city_admin " and "CITY_ADMIN" to
	// "city_admin": only the stored name byte for byte is that admin, else
	// the name is unknown (and the password checked against the dummy, so
	// the variants neither test the real one nor answer faster).
	known := err == nil && a.Username == username
	hash := dummyHash
	if known {
		hash = []byte(a.PasswordHash)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || !known {
		return nil, errBadCredentials
	}
	if a.Disabled {
		return nil, apperr.New(apperr.Forbidden, "该管理员账号已停用")
	}
	res, err := s.startSession(ctx, adminPrincipal(&a, 0))
	if err != nil {
		return nil, err
	}
	res.Admin = &a
	return res, nil
}

func adminPrincipal(a *models.Admin, sessionID int64) auth.Principal {
	return auth.Principal{Kind: models.SubjectAdmin, ID: a.ID, Role: a.Role, UnionID: a.UnionID, SessionID: sessionID}
}

// startSession opens a login: a session row, its first refresh token, and an
// access token naming the session.
func (s *Service) startSession(ctx context.Context, p auth.Principal) (*AuthResult, error) {
	now := s.Clock().Now()
	raw, hash := newRefreshToken()
	sess := models.AuthSession{SubjectKind: p.Kind, SubjectID: p.ID, CreatedAt: now}
	rt := models.RefreshToken{TokenHash: hash, ExpiresAt: now.Add(s.Settings().RefreshTTL), CreatedAt: now}
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&sess).Error; err != nil {
			return err
		}
		rt.SessionID = sess.ID
		return tx.Create(&rt).Error
	})
	if err != nil {
		return nil, err
	}
	p.SessionID = sess.ID
	return s.issue(p, raw, rt.ExpiresAt)
}

func (s *Service) issue(p auth.Principal, refresh string, refreshExp time.Time) (*AuthResult, error) {
	access, exp, err := s.Tokens().Issue(p)
	if err != nil {
		return nil, err
	}
	return &AuthResult{AccessToken: access, AccessExpiresAt: exp, RefreshToken: refresh, RefreshExpiresAt: refreshExp}, nil
}

func newRefreshToken() (raw, hash string) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	raw = base64.RawURLEncoding.EncodeToString(b[:])
	return raw, hashToken(raw)
}

func hashToken(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:])
}

var (
	errReplay = errors.New("refresh token replayed")
	// errRotatedMeanwhile: a refresh racing with this one, with the same
	// token, used it first.
	errRotatedMeanwhile = errors.New("refresh token rotated by a concurrent refresh")
)

// Refresh rotates a refresh token. The token's successor is derived from
// it (auth.Tokens.Successors), so a retry whose first answer was lost on a
// bad network, within RefreshReuseGrace of the first use and while the
// successor is unused, gets the same successor (and a fresh access token
// for the session) instead of ending the login. Any other reuse of a used
// token is a replay (stolen, or a copy): the whole session is revoked.
// Refreshes racing with one token are the winner of a conditional update
// and its retries, so they all get the one pair.
// Codes: UNAUTHENTICATED, FORBIDDEN (admin disabled), RATE_LIMITED.
func (s *Service) Refresh(ctx context.Context, raw string) (*AuthResult, error) {
	end, ok := s.logins.refreshByAddr.Begin(addrKey(ctx))
	if !ok {
		return nil, errLoginRateLimited
	}
	res, err := s.refresh(ctx, raw)
	end(apperr.Is(err, apperr.Unauthenticated))
	return res, err
}

func (s *Service) refresh(ctx context.Context, raw string) (*AuthResult, error) {
	if raw == "" || len(raw) > 128 {
		return nil, core.ErrSessionEnded
	}
	rot, err := s.rotate(ctx, raw)
	if errors.Is(err, errRotatedMeanwhile) {
		// The refresh that won has committed (its row lock held ours until
		// then): this one is its retry now.
		rot, err = s.rotate(ctx, raw)
	}
	switch {
	case errors.Is(err, errReplay):
		if rerr := s.revokeSession(ctx, rot.sess.ID); rerr != nil {
			return nil, rerr
		}
		s.Log().WarnContext(ctx, "refresh token replay: session revoked", "session_id", rot.sess.ID)
		return nil, core.ErrSessionEnded
	case errors.Is(err, errRotatedMeanwhile):
		return nil, core.ErrSessionEnded
	case err != nil:
		return nil, err
	}
	sess := rot.sess
	p := auth.Principal{Kind: sess.SubjectKind, ID: sess.SubjectID, SessionID: sess.ID}
	res := &AuthResult{}
	switch sess.SubjectKind {
	case models.SubjectMember:
		var m models.Member
		if err := s.Q(ctx).Take(&m, sess.SubjectID).Error; err != nil {
			return nil, err
		}
		res.Member = &m
	case models.SubjectAdmin:
		var a models.Admin
		if err := s.Q(ctx).Take(&a, sess.SubjectID).Error; err != nil {
			return nil, err
		}
		if a.Disabled {
			_ = s.revokeSession(ctx, sess.ID)
			return nil, apperr.New(apperr.Forbidden, "该管理员账号已停用")
		}
		p = adminPrincipal(&a, sess.ID)
		res.Admin = &a
	}
	issued, err := s.issue(p, rot.next, rot.nextExpiresAt)
	if err != nil {
		return nil, err
	}
	issued.Member, issued.Admin = res.Member, res.Admin
	return issued, nil
}

// rotation is a refresh token's successor in its session.
type rotation struct {
	sess          models.AuthSession // set with errReplay too: the one to revoke
	next          string
	nextExpiresAt time.Time
}

// rotate marks raw used and stores its successor, or, for a retry within
// the grace window, finds the successor stored the first time.
func (s *Service) rotate(ctx context.Context, raw string) (rotation, error) {
	now := s.Clock().Now()
	var rot rotation
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		rot = rotation{}
		var old models.RefreshToken
		if err := tx.Where("token_hash = ?", hashToken(raw)).Take(&old).Error; err != nil {
			if store.IsNotFound(err) {
				return core.ErrSessionEnded
			}
			return err
		}
		if err := tx.Take(&rot.sess, old.SessionID).Error; err != nil {
			return err
		}
		if rot.sess.RevokedAt != nil {
			return core.ErrSessionEnded
		}
		if old.UsedAt != nil {
			return s.retried(tx, &rot, old, raw, now)
		}
		if !now.Before(old.ExpiresAt) {
			return core.ErrSessionEnded
		}
		res := tx.Model(&models.RefreshToken{}).Where("id = ? AND used_at IS NULL", old.ID).Update("used_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errRotatedMeanwhile
		}
		rot.next = s.Tokens().Successors(raw)[0]
		rot.nextExpiresAt = now.Add(s.Settings().RefreshTTL)
		return tx.Create(&models.RefreshToken{SessionID: rot.sess.ID, TokenHash: hashToken(rot.next),
			ExpiresAt: rot.nextExpiresAt, CreatedAt: now}).Error
	})
	return rot, err
}

// retried handles a used token presented again: the same successor if the
// first use was less than the grace ago and the successor is still unused,
// else errReplay. A token two generations old (its successor used too) is
// a replay however recent.
func (s *Service) retried(tx *gorm.DB, rot *rotation, old models.RefreshToken, raw string, now time.Time) error {
	if now.Sub(*old.UsedAt) >= s.Settings().RefreshReuseGrace {
		return errReplay
	}
	candidates := s.Tokens().Successors(raw)
	hashes := make([]string, len(candidates))
	for i, c := range candidates {
		hashes[i] = hashToken(c)
	}
	var next models.RefreshToken
	err := tx.Where("session_id = ? AND token_hash IN ?", old.SessionID, hashes).Take(&next).Error
	if store.IsNotFound(err) {
		return errReplay // rotated before successors were derived, or under a key since removed
	}
	if err != nil {
		return err
	}
	if next.UsedAt != nil || !now.Before(next.ExpiresAt) {
		return errReplay
	}
	for i, h := range hashes {
		if h == next.TokenHash {
			rot.next = candidates[i]
		}
	}
	rot.nextExpiresAt = next.ExpiresAt
	return nil
}

// revokeSession ends session id, and drops it from this instance's cache
// at once: the access tokens of the session stop here with the revocation.
func (s *Service) revokeSession(ctx context.Context, id int64) error {
	err := s.Q(ctx).Model(&models.AuthSession{}).Where("id = ? AND revoked_at IS NULL", id).
		Update("revoked_at", s.Clock().Now()).Error
	s.sessions.Forget(id)
	return err
}

// Logout ends the caller's session, or the one refreshToken belongs to. It
// is idempotent: logging out twice is fine.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	if refreshToken != "" {
		var rt models.RefreshToken
		err := s.Q(ctx).Where("token_hash = ?", hashToken(refreshToken)).Take(&rt).Error
		if store.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return s.revokeSession(ctx, rt.SessionID)
	}
	p, err := auth.Require(ctx)
	if err != nil {
		return err
	}
	return s.revokeSession(ctx, p.SessionID)
}

// Authorize re-checks a principal against the database: the session must be
// live, and for admins the account enabled; an admin's role and scope are
// taken from the database, not the token. It runs once per request (later
// calls get the first one's result), and a session read live is trusted
// for SessionCacheTTL on this instance; the admin account is read on every
// request. Codes: UNAUTHENTICATED, FORBIDDEN.
func (s *Service) Authorize(ctx context.Context, p *auth.Principal) (*auth.Principal, error) {
	return auth.Recheck(ctx, p, func() (*auth.Principal, error) { return s.authorize(ctx, p) })
}

func (s *Service) authorize(ctx context.Context, p *auth.Principal) (*auth.Principal, error) {
	known := s.sessions.live(p)
	read := s.sessions.begin()
	if p.Kind == models.SubjectMember {
		if !known {
			if err := s.authorizeMember(ctx, p); err != nil {
				return nil, err
			}
			s.sessions.remember(p, read)
		}
		return p, nil
	}
	if !known {
		var sess models.AuthSession
		if err := s.Q(ctx).Take(&sess, p.SessionID).Error; err != nil {
			if store.IsNotFound(err) {
				return nil, core.ErrSessionEnded
			}
			return nil, err
		}
		if sess.RevokedAt != nil || sess.SubjectKind != p.Kind || sess.SubjectID != p.ID {
			return nil, core.ErrSessionEnded
		}
		s.sessions.remember(p, read)
	}
	if p.Kind != models.SubjectAdmin {
		return p, nil
	}
	var a models.Admin
	if err := s.Q(ctx).Take(&a, p.ID).Error; err != nil {
		if store.IsNotFound(err) {
			return nil, core.ErrSessionEnded
		}
		return nil, err
	}
	if a.Disabled {
		return nil, apperr.New(apperr.Forbidden, "该管理员账号已停用")
	}
	fresh := adminPrincipal(&a, p.SessionID)
	return &fresh, nil
}

// authorizeMember checks a member's session and, in the same statement,
// loads the member as the request's viewer: a member mutation's re-check
// costs no more than the load it needed anyway.
func (s *Service) authorizeMember(ctx context.Context, p *auth.Principal) error {
	var row struct {
		models.Member `gorm:"embedded"`
		UnionPath     *string
		SessSubject   int64
		SessKind      models.SubjectKind
		SessRevokedAt *time.Time
	}
	err := s.Q(ctx).Table("auth_sessions AS s").
		Select("members.*, unions.path AS union_path, s.subject_id AS sess_subject, s.subject_kind AS sess_kind, s.revoked_at AS sess_revoked_at").
		Joins("JOIN members ON members.id = s.subject_id").Joins("LEFT JOIN unions ON unions.id = members.union_id").
		Where("s.id = ?", p.SessionID).Take(&row).Error
	if store.IsNotFound(err) {
		return core.ErrSessionEnded
	}
	if err != nil {
		return err
	}
	if row.SessRevokedAt != nil || row.SessKind != p.Kind || row.SessSubject != p.ID {
		return core.ErrSessionEnded
	}
	m := row.Member
	core.RememberViewer(ctx, &core.Viewer{Member: &m, UnionPath: core.Deref(row.UnionPath)})
	return nil
}

// CurrentAdmin returns the calling admin's account.
func (s *Service) CurrentAdmin(ctx context.Context) (*models.Admin, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	var a models.Admin
	if err := s.Q(ctx).Take(&a, p.ID).Error; err != nil {
		return nil, store.Translate(err, "管理员不存在", "")
	}
	return &a, nil
}
