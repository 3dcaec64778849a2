package core

import (
	"context"
	"crypto/rand"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/store"
	"unionhall/models"
)

// What every offering (class, voucher batch, event, programme) shares:
// eligibility, links, codes.

// EligibilityInput is who may take up an offering, as an admin writes it.
type EligibilityInput struct {
	UnionID         *int64
	EmploymentForms []models.EmploymentForm
	Gender          *models.Gender
	MinAge, MaxAge  *int
	VerifiedOnly    bool
}

// Eligibility validates in for an offering published by pub. The subtree
// defaults to the publisher's; a chosen union must lie inside it.
// Codes: VALIDATION_FAILED (field eligibility.*).
func (s *Core) Eligibility(tx *gorm.DB, sc *Scope, pub *models.Union, in *EligibilityInput) (models.Eligibility, error) {
	e := models.Eligibility{EligPath: pub.Path}
	if in == nil {
		return e, nil
	}
	if in.UnionID != nil {
		var u models.Union
		if err := tx.Take(&u, *in.UnionID).Error; err != nil {
			if store.IsNotFound(err) {
				return e, apperr.Invalid("eligibility.unionId", "所选工会不存在")
			}
			return e, err
		}
		if !pub.Contains(&u) || !sc.Covers(&u) {
			return e, apperr.Invalid("eligibility.unionId", "只能限定为发布工会及其下级工会")
		}
		e.EligUnionID, e.EligPath = &u.ID, u.Path
	}
	var forms []models.EmploymentForm
	for _, f := range in.EmploymentForms {
		if !f.IsValid() {
			return e, apperr.Invalid("eligibility.employmentForms", "就业形态不正确")
		}
		if !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	e.EligForms = models.JoinForms(forms)
	if in.Gender != nil {
		if !in.Gender.IsValid() {
			return e, apperr.Invalid("eligibility.gender", "性别不正确")
		}
		e.EligGender = *in.Gender
	}
	for _, a := range []struct {
		v     *int
		field string
	}{{in.MinAge, "eligibility.minAge"}, {in.MaxAge, "eligibility.maxAge"}} {
		if a.v != nil && (*a.v < 0 || *a.v > 120) {
			return e, apperr.Invalid(a.field, "年龄应在 0 到 120 岁之间")
		}
	}
	if in.MinAge != nil && in.MaxAge != nil && *in.MinAge > *in.MaxAge {
		return e, apperr.Invalid("eligibility.maxAge", "最大年龄不能小于最小年龄")
	}
	e.EligMinAge, e.EligMaxAge, e.EligVerifiedOnly = in.MinAge, in.MaxAge, in.VerifiedOnly
	return e, nil
}

// CleanURL accepts an empty string or an https link (the mini-program opens
// nothing else). Codes: VALIDATION_FAILED naming field.
func CleanURL(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if utf8.RuneCountInString(s) > 500 {
		return "", apperr.Invalid(field, "链接过长")
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", apperr.Invalid(field, "链接须以 https:// 开头")
	}
	return u.String(), nil
}

// codeAlphabet is Crockford's base32: no I, L, O or U to misread.
const codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewCode returns n random characters of codeAlphabet (5 bits each).
func NewCode(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	for i := range b {
		b[i] = codeAlphabet[b[i]&31]
	}
	return string(b)
}

// NormalizeCode reads a code a person typed or scanned, for every code
// newCode makes (training, event and matchmaking check-in codes, voucher
// codes, guardian invitations), so that case never matters anywhere:
// surrounding whitespace and the QR payload's prefix (any of qrPrefixes, in
// any case) go; letters are upper-cased, as newCode writes them; the group
// separators codes are printed with ('-', ' ') go; and the letters
// Crockford base32 reads as digits (O, I, L) become them. None of these
// characters is in codeAlphabet, so no two codes read alike. Not for codes
// others issue: wx.login's login code is opaque and passed on as it is.
func NormalizeCode(code string, qrPrefixes ...string) string {
	code = strings.ToUpper(strings.TrimSpace(code))
	for _, p := range qrPrefixes {
		code = strings.TrimPrefix(code, strings.ToUpper(p))
	}
	var b strings.Builder
	for _, r := range code {
		switch r {
		case '-', ' ':
		case 'O':
			b.WriteByte('0')
		case 'I', 'L':
			b.WriteByte('1')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func Deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// OfferingInScope loads offering id into dst and checks that its publishing
// union (unionOf) lies in the admin's scope; it returns that union. One
// outside the scope is FORBIDDEN whether or not it exists (super admins,
// whose scope is everything, get notFound). lockedRead makes the read
// current on MySQL (after seats.Lock).
func OfferingInScope[T any](tx *gorm.DB, sc *Scope, id int64, dst *T, unionOf func(*T) int64, notFound error, lockedRead bool) (*models.Union, error) {
	q := tx
	if lockedRead {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	if err := q.Take(dst, id).Error; err != nil {
		if store.IsNotFound(err) {
			return nil, OutOfScope(sc, notFound)
		}
		return nil, err
	}
	var u models.Union
	if err := tx.Take(&u, unionOf(dst)).Error; err != nil {
		return nil, err
	}
	if !sc.Covers(&u) {
		return nil, ErrOutOfScope
	}
	return &u, nil
}

// OutOfScope is the refusal for an offering the admin cannot reach.
func OutOfScope(sc *Scope, notFound error) error {
	if sc.Admin.IsSuperAdmin() {
		return notFound
	}
	return ErrOutOfScope
}

// VisibleOfferings narrows q (a query on an offering table) to what the
// caller may list: for members, what the unions on their chain published
// (published or closed); for admins, everything of their subtree, or of
// unionID's within it, in status when given. none reports a member with no
// union, who sees nothing. Codes: FORBIDDEN, VALIDATION_FAILED.
func (s *Core) VisibleOfferings(ctx context.Context, q *gorm.DB, unionID *int64, status *models.OfferingStatus) (_ *gorm.DB, none bool, _ error) {
	if auth.PrincipalFrom(ctx).IsMember() {
		v, err := s.Viewer(ctx)
		if err != nil {
			return nil, false, err
		}
		chain := v.Chain()
		if len(chain) == 0 {
			return nil, true, nil
		}
		return q.Where("union_id IN ? AND status IN ?", chain, []models.OfferingStatus{models.OfferingPublished, models.OfferingClosed}), false, nil
	}
	sc, err := s.AdminScope(ctx, s.Q(ctx))
	if err != nil {
		return nil, false, err
	}
	root, err := s.UnionOrRoot(s.Q(ctx), sc, unionID)
	if err != nil {
		return nil, false, err
	}
	q = q.Where("union_id IN (?)", SubtreeUnionIDs(s.Q(ctx), root.Path))
	if status != nil {
		q = q.Where("status = ?", *status)
	}
	return q, false, nil
}

// GetOffering loads offering id for the caller: for members one their chain
// published and no draft (notFound otherwise); for admins one of their
// subtree (FORBIDDEN otherwise).
func GetOffering[T any](ctx context.Context, s *Core, id int64, dst *T, unionOf func(*T) int64, isDraft func(*T) bool, notFound *apperr.Error) error {
	p, err := auth.Require(ctx)
	if err != nil {
		return err
	}
	if p.IsMember() {
		v, err := s.Viewer(ctx)
		if err != nil {
			return err
		}
		if err := s.Q(ctx).Take(dst, id).Error; err != nil {
			return store.Translate(err, notFound.Message, "")
		}
		if isDraft(dst) || !v.OnChain(unionOf(dst)) {
			return notFound
		}
		return nil
	}
	sc, err := s.AdminScope(ctx, s.Q(ctx))
	if err != nil {
		return err
	}
	_, err = OfferingInScope(s.Q(ctx), sc, id, dst, unionOf, notFound, false)
	return err
}

// StatusLabel and ActionLabel name an offering's status and the move to it
// in the messages every module gives ("课程当前状态为已取消，不能发布").
func StatusLabel(st models.OfferingStatus) string {
	return map[models.OfferingStatus]string{models.OfferingDraft: "草稿", models.OfferingPublished: "已发布",
		models.OfferingClosed: "已截止", models.OfferingCancelled: "已取消"}[st]
}

func ActionLabel(st models.OfferingStatus) string {
	return map[models.OfferingStatus]string{models.OfferingPublished: "发布", models.OfferingClosed: "截止报名",
		models.OfferingCancelled: "取消"}[st]
}

// SaveVersioned writes an edit of the row id of model's table if it is
// still at version, bumping the version: the one versioned-edit rule of
// every offering (and anything else edited from a form). A row changed
// since the admin loaded it is stale: CONFLICT, changing nothing. Extra
// conditions (a budget that must still cover what is granted) go in where.
func SaveVersioned(tx *gorm.DB, model any, id int64, version int, now time.Time, cols map[string]any, stale error, where ...any) error {
	cols["version"] = gorm.Expr("version + 1")
	cols["updated_at"] = now
	q := tx.Model(model).Where("id = ? AND version = ?", id, version)
	if len(where) > 0 {
		q = q.Where(where[0], where[1:]...)
	}
	res := q.Updates(cols)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return stale
	}
	return nil
}

// WithColumns adds more columns to cols (an offering's eligibility).
func WithColumns(cols map[string]any, more map[string]any) map[string]any {
	for k, v := range more {
		cols[k] = v
	}
	return cols
}

// StatusMove is one status change of an offering (publish, close, cancel),
// the lifecycle rule every module shares: the caller has locked the row
// and read its status (From); a retry that finds it at To already changes
// nothing; a move the lifecycle doesn't allow is CONFLICT naming both; the
// UPDATE is conditional on From, so two admins moving at once make one
// move, and bumps the version (an edit form loaded before is now stale).
type StatusMove struct {
	Model    any // &models.X{}: the table
	ID       int64
	From, To models.OfferingStatus
	Now      time.Time
	Noun     string                             // 课程, 项目, 礼券 …: in messages
	Label    func(models.OfferingStatus) string // the status's name; nil: statusLabel
	Action   func(models.OfferingStatus) string // the move's name; nil: actionLabel
	Allowed  func(from, to models.OfferingStatus) bool
	// Prepare adds the module's own columns to updates and does its side
	// effects (cancel the bookings), after the checks and before the UPDATE.
	Prepare func(updates map[string]any) error
}

// Apply makes the move in tx; moved is false for a retry.
func (m StatusMove) Apply(tx *gorm.DB) (moved bool, err error) {
	if m.From == m.To {
		return false, nil
	}
	allowed, label, action := m.Allowed, m.Label, m.Action
	if allowed == nil {
		allowed = models.OfferingStatus.CanTransition
	}
	if label == nil {
		label = StatusLabel
	}
	if action == nil {
		action = ActionLabel
	}
	if !allowed(m.From, m.To) {
		return false, apperr.Newf(apperr.Conflict, "%s当前状态为%s，不能%s", m.Noun, label(m.From), action(m.To))
	}
	updates := map[string]any{"status": m.To, "updated_at": m.Now, "version": gorm.Expr("version + 1")}
	if m.To == models.OfferingPublished {
		updates["published_at"] = m.Now
	}
	if m.Prepare != nil {
		if err := m.Prepare(updates); err != nil {
			return false, err
		}
	}
	res := tx.Model(m.Model).Where("id = ? AND status = ?", m.ID, m.From).Updates(updates)
	if res.Error != nil {
		return false, res.Error
	}
	if res.RowsAffected == 0 {
		return false, apperr.Newf(apperr.Conflict, "%s状态刚被修改，请刷新后重试", m.Noun)
	}
	return true, nil
}
