package models

import (
	"fmt"
	"strings"
	"time"
)

// Eligibility is who may take up an offering; every module embeds it and
// checks it through Check, so the rule and its explanation live here once.
// Zero values mean "anyone": an empty form list, no gender, no age bounds.
type Eligibility struct {
	// EligUnionID is the union whose subtree may take part; EligPath is its
	// path, kept with the offering so the check needs no lookup.
	EligUnionID      *int64
	EligPath         string
	EligForms        string // comma-separated EmploymentForm values
	EligGender       Gender
	EligMinAge       *int
	EligMaxAge       *int
	EligVerifiedOnly bool
}

// Forms lists the employment forms allowed (none: all).
func (e Eligibility) Forms() []EmploymentForm {
	if e.EligForms == "" {
		return []EmploymentForm{}
	}
	parts := strings.Split(e.EligForms, ",")
	out := make([]EmploymentForm, len(parts))
	for i, p := range parts {
		out[i] = EmploymentForm(p)
	}
	return out
}

// JoinForms stores a form list in EligForms' format.
func JoinForms(forms []EmploymentForm) string {
	parts := make([]string, len(forms))
	for i, f := range forms {
		parts[i] = string(f)
	}
	return strings.Join(parts, ",")
}

// Check explains why member m, of the union at unionPath, may not take part
// on day `on`; it returns "" when they may. The reasons are shown to the
// member as they are.
func (e Eligibility) Check(m *Member, unionPath string, on time.Time) string {
	switch {
	case m == nil || !m.IsBound() || m.UnionID == nil:
		return "请先完成实名认证并选择所在工会"
	case m.Status == MembershipRejected:
		return "会员资格未通过审核，请修改资料后重新提交"
	case e.EligVerifiedOnly && !m.IsVerified():
		return "仅限已通过审核的会员，您的会员资格正在审核中"
	case e.EligPath != "" && !PathContains(e.EligPath, unionPath):
		return "仅限指定工会的会员参加"
	}
	if forms := e.Forms(); len(forms) > 0 && !slicesContains(forms, m.EmploymentForm) {
		labels := make([]string, len(forms))
		for i, f := range forms {
			labels[i] = f.Label()
		}
		return "仅限" + strings.Join(labels, "、") + "参加"
	}
	if e.EligGender != "" && m.Gender != e.EligGender {
		if e.EligGender == GenderFemale {
			return "仅限女职工参加"
		}
		return "仅限男职工参加"
	}
	if e.EligMinAge != nil || e.EligMaxAge != nil {
		age := m.AgeOn(on)
		if age < 0 {
			return "缺少出生日期，无法核对年龄要求"
		}
		if e.EligMinAge != nil && age < *e.EligMinAge {
			return fmt.Sprintf("年龄需满 %d 周岁", *e.EligMinAge)
		}
		if e.EligMaxAge != nil && age > *e.EligMaxAge {
			return fmt.Sprintf("年龄需在 %d 周岁以下", *e.EligMaxAge+1)
		}
	}
	return ""
}

// The GraphQL Eligibility type reads these.

func (e Eligibility) EmploymentForms() []EmploymentForm { return e.Forms() }
func (e Eligibility) MinAge() *int                      { return e.EligMinAge }
func (e Eligibility) MaxAge() *int                      { return e.EligMaxAge }
func (e Eligibility) VerifiedOnly() bool                { return e.EligVerifiedOnly }

// Gender is the required gender, or nil for any.
func (e Eligibility) Gender() *Gender {
	if e.EligGender == "" {
		return nil
	}
	g := e.EligGender
	return &g
}

// Columns are the eligibility's columns as an edit writes them: the one
// list, for every offering that embeds Eligibility.
func (e Eligibility) Columns() map[string]any {
	return map[string]any{"elig_union_id": e.EligUnionID, "elig_path": e.EligPath, "elig_forms": e.EligForms,
		"elig_gender": e.EligGender, "elig_min_age": e.EligMinAge, "elig_max_age": e.EligMaxAge,
		"elig_verified_only": e.EligVerifiedOnly}
}
