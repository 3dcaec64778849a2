package childcare

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/core"
	"unionhall/internal/page"
	"unionhall/internal/pii"
	"unionhall/internal/store"
	"unionhall/models"
)

// A child's data is a minor's personal information: it is read only by the
// child's guardians (through these functions and myChildren) and by admins
// of a programme's host union chain (through that programme's sign-ups,
// every read audited).

var ErrChildNotFound = apperr.New(apperr.NotFound, "孩子信息不存在")

const (
	// maxChildAge is the oldest a registered child may be (a minor).
	maxChildAge = 17
	// maxGuardians bounds how many members may act for one child.
	maxGuardians = 4
	// inviteTTL is how long a guardian invitation code stays valid.
	inviteTTL = 72 * time.Hour
)

// ChildInput is a child as a parent writes it. For updates, nil fields keep
// their stored values. Either the ID number (birth date and gender come from
// it) or the birth date and gender are given.
type ChildInput struct {
	Name                  *string
	IDNumber              *string
	BirthDate             *time.Time
	Gender                *models.Gender
	SchoolGrade           *string
	Allergies             *string
	HealthNotes           *string
	EmergencyContactName  *string
	EmergencyContactPhone *string
}

// RegisterChild stores a child of the calling member, who becomes its owner
// guardian. Codes: VALIDATION_FAILED (with field; a child 18 or older
// included), ALREADY_EXISTS (the ID number is registered already: ask that
// guardian for an invitation).
func (s *Service) RegisterChild(ctx context.Context, in ChildInput) (*models.Child, error) {
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Clock().Now()
	c := models.Child{OwnerID: p.ID, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := s.applyChildInput(&c, in, true); err != nil {
		return nil, err
	}
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&c).Error; err != nil {
			return store.Translate(err, "", "该孩子已由其他家长登记，请让其在小程序中邀请您成为监护人")
		}
		return tx.Create(&models.ChildGuardian{ChildID: c.ID, MemberID: p.ID, Role: models.GuardianOwner, CreatedAt: now}).Error
	})
	if err != nil {
		if ae, ok := apperr.As(err); ok && ae.Code == apperr.AlreadyExists {
			ae.Field = "idNumber"
		}
		return nil, err
	}
	return &c, nil
}

// UpdateChild changes a child the calling member is a guardian of.
// Codes: NOT_FOUND, VALIDATION_FAILED, ALREADY_EXISTS, CONFLICT.
func (s *Service) UpdateChild(ctx context.Context, id int64, version int, in ChildInput) (*models.Child, error) {
	var c models.Child
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		if err := s.guardedChild(ctx, tx, id, &c); err != nil {
			return err
		}
		if c.Version != version {
			return apperr.New(apperr.Conflict, "孩子资料已在别处修改，请刷新后重试")
		}
		if err := s.applyChildInput(&c, in, false); err != nil {
			return err
		}
		res := tx.Model(&models.Child{}).Where("id = ? AND version = ?", c.ID, version).Updates(map[string]any{
			"name": c.Name, "birth_date": c.BirthDate, "gender": c.Gender, "id_cipher": c.IDCipher, "id_hash": c.IDHash,
			"id_mask": c.IDMask, "school_grade": c.SchoolGrade, "allergies": c.Allergies, "health_notes": c.HealthNotes,
			"emergency_contact_name": c.EmergencyContactName, "emergency_contact_phone": c.EmergencyContactPhone,
			"version": gorm.Expr("version + 1"), "updated_at": s.Clock().Now(),
		})
		if res.Error != nil {
			return store.Translate(res.Error, "", "该身份证号码已登记为其他孩子")
		}
		if res.RowsAffected == 0 {
			return apperr.New(apperr.Conflict, "孩子资料已在别处修改，请刷新后重试")
		}
		return tx.Take(&c, c.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// applyChildInput validates in into c.
func (s *Service) applyChildInput(c *models.Child, in ChildInput, isNew bool) error {
	var err error
	now := s.Clock().Now()
	if in.Name != nil || isNew {
		if c.Name, err = core.CleanText("name", core.Deref(in.Name), 2, 30); err != nil {
			return err
		}
		if !core.ValidRealName(c.Name) {
			return apperr.Invalid("name", "姓名只能包含汉字、字母和间隔号")
		}
	}
	switch {
	case in.IDNumber != nil && strings.TrimSpace(*in.IDNumber) != "":
		id, err := pii.ParseIDNumber(*in.IDNumber, now)
		if err != nil {
			return err
		}
		sealed, err := s.Sealer().Seal(id.Number)
		if err != nil {
			return err
		}
		hash := s.Sealer().Hash(id.Number)
		c.IDCipher, c.IDHash, c.IDMask = sealed, &hash, pii.MaskIDNumber(id.Number)
		c.BirthDate, c.Gender = id.BirthDate, models.Gender(id.Gender)
	case in.BirthDate != nil || in.Gender != nil || isNew:
		if in.BirthDate != nil {
			c.BirthDate = core.DateOf(*in.BirthDate)
		}
		if in.Gender != nil {
			c.Gender = *in.Gender
		}
		if c.BirthDate.IsZero() {
			return apperr.Invalid("birthDate", "请填写出生日期或身份证号")
		}
		if !c.Gender.IsValid() {
			return apperr.Invalid("gender", "请选择性别")
		}
		if c.IDHash != nil && (in.BirthDate != nil || in.Gender != nil) {
			// The ID number says otherwise: drop it rather than keep two truths.
			c.IDCipher, c.IDHash, c.IDMask = nil, nil, ""
		}
	}
	if c.BirthDate.After(chinaToday(now)) {
		return apperr.Invalid("birthDate", "出生日期不能晚于今天")
	}
	if age := c.AgeOn(chinaToday(now)); age > maxChildAge {
		return apperr.Invalid("birthDate", "托管服务面向未满 18 周岁的职工子女，请核对出生日期")
	}
	for _, f := range []struct {
		field string
		in    *string
		dst   *string
		max   int
	}{
		{"schoolGrade", in.SchoolGrade, &c.SchoolGrade, 30},
		{"allergies", in.Allergies, &c.Allergies, 500},
		{"healthNotes", in.HealthNotes, &c.HealthNotes, 1000},
		{"emergencyContactName", in.EmergencyContactName, &c.EmergencyContactName, 30},
	} {
		if f.in != nil {
			if *f.dst, err = core.CleanText(f.field, *f.in, 0, f.max); err != nil {
				return err
			}
		}
	}
	if in.EmergencyContactPhone != nil {
		c.EmergencyContactPhone = ""
		if strings.TrimSpace(*in.EmergencyContactPhone) != "" {
			phone, err := pii.ValidateMobile(*in.EmergencyContactPhone)
			if err != nil {
				if ae, ok := apperr.As(err); ok {
					ae.Field = "emergencyContactPhone"
				}
				return err
			}
			c.EmergencyContactPhone = phone
		}
	}
	if (c.EmergencyContactName == "") != (c.EmergencyContactPhone == "") {
		return apperr.Invalid("emergencyContactPhone", "请同时填写紧急联系人姓名和手机号")
	}
	return nil
}

// guardedChild loads child id into c when the calling member is one of its
// guardians; anyone else gets NOT_FOUND (ids cannot be probed).
func (s *Service) guardedChild(ctx context.Context, db *gorm.DB, id int64, c *models.Child) error {
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return err
	}
	err = db.Where("id = ? AND id IN (?)", id, guardedChildIDs(db, p.ID)).Take(c).Error
	if store.IsNotFound(err) {
		return ErrChildNotFound
	}
	return err
}

// guardedChildIDs is the sub-select of the children member guards.
func guardedChildIDs(db *gorm.DB, memberID int64) *gorm.DB {
	return db.Session(&gorm.Session{NewDB: true}).Model(&models.ChildGuardian{}).Select("child_id").Where("member_id = ?", memberID)
}

// MyChildren lists the children the calling member is a guardian of, in
// registration order.
func (s *Service) MyChildren(ctx context.Context, first *int, after *string) (page.Page[*models.Child], error) {
	var empty page.Page[*models.Child]
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return empty, err
	}
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return empty, err
	}
	return core.ByIDPage[*models.Child](s.Q(ctx).Where("id IN (?)", guardedChildIDs(s.Q(ctx), p.ID)), pa, false)
}

// GuardianInvitation is a code a second guardian redeems.
type GuardianInvitation struct {
	Code      string
	ExpiresAt time.Time
}

// InviteGuardian gives the child's owner a one-time code, valid for three
// days, that lets another member (the other parent, a grandparent) become a
// guardian: they redeem it with AcceptGuardianInvite. Only a hash of the
// code is stored. Codes: NOT_FOUND, FORBIDDEN (not the owner),
// LIMIT_REACHED (guardians full).
func (s *Service) InviteGuardian(ctx context.Context, childID int64) (*GuardianInvitation, error) {
	var inv GuardianInvitation
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		var c models.Child
		if err := s.guardedChild(ctx, tx, childID, &c); err != nil {
			return err
		}
		p := auth.PrincipalFrom(ctx)
		if c.OwnerID != p.ID {
			return apperr.New(apperr.Forbidden, "只有登记孩子的家长可以邀请其他监护人")
		}
		var n int64
		if err := tx.Model(&models.ChildGuardian{}).Where("child_id = ?", c.ID).Count(&n).Error; err != nil {
			return err
		}
		if n >= maxGuardians {
			return apperr.Newf(apperr.LimitReached, "每个孩子最多 %d 位监护人", maxGuardians)
		}
		now := s.Clock().Now()
		inv = GuardianInvitation{Code: core.NewCode(16), ExpiresAt: now.Add(inviteTTL)}
		return tx.Create(&models.GuardianInvite{ChildID: c.ID, CodeHash: inviteHash(inv.Code), CreatedBy: p.ID,
			ExpiresAt: inv.ExpiresAt, CreatedAt: now}).Error
	})
	if err != nil {
		return nil, err
	}
	return &inv, nil
}

func inviteHash(code string) string {
	sum := sha256.Sum256([]byte(core.NormalizeCode(code)))
	return hex.EncodeToString(sum[:])
}

// AcceptGuardianInvite makes the calling member a guardian of the invited
// child. The member must have bound their real identity. A code works once;
// redeeming one's own child again is a retry. Codes: NOT_FOUND (unknown,
// used or expired code), NOT_ELIGIBLE (identity not bound), LIMIT_REACHED.
func (s *Service) AcceptGuardianInvite(ctx context.Context, code string) (*models.Child, error) {
	v, err := s.Viewer(ctx)
	if err != nil {
		return nil, err
	}
	if !v.Member.IsBound() {
		return nil, apperr.New(apperr.NotEligible, "请先完成实名认证，再成为孩子的监护人")
	}
	var c models.Child
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		var inv models.GuardianInvite
		if err := tx.Where("code_hash = ?", inviteHash(code)).Take(&inv).Error; err != nil {
			if store.IsNotFound(err) {
				return apperr.New(apperr.NotFound, "邀请码无效，请核对或请对方重新邀请")
			}
			return err
		}
		now := s.Clock().Now()
		if inv.RedeemedBy != nil && *inv.RedeemedBy == v.Member.ID {
			return tx.Take(&c, inv.ChildID).Error // a retry
		}
		if inv.RedeemedBy != nil || !now.Before(inv.ExpiresAt) {
			return apperr.New(apperr.NotFound, "邀请码已使用或已过期，请对方重新邀请")
		}
		res := tx.Model(&models.GuardianInvite{}).Where("id = ? AND redeemed_by IS NULL", inv.ID).
			Updates(map[string]any{"redeemed_by": v.Member.ID, "redeemed_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return apperr.New(apperr.NotFound, "邀请码已使用或已过期，请对方重新邀请")
		}
		var n int64
		if err := tx.Model(&models.ChildGuardian{}).Where("child_id = ?", inv.ChildID).Count(&n).Error; err != nil {
			return err
		}
		if n >= maxGuardians {
			return apperr.Newf(apperr.LimitReached, "每个孩子最多 %d 位监护人", maxGuardians)
		}
		err := tx.Create(&models.ChildGuardian{ChildID: inv.ChildID, MemberID: v.Member.ID, Role: models.GuardianInvited, CreatedAt: now}).Error
		if err != nil && !store.IsDuplicate(err) { // a guardian already: the code is spent, nothing else changes
			return err
		}
		return tx.Take(&c, inv.ChildID).Error
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ChildrenByIDs loads children for a dataloader: a sign-up's child. The
// caller could see the sign-up, so they may see its child.
func (s *Service) ChildrenByIDs(ctx context.Context, ids []int64) ([]*models.Child, error) {
	var rows []*models.Child
	if err := s.Q(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	return core.ByIDs(ids, rows, func(c *models.Child) int64 { return c.ID }), nil
}

// MyGuardianRolesByChildIDs loads the calling member's role for each child
// (nil where they are no guardian), for a dataloader.
func (s *Service) MyGuardianRolesByChildIDs(ctx context.Context, ids []int64) ([]*models.GuardianRole, error) {
	out := make([]*models.GuardianRole, len(ids))
	p := auth.PrincipalFrom(ctx)
	if !p.IsMember() {
		return out, nil
	}
	var rows []models.ChildGuardian
	if err := s.Q(ctx).Where("member_id = ? AND child_id IN ?", p.ID, ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	by := map[int64]models.GuardianRole{}
	for _, r := range rows {
		by[r.ChildID] = r.Role
	}
	for i, id := range ids {
		if r, ok := by[id]; ok {
			out[i] = &r
		}
	}
	return out, nil
}

// RevealChildIDNumber opens the child's ID number for a guardian (isGuardian
// from the loader); anyone else gets the mask.
func (s *Service) RevealChildIDNumber(c *models.Child, isGuardian bool) (string, error) {
	if isGuardian && len(c.IDCipher) > 0 {
		return s.Sealer().Open(c.IDCipher)
	}
	return c.IDMask, nil
}

// RevealChildPhone shows the emergency phone to a guardian, masked to
// anyone else.
func RevealChildPhone(c *models.Child, isGuardian bool) string {
	if isGuardian {
		return c.EmergencyContactPhone
	}
	return pii.MaskPhone(c.EmergencyContactPhone)
}
