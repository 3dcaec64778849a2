package members

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/core"
	"unionhall/internal/page"
	"unionhall/internal/pii"
	"unionhall/internal/store"
	"unionhall/models"
)

var errMemberNotFound = apperr.New(apperr.NotFound, "会员不存在")

// Me returns the calling member. Codes: UNAUTHENTICATED, FORBIDDEN.
func (s *Service) Me(ctx context.Context) (*models.Member, error) {
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	var m models.Member
	if err := s.Q(ctx).Take(&m, p.ID).Error; err != nil {
		if store.IsNotFound(err) {
			return nil, core.ErrSessionEnded
		}
		return nil, err
	}
	return &m, nil
}

// BindProfileInput is a member's real identity.
type BindProfileInput struct {
	RealName       string
	IDNumber       string
	Phone          string
	EmploymentForm models.EmploymentForm
	Occupation     string
	UnionID        int64
}

// BindProfile validates and stores the member's identity; birth date and
// gender come from the ID number. The status becomes PENDING, or VERIFIED
// when the union's roster lists the same name and ID number. A verified
// member who changes name, ID number or union goes back to review.
// Codes: VALIDATION_FAILED (with field), ALREADY_EXISTS (ID number bound to
// another account), CONFLICT (changed concurrently).
func (s *Service) BindProfile(ctx context.Context, in BindProfileInput) (*models.Member, error) {
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Clock().Now()
	name, err := core.CleanText("realName", in.RealName, 2, 30)
	if err != nil {
		return nil, err
	}
	if !core.ValidRealName(name) {
		return nil, apperr.Invalid("realName", "姓名只能包含汉字、字母和间隔号")
	}
	id, err := pii.ParseIDNumber(in.IDNumber, now)
	if err != nil {
		return nil, err
	}
	phone, err := pii.ValidateMobile(in.Phone)
	if err != nil {
		return nil, err
	}
	if !in.EmploymentForm.IsValid() {
		return nil, apperr.Invalid("employmentForm", "就业形态不正确")
	}
	occupation, err := core.CleanText("occupation", in.Occupation, 0, 50)
	if err != nil {
		return nil, err
	}
	sealed, err := s.Sealer().Seal(id.Number)
	if err != nil {
		return nil, err
	}
	idHash := s.Sealer().Hash(id.Number)

	var m models.Member
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		var u models.Union
		if err := tx.Take(&u, in.UnionID).Error; err != nil {
			if store.IsNotFound(err) {
				return apperr.Invalid("unionId", "所选工会不存在")
			}
			return err
		}
		if err := tx.Take(&m, p.ID).Error; err != nil {
			return err
		}
		identityChanged := m.RealName != name || m.IDHash == nil || *m.IDHash != idHash ||
			m.UnionID == nil || *m.UnionID != u.ID
		status, verifiedAt, verifiedBy := m.Status, m.VerifiedAt, m.VerifiedBy
		if identityChanged || !m.IsVerified() {
			status, verifiedAt, verifiedBy = models.MembershipPending, nil, nil
			var hits int64
			if err := tx.Model(&models.RosterEntry{}).
				Where("union_id = ? AND id_hash = ? AND real_name = ?", u.ID, idHash, name).
				Count(&hits).Error; err != nil {
				return err
			}
			if hits > 0 {
				status, verifiedAt = models.MembershipVerified, &now
			}
		}
		birth := id.BirthDate
		updates := map[string]any{
			"real_name": name, "id_cipher": sealed, "id_hash": idHash, "id_mask": pii.MaskIDNumber(id.Number),
			"phone": phone, "birth_date": birth, "gender": id.Gender, "employment_form": in.EmploymentForm,
			"occupation": occupation, "union_id": u.ID, "status": status, "reject_reason": "",
			"verified_at": verifiedAt, "verified_by": verifiedBy, "bound_at": now, "updated_at": now,
			"version": gorm.Expr("version + 1"),
		}
		res := tx.Model(&models.Member{}).Where("id = ? AND version = ?", m.ID, m.Version).Updates(updates)
		if res.Error != nil {
			return store.Translate(res.Error, "", "该身份证号码已绑定其他账号")
		}
		if res.RowsAffected == 0 {
			return apperr.New(apperr.Conflict, "资料已在别处修改，请刷新后重试")
		}
		return tx.Take(&m, m.ID).Error
	})
	if err != nil {
		if ae, ok := apperr.As(err); ok && ae.Code == apperr.AlreadyExists {
			ae.Field = "idNumber"
		}
		return nil, err
	}
	return &m, nil
}

// MemberFilter narrows an admin's member list.
type MemberFilter struct {
	UnionID        *int64
	Status         *models.MembershipStatus
	EmploymentForm *models.EmploymentForm
	Name           string
}

// ListMembers pages through the members of the caller's subtree (or of a
// union in it), newest first. The read is audited.
// Codes: FORBIDDEN (union outside scope), VALIDATION_FAILED.
func (s *Service) ListMembers(ctx context.Context, f MemberFilter, first *int, after *string) (page.Page[*models.Member], error) {
	var empty page.Page[*models.Member]
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return empty, err
	}
	name, err := core.CleanText("name", f.Name, 0, 30)
	if err != nil {
		return empty, err
	}
	var rows []*models.Member
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		root, err := s.UnionOrRoot(tx, sc, f.UnionID)
		if err != nil {
			return err
		}
		q := tx.Model(&models.Member{}).Where("union_id IN (?)", core.SubtreeUnionIDs(tx, root.Path))
		if f.Status != nil {
			q = q.Where("status = ?", *f.Status)
		}
		if f.EmploymentForm != nil {
			q = q.Where("employment_form = ?", *f.EmploymentForm)
		}
		if name != "" {
			q = q.Where("real_name LIKE ? ESCAPE '!'", core.EscapeLike(name)+"%")
		}
		if pa.HasKey {
			q = q.Where("id < ?", pa.Key.ID)
		}
		if err := q.Order("id DESC").Limit(pa.Size + 1).Find(&rows).Error; err != nil {
			return err
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "MEMBER_LIST", "union", &root.ID, &root.ID,
			fmt.Sprintf("rows=%d", min(len(rows), pa.Size)))
	})
	if err != nil {
		return empty, err
	}
	return page.Trim(rows, pa.Size), nil
}

// GetMember returns a member of the caller's subtree; the read is audited.
// Members with no union yet are visible to super admins only.
// Codes: NOT_FOUND, FORBIDDEN.
func (s *Service) GetMember(ctx context.Context, id int64) (*models.Member, error) {
	var m models.Member
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.loadMemberInScope(tx, sc, id, &m); err != nil {
			return err
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "MEMBER_READ", "member", &m.ID, m.UnionID, "")
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// loadMemberInScope loads member id into m and checks the scope. A member
// outside the scope is FORBIDDEN, the same whether or not it exists
// elsewhere, so ids cannot be probed.
func (s *Service) loadMemberInScope(tx *gorm.DB, sc *core.Scope, id int64, m *models.Member) error {
	if err := tx.Take(m, id).Error; err != nil {
		if store.IsNotFound(err) {
			if sc.Admin.IsSuperAdmin() {
				return errMemberNotFound
			}
			return core.ErrOutOfScope
		}
		return err
	}
	if m.UnionID == nil {
		if sc.Admin.IsSuperAdmin() {
			return nil
		}
		return core.ErrOutOfScope
	}
	var u models.Union
	if err := tx.Take(&u, *m.UnionID).Error; err != nil {
		return err
	}
	if !sc.Covers(&u) {
		return core.ErrOutOfScope
	}
	return nil
}

// VerifyMember marks a bound member VERIFIED. Idempotent.
// Codes: FORBIDDEN, NOT_FOUND, VALIDATION_FAILED (not bound), CONFLICT.
func (s *Service) VerifyMember(ctx context.Context, id int64) (*models.Member, error) {
	return s.reviewMember(ctx, id, models.MembershipVerified, "")
}

// RejectMember marks a bound member REJECTED with a reason the member sees.
// Codes: FORBIDDEN, NOT_FOUND, VALIDATION_FAILED, CONFLICT.
func (s *Service) RejectMember(ctx context.Context, id int64, reason string) (*models.Member, error) {
	reason, err := core.CleanText("reason", reason, 2, 200)
	if err != nil {
		return nil, err
	}
	return s.reviewMember(ctx, id, models.MembershipRejected, reason)
}

func (s *Service) reviewMember(ctx context.Context, id int64, to models.MembershipStatus, reason string) (*models.Member, error) {
	var m models.Member
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.loadMemberInScope(tx, sc, id, &m); err != nil {
			return err
		}
		if !m.IsBound() {
			return apperr.Invalid("memberId", "该会员尚未绑定身份信息，无法审核")
		}
		if m.Status == to && m.RejectReason == reason {
			return nil // a retry: already done
		}
		now := s.Clock().Now()
		adminID := sc.Admin.ID
		updates := map[string]any{"status": to, "reject_reason": reason, "updated_at": now,
			"version": gorm.Expr("version + 1")}
		if to == models.MembershipVerified {
			updates["verified_at"], updates["verified_by"] = now, adminID
		} else {
			updates["verified_at"], updates["verified_by"] = nil, nil
		}
		res := tx.Model(&models.Member{}).Where("id = ? AND version = ?", m.ID, m.Version).Updates(updates)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return apperr.New(apperr.Conflict, "该会员资料刚被修改，请刷新后重试")
		}
		action := "MEMBER_VERIFY"
		if to == models.MembershipRejected {
			action = "MEMBER_REJECT"
		}
		if err := s.Audit(ctx, tx, adminID, action, "member", &m.ID, m.UnionID, ""); err != nil {
			return err
		}
		return tx.Take(&m, m.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// RevealIDNumber opens the member's sealed ID number for the member
// themself; anyone else gets the mask.
func (s *Service) RevealIDNumber(ctx context.Context, m *models.Member) (string, error) {
	if !m.IsBound() {
		return "", nil
	}
	if p := auth.PrincipalFrom(ctx); p.IsMember() && p.ID == m.ID && len(m.IDCipher) > 0 {
		return s.Sealer().Open(m.IDCipher)
	}
	return m.IDMask, nil
}

// RevealPhone shows the phone to the member themself, masked to anyone else.
func RevealPhone(ctx context.Context, m *models.Member) string {
	if p := auth.PrincipalFrom(ctx); p.IsMember() && p.ID == m.ID {
		return m.Phone
	}
	return pii.MaskPhone(m.Phone)
}

// IsSelf reports whether the caller is member m.
func IsSelf(ctx context.Context, m *models.Member) bool {
	p := auth.PrincipalFrom(ctx)
	return p.IsMember() && p.ID == m.ID
}

// MembersByIDs loads members for a dataloader (a booking's member).
func (s *Service) MembersByIDs(ctx context.Context, ids []int64) ([]*models.Member, error) {
	var rows []*models.Member
	if err := s.Q(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	return core.ByIDs(ids, rows, func(m *models.Member) int64 { return m.ID }), nil
}
