package service

import (
	"crypto/rand"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"unionhall/internal/apperr"
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

// eligibility validates in for an offering published by pub. The subtree
// defaults to the publisher's; a chosen union must lie inside it.
// Codes: VALIDATION_FAILED (field eligibility.*).
func (s *Service) eligibility(tx *gorm.DB, sc *Scope, pub *models.Union, in *EligibilityInput) (models.Eligibility, error) {
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

// ineligibility applies an offering's eligibility to the viewer on day now:
// "" when eligible, else the reason to show.
func (s *Service) ineligibility(v *Viewer, e *models.Eligibility, now time.Time) string {
	return e.Check(v.Member, v.UnionPath, now)
}

// cleanURL accepts an empty string or an https link (the mini-program opens
// nothing else). Codes: VALIDATION_FAILED naming field.
func cleanURL(field, s string) (string, error) {
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

// newCode returns n random characters of codeAlphabet (5 bits each).
func newCode(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	for i := range b {
		b[i] = codeAlphabet[b[i]&31]
	}
	return string(b)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
