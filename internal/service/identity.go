package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/store"
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

var errSessionEnded = apperr.New(apperr.Unauthenticated, "登录已失效，请重新登录")

// LoginWithWeChat exchanges a wx.login() code for tokens, creating the member
// on first login. Codes: UNAUTHENTICATED (bad or used code), RATE_LIMITED,
// FORBIDDEN (WeChat blocked the user), VALIDATION_FAILED, INTERNAL.
func (s *Service) LoginWithWeChat(ctx context.Context, code string) (*AuthResult, error) {
	sess, err := s.wechat.Code2Session(ctx, code)
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

// memberForOpenID finds or creates the member; two first logins racing both
// end with the one row the unique index allows.
func (s *Service) memberForOpenID(ctx context.Context, openID string) (*models.Member, error) {
	var m models.Member
	err := s.q(ctx).Where("openid = ?", openID).Take(&m).Error
	if err == nil {
		return &m, nil
	}
	if !store.IsNotFound(err) {
		return nil, err
	}
	now := s.clock.Now()
	m = models.Member{OpenID: openID, Status: models.MembershipUnbound, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := s.q(ctx).Create(&m).Error; err != nil {
		if !store.IsDuplicate(err) {
			return nil, err
		}
		m = models.Member{}
		if err := s.q(ctx).Where("openid = ?", openID).Take(&m).Error; err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// dummyHash keeps a login for an unknown username as slow as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("unionhall-dummy-password"), bcrypt.DefaultCost)

// LoginAdmin checks username and password. Codes: UNAUTHENTICATED (wrong
// either, one message for both), FORBIDDEN (disabled), RATE_LIMITED.
func (s *Service) LoginAdmin(ctx context.Context, username, password string) (*AuthResult, error) {
	username = strings.TrimSpace(username)
	if username == "" || len(username) > 64 || password == "" || len(password) > 72 {
		return nil, apperr.New(apperr.Unauthenticated, "用户名或密码错误")
	}
	if !s.adminLogins.Allow(strings.ToLower(username)) {
		return nil, apperr.New(apperr.RateLimited, "尝试次数过多，请稍后再试")
	}
	var a models.Admin
	err := s.q(ctx).Where("username = ?", username).Take(&a).Error
	if err != nil && !store.IsNotFound(err) {
		return nil, err
	}
	hash := dummyHash
	if err == nil {
		hash = []byte(a.PasswordHash)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || err != nil {
		return nil, apperr.New(apperr.Unauthenticated, "用户名或密码错误")
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
	now := s.clock.Now()
	raw, hash := newRefreshToken()
	sess := models.AuthSession{SubjectKind: p.Kind, SubjectID: p.ID, CreatedAt: now}
	rt := models.RefreshToken{TokenHash: hash, ExpiresAt: now.Add(s.settings.RefreshTTL), CreatedAt: now}
	err := s.tx(ctx, func(tx *gorm.DB) error {
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
	access, exp, err := s.tokens.Issue(p)
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

var errReplay = errors.New("refresh token replayed")

// Refresh rotates a refresh token. A token that was already used is a replay
// (stolen, or a copy): the whole session is revoked. Two refreshes racing
// with one token are the same case, decided by a conditional update.
// Codes: UNAUTHENTICATED, FORBIDDEN (admin disabled).
func (s *Service) Refresh(ctx context.Context, raw string) (*AuthResult, error) {
	if raw == "" || len(raw) > 128 {
		return nil, errSessionEnded
	}
	now := s.clock.Now()
	var (
		old   models.RefreshToken
		sess  models.AuthSession
		next  string
		nextT models.RefreshToken
	)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("token_hash = ?", hashToken(raw)).Take(&old).Error; err != nil {
			if store.IsNotFound(err) {
				return errSessionEnded
			}
			return err
		}
		if err := tx.Take(&sess, old.SessionID).Error; err != nil {
			return err
		}
		if sess.RevokedAt != nil {
			return errSessionEnded
		}
		if old.UsedAt != nil {
			return errReplay
		}
		if !now.Before(old.ExpiresAt) {
			return errSessionEnded
		}
		res := tx.Model(&models.RefreshToken{}).Where("id = ? AND used_at IS NULL", old.ID).Update("used_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errReplay
		}
		var hash string
		next, hash = newRefreshToken()
		nextT = models.RefreshToken{SessionID: sess.ID, TokenHash: hash, ExpiresAt: now.Add(s.settings.RefreshTTL), CreatedAt: now}
		return tx.Create(&nextT).Error
	})
	if errors.Is(err, errReplay) {
		if rerr := s.revokeSession(ctx, old.SessionID); rerr != nil {
			return nil, rerr
		}
		s.log.WarnContext(ctx, "refresh token replay: session revoked", "session_id", old.SessionID)
		return nil, errSessionEnded
	}
	if err != nil {
		return nil, err
	}
	p := auth.Principal{Kind: sess.SubjectKind, ID: sess.SubjectID, SessionID: sess.ID}
	res := &AuthResult{}
	switch sess.SubjectKind {
	case models.SubjectMember:
		var m models.Member
		if err := s.q(ctx).Take(&m, sess.SubjectID).Error; err != nil {
			return nil, err
		}
		res.Member = &m
	case models.SubjectAdmin:
		var a models.Admin
		if err := s.q(ctx).Take(&a, sess.SubjectID).Error; err != nil {
			return nil, err
		}
		if a.Disabled {
			_ = s.revokeSession(ctx, sess.ID)
			return nil, apperr.New(apperr.Forbidden, "该管理员账号已停用")
		}
		p = adminPrincipal(&a, sess.ID)
		res.Admin = &a
	}
	issued, err := s.issue(p, next, nextT.ExpiresAt)
	if err != nil {
		return nil, err
	}
	issued.Member, issued.Admin = res.Member, res.Admin
	return issued, nil
}

func (s *Service) revokeSession(ctx context.Context, id int64) error {
	return s.q(ctx).Model(&models.AuthSession{}).Where("id = ? AND revoked_at IS NULL", id).
		Update("revoked_at", s.clock.Now()).Error
}

// Logout ends the caller's session, or the one refreshToken belongs to. It
// is idempotent: logging out twice is fine.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	if refreshToken != "" {
		var rt models.RefreshToken
		err := s.q(ctx).Where("token_hash = ?", hashToken(refreshToken)).Take(&rt).Error
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
// taken from the database, not the token. Codes: UNAUTHENTICATED, FORBIDDEN.
func (s *Service) Authorize(ctx context.Context, p *auth.Principal) (*auth.Principal, error) {
	if p.Kind == models.SubjectMember {
		return p, s.authorizeMember(ctx, p)
	}
	var sess models.AuthSession
	if err := s.q(ctx).Take(&sess, p.SessionID).Error; err != nil {
		if store.IsNotFound(err) {
			return nil, errSessionEnded
		}
		return nil, err
	}
	if sess.RevokedAt != nil || sess.SubjectKind != p.Kind || sess.SubjectID != p.ID {
		return nil, errSessionEnded
	}
	if p.Kind != models.SubjectAdmin {
		return p, nil
	}
	var a models.Admin
	if err := s.q(ctx).Take(&a, p.ID).Error; err != nil {
		if store.IsNotFound(err) {
			return nil, errSessionEnded
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
	err := s.q(ctx).Table("auth_sessions AS s").
		Select("members.*, unions.path AS union_path, s.subject_id AS sess_subject, s.subject_kind AS sess_kind, s.revoked_at AS sess_revoked_at").
		Joins("JOIN members ON members.id = s.subject_id").Joins("LEFT JOIN unions ON unions.id = members.union_id").
		Where("s.id = ?", p.SessionID).Take(&row).Error
	if store.IsNotFound(err) {
		return errSessionEnded
	}
	if err != nil {
		return err
	}
	if row.SessRevokedAt != nil || row.SessKind != p.Kind || row.SessSubject != p.ID {
		return errSessionEnded
	}
	m := row.Member
	rememberViewer(ctx, &Viewer{Member: &m, UnionPath: deref(row.UnionPath)})
	return nil
}

// CurrentAdmin returns the calling admin's account.
func (s *Service) CurrentAdmin(ctx context.Context) (*models.Admin, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	var a models.Admin
	if err := s.q(ctx).Take(&a, p.ID).Error; err != nil {
		return nil, store.Translate(err, "管理员不存在", "")
	}
	return &a, nil
}
