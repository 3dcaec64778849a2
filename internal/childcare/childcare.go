package childcare

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/clock"
	"unionhall/internal/core"
	"unionhall/internal/page"
	"unionhall/internal/seats"
	"unionhall/models"
)

// childcareSeats is where programmes keep their places. Sign-ups store
// ADMITTED for a place, which is what parents and admins read.
// A promotion passes over a child admitted meanwhile to an overlapping
// programme (childcare_overlap.go).
var childcareSeats = seats.Spec{Pools: "childcare_programs", Holds: "child_sign_ups", PoolFK: "program_id",
	ConfirmedStatus: string(models.ChildSignUpAdmitted), WaitlistedStatus: string(models.ChildSignUpWaitlisted),
	Promotable: childcarePromotable, HolderFK: "child_id"}

var errProgramNotFound = apperr.New(apperr.NotFound, "托管项目不存在或已下架")

// maxProgramDays bounds a programme's length (a summer holiday is ~60 days).
const maxProgramDays = 92

// ProgramInput is a childcare programme as an admin writes it. For updates,
// nil fields keep their stored values.
type ProgramInput struct {
	UnionID                 *int64 // create only: the host union
	Title                   *string
	Description             *string
	Place                   *string
	StartsOn, EndsOn        *time.Time // dates
	DailyStart, DailyEnd    *string    // HH:MM
	ChildMinAge             *int
	ChildMaxAge             *int
	Capacity                *int
	WaitlistLimit           *int
	SignUpOpensAt           *time.Time
	SignUpClosesAt          *time.Time
	AdmissionMode           *models.AdmissionMode
	PriorityForms           []models.EmploymentForm // nil: unchanged
	PriorityDoubleWorker    *bool
	RequireEmergencyContact *bool
	RequireHealthNotes      *bool
	Eligibility             *core.EligibilityInput
}

// CreateChildcareProgram stores a new programme as a DRAFT hosted by a union
// of the caller's scope. Codes: VALIDATION_FAILED (with field), FORBIDDEN.
func (s *Service) CreateChildcareProgram(ctx context.Context, in ProgramInput) (*models.ChildcareProgram, error) {
	var p models.ChildcareProgram
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		host, err := s.UnionOrRoot(tx, sc, in.UnionID)
		if err != nil {
			return err
		}
		now := s.Clock().Now()
		p = models.ChildcareProgram{UnionID: host.ID, Status: models.OfferingDraft, Version: 1, LotterySeed: core.NewSeed(),
			CreatedBy: sc.Admin.ID, CreatedAt: now, UpdatedAt: now}
		if err := s.applyProgramInput(tx, sc, host, &p, in, true); err != nil {
			return err
		}
		return tx.Create(&p).Error
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// UpdateChildcareProgram changes a programme of the caller's scope; version
// must be the one the edit started from. The admission mode is fixed once
// published; the capacity never drops below the children admitted (a
// larger one admits from the waitlist at once); new dates or hours may not
// make an admitted child's places overlap. Codes: VALIDATION_FAILED,
// FORBIDDEN, CONFLICT (stale version, cancelled, already allocated, or an
// admitted child would hold overlapping places).
func (s *Service) UpdateChildcareProgram(ctx context.Context, id int64, version int, in ProgramInput) (*models.ChildcareProgram, error) {
	var p models.ChildcareProgram
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		host, err := s.lockProgram(tx, sc, id, &p)
		if err != nil {
			return err
		}
		if p.Version != version {
			return apperr.New(apperr.Conflict, "托管项目已被他人修改，请刷新后重试")
		}
		if p.Status == models.OfferingCancelled || p.Status == models.OfferingClosed {
			return apperr.New(apperr.Conflict, "已截止或已取消的项目不能再修改")
		}
		if in.AdmissionMode != nil && *in.AdmissionMode != p.AdmissionMode && p.Status != models.OfferingDraft {
			return apperr.Invalid("admissionMode", "项目发布后不能更改录取方式")
		}
		allocated := p.AllocatedAt != nil
		oldCapacity, oldWaitlist, oldWhen := p.Capacity, p.WaitlistLimit, p
		if err := s.applyProgramInput(tx, sc, host, &p, in, false); err != nil {
			return err
		}
		if allocated && (in.SignUpOpensAt != nil || in.SignUpClosesAt != nil || in.ChildMinAge != nil || in.ChildMaxAge != nil ||
			in.PriorityForms != nil || in.PriorityDoubleWorker != nil || in.Eligibility != nil) {
			return apperr.New(apperr.Conflict, "已完成录取，报名时间、年龄和优先条件不能再修改")
		}
		if p.StartsOn != oldWhen.StartsOn || p.EndsOn != oldWhen.EndsOn || p.DailyStart != oldWhen.DailyStart || p.DailyEnd != oldWhen.DailyEnd {
			if err := admittedStayFree(tx, &p); err != nil {
				return err
			}
		}
		now := s.Clock().Now()
		err = core.SaveVersioned(tx, &models.ChildcareProgram{}, p.ID, version, now, core.WithColumns(map[string]any{
			"title": p.Title, "description": p.Description, "place": p.Place, "starts_on": p.StartsOn, "ends_on": p.EndsOn,
			"daily_start": p.DailyStart, "daily_end": p.DailyEnd, "child_min_age": p.ChildMinAge, "child_max_age": p.ChildMaxAge,
			"sign_up_opens_at": p.SignUpOpensAt, "sign_up_closes_at": p.SignUpClosesAt, "admission_mode": p.AdmissionMode,
			"priority_forms": p.PriorityForms, "priority_double_worker": p.PriorityDoubleWorker,
			"require_emergency_contact": p.RequireEmergencyContact, "require_health_notes": p.RequireHealthNotes,
		}, p.Eligibility.Columns()), apperr.New(apperr.Conflict, "托管项目已被他人修改，请刷新后重试"))
		if err != nil {
			return err
		}
		// After the new dates are stored: a promotion checks against them.
		if err := core.ResizePool(tx, childcareSeats, p.ID, oldCapacity, oldWaitlist, p.Capacity, p.WaitlistLimit, p.WaitlistCount, "waitlistLimit", now); err != nil {
			return err
		}
		return tx.Take(&p, p.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// applyProgramInput validates in against p (stored, or new) and writes the
// result into p.
func (s *Service) applyProgramInput(tx *gorm.DB, sc *core.Scope, host *models.Union, p *models.ChildcareProgram, in ProgramInput, isNew bool) error {
	var err error
	if in.Title != nil || isNew {
		if p.Title, err = core.CleanText("title", core.Deref(in.Title), 2, 100); err != nil {
			return err
		}
	}
	if in.Description != nil {
		if p.Description, err = core.CleanText("description", *in.Description, 0, 5000); err != nil {
			return err
		}
	}
	if in.Place != nil || isNew {
		if p.Place, err = core.CleanText("place", core.Deref(in.Place), 2, 200); err != nil {
			return err
		}
	}
	if in.StartsOn != nil {
		p.StartsOn = core.DateOf(*in.StartsOn)
	}
	if in.EndsOn != nil {
		p.EndsOn = core.DateOf(*in.EndsOn)
	}
	if isNew && (in.StartsOn == nil || in.EndsOn == nil) {
		return apperr.Invalid("startsOn", "请填写托管开始和结束日期")
	}
	switch {
	case p.EndsOn.Before(p.StartsOn):
		return apperr.Invalid("endsOn", "结束日期不能早于开始日期")
	case p.EndsOn.Sub(p.StartsOn) >= maxProgramDays*24*time.Hour:
		return apperr.Invalid("endsOn", fmt.Sprintf("一期托管最长 %d 天", maxProgramDays))
	}
	if in.DailyStart != nil || isNew {
		if p.DailyStart, err = clockTime("dailyStart", core.Deref(in.DailyStart)); err != nil {
			return err
		}
	}
	if in.DailyEnd != nil || isNew {
		if p.DailyEnd, err = clockTime("dailyEnd", core.Deref(in.DailyEnd)); err != nil {
			return err
		}
	}
	if p.DailyEnd <= p.DailyStart { // HH:MM strings order as times
		return apperr.Invalid("dailyEnd", "每日结束时间应晚于开始时间")
	}
	if in.ChildMinAge != nil || isNew {
		p.ChildMinAge = core.Deref(in.ChildMinAge)
	}
	if in.ChildMaxAge != nil || isNew {
		p.ChildMaxAge = core.Deref(in.ChildMaxAge)
	}
	switch {
	case p.ChildMinAge < 0 || p.ChildMinAge > maxChildAge:
		return apperr.Invalid("childMinAge", fmt.Sprintf("年龄应在 0 到 %d 周岁之间", maxChildAge))
	case p.ChildMaxAge < 0 || p.ChildMaxAge > maxChildAge:
		return apperr.Invalid("childMaxAge", fmt.Sprintf("年龄应在 0 到 %d 周岁之间", maxChildAge))
	case p.ChildMaxAge < p.ChildMinAge:
		return apperr.Invalid("childMaxAge", "最大年龄不能小于最小年龄")
	}
	if in.Capacity != nil || isNew {
		if p.Capacity = core.Deref(in.Capacity); p.Capacity < 1 || p.Capacity > 10000 {
			return apperr.Invalid("capacity", "名额应在 1 到 10000 之间")
		}
	}
	if in.WaitlistLimit != nil {
		if p.WaitlistLimit = *in.WaitlistLimit; p.WaitlistLimit < 0 || p.WaitlistLimit > 10000 {
			return apperr.Invalid("waitlistLimit", "候补人数应在 0 到 10000 之间")
		}
	}
	if in.SignUpOpensAt != nil {
		p.SignUpOpensAt = *in.SignUpOpensAt
	}
	if in.SignUpClosesAt != nil {
		p.SignUpClosesAt = *in.SignUpClosesAt
	}
	if isNew && (in.SignUpOpensAt == nil || in.SignUpClosesAt == nil) {
		return apperr.Invalid("signUpOpensAt", "请填写报名开始和截止时间")
	}
	windowChanged := in.SignUpOpensAt != nil || in.SignUpClosesAt != nil
	firstDay := time.Date(p.StartsOn.Year(), p.StartsOn.Month(), p.StartsOn.Day(), 0, 0, 0, 0, clock.China)
	switch {
	case !p.SignUpOpensAt.Before(p.SignUpClosesAt):
		return apperr.Invalid("signUpClosesAt", "报名截止时间应晚于开始时间")
	case (isNew || windowChanged) && !p.SignUpClosesAt.After(s.Clock().Now()):
		return apperr.Invalid("signUpClosesAt", "报名截止时间已过，请重新选择")
	case p.SignUpClosesAt.After(firstDay):
		return apperr.Invalid("signUpClosesAt", "报名应在托管首日之前截止")
	}
	if in.AdmissionMode != nil || isNew {
		if in.AdmissionMode == nil || !in.AdmissionMode.IsValid() {
			return apperr.Invalid("admissionMode", "请选择录取方式")
		}
		p.AdmissionMode = *in.AdmissionMode
	}
	if in.PriorityForms != nil {
		var forms []models.EmploymentForm
		for _, f := range in.PriorityForms {
			if !f.IsValid() {
				return apperr.Invalid("priorityEmploymentForms", "就业形态不正确")
			}
			if !slices.Contains(forms, f) {
				forms = append(forms, f)
			}
		}
		p.PriorityForms = models.JoinForms(forms)
	}
	if in.PriorityDoubleWorker != nil {
		p.PriorityDoubleWorker = *in.PriorityDoubleWorker
	}
	if in.RequireEmergencyContact != nil {
		p.RequireEmergencyContact = *in.RequireEmergencyContact
	}
	if in.RequireHealthNotes != nil {
		p.RequireHealthNotes = *in.RequireHealthNotes
	}
	if in.Eligibility != nil || isNew {
		if p.Eligibility, err = s.Eligibility(tx, sc, host, in.Eligibility); err != nil {
			return err
		}
	}
	return nil
}

// clockTime accepts a time of day as HH:MM.
func clockTime(field, s string) (string, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return "", apperr.Invalid(field, "时间格式应为 时:分，如 08:00")
	}
	return t.Format("15:04"), nil
}

// programDayHours is when programme p runs on day (a date): its daily
// hours, China time.
func programDayHours(p *models.ChildcareProgram, day time.Time) (start, end time.Time) {
	at := func(hhmm string) time.Time {
		t, _ := time.Parse("15:04", hhmm) // stored by clockTime
		return time.Date(day.Year(), day.Month(), day.Day(), t.Hour(), t.Minute(), 0, 0, clock.China)
	}
	return at(p.DailyStart), at(p.DailyEnd)
}

// chinaToday is the calendar date in China at t.
func chinaToday(t time.Time) time.Time { return clock.Today(t) }

// programInScope loads programme id into p and checks that its host union
// is in the caller's scope; it returns that union. lockedRead makes the
// read current on MySQL (after seats.Lock).
func (s *Service) programInScope(tx *gorm.DB, sc *core.Scope, id int64, p *models.ChildcareProgram, lockedRead bool) (*models.Union, error) {
	return core.OfferingInScope(tx, sc, id, p, func(p *models.ChildcareProgram) int64 { return p.UnionID }, errProgramNotFound, lockedRead)
}

// lockProgram takes programme id's seat lock, then loads it current into p
// and checks the scope.
func (s *Service) lockProgram(tx *gorm.DB, sc *core.Scope, id int64, p *models.ChildcareProgram) (*models.Union, error) {
	if ok, err := seats.Lock(tx, childcareSeats, id); err != nil || !ok {
		if err == nil {
			err = core.OutOfScope(sc, errProgramNotFound)
		}
		return nil, err
	}
	return s.programInScope(tx, sc, id, p, true)
}

// PublishChildcareProgram opens a draft to parents. Idempotent.
// Codes: FORBIDDEN, CONFLICT.
func (s *Service) PublishChildcareProgram(ctx context.Context, id int64) (*models.ChildcareProgram, error) {
	return s.moveProgram(ctx, id, models.OfferingPublished, "")
}

// CancelChildcareProgram calls a programme off: every active sign-up is
// cancelled with the reason, which parents see. Idempotent.
// Codes: VALIDATION_FAILED (reason), FORBIDDEN, CONFLICT.
func (s *Service) CancelChildcareProgram(ctx context.Context, id int64, reason string) (*models.ChildcareProgram, error) {
	reason, err := core.CleanText("reason", reason, 2, 150)
	if err != nil {
		return nil, err
	}
	return s.moveProgram(ctx, id, models.OfferingCancelled, reason)
}

func (s *Service) moveProgram(ctx context.Context, id int64, to models.OfferingStatus, reason string) (*models.ChildcareProgram, error) {
	var p models.ChildcareProgram
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := s.lockProgram(tx, sc, id, &p); err != nil {
			return err
		}
		now := s.Clock().Now()
		moved, err := core.StatusMove{Model: &models.ChildcareProgram{}, ID: p.ID, From: p.Status, To: to, Now: now, Noun: "项目",
			Prepare: func(updates map[string]any) error {
				if to != models.OfferingCancelled {
					return nil
				}
				updates["cancel_reason"] = reason
				if err := tx.Model(&models.ChildSignUp{}).
					Where("program_id = ? AND active = ?", p.ID, true).
					Updates(map[string]any{"status": models.ChildSignUpCancelled, "active": nil, "ended_at": now,
						"reject_reason": "项目已取消：" + reason, "updated_at": now}).Error; err != nil {
					return err
				}
				return seats.Clear(tx, childcareSeats, p.ID)
			}}.Apply(tx)
		if err != nil || !moved {
			return err
		}
		return tx.Take(&p, p.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// ProgramFilter narrows a programme list.
type ProgramFilter struct {
	Upcoming bool
	UnionID  *int64                 // admins
	Status   *models.OfferingStatus // admins
}

// programKey orders programme lists: soonest first, then id.
type programKey struct {
	T time.Time `json:"t"`
	I int64     `json:"i"`
}

// ProgramCursor is a programme's cursor in a list.
func ProgramCursor(p *models.ChildcareProgram) any { return programKey{T: p.StartsOn, I: p.ID} }

// ListChildcarePrograms lists programmes soonest first: for parents, those
// published to their union's chain; for admins, those of their subtree.
// Codes: VALIDATION_FAILED, FORBIDDEN.
func (s *Service) ListChildcarePrograms(ctx context.Context, f ProgramFilter, first *int, after *string) (page.Page[*models.ChildcareProgram], error) {
	var empty page.Page[*models.ChildcareProgram]
	if _, err := auth.Require(ctx); err != nil {
		return empty, err
	}
	pa, err := page.Parse[programKey](first, after)
	if err != nil {
		return empty, err
	}
	var rows []*models.ChildcareProgram
	err = s.ReadLagged(ctx, func(db *gorm.DB) error { // a list: a replica's lag is fine
		q, none, err := s.VisibleOfferings(ctx, db.Model(&models.ChildcareProgram{}), f.UnionID, f.Status)
		if err != nil || none {
			return err
		}
		if f.Upcoming {
			q = q.Where("starts_on >= ?", chinaToday(s.Clock().Now()))
		}
		if pa.HasKey {
			q = q.Where("starts_on > ? OR (starts_on = ? AND id > ?)", pa.Key.T, pa.Key.T, pa.Key.I)
		}
		return q.Order("starts_on, id").Limit(pa.Size + 1).Find(&rows).Error
	})
	if err != nil {
		return empty, err
	}
	return page.Trim(rows, pa.Size), nil
}

// GetChildcareProgram returns a programme the caller may see (parents: one
// published to their chain, NOT_FOUND otherwise; admins: their subtree's,
// FORBIDDEN otherwise).
func (s *Service) GetChildcareProgram(ctx context.Context, id int64) (*models.ChildcareProgram, error) {
	var p models.ChildcareProgram
	if err := core.GetOffering(ctx, s.Core, id, &p, func(p *models.ChildcareProgram) int64 { return p.UnionID },
		func(p *models.ChildcareProgram) bool { return !p.IsVisibleToMembers() }, errProgramNotFound); err != nil {
		return nil, err
	}
	return &p, nil
}

// ProgramsByIDs loads programmes for a dataloader (a sign-up's programme;
// whoever sees the sign-up may see its programme).
func (s *Service) ProgramsByIDs(ctx context.Context, ids []int64) ([]*models.ChildcareProgram, error) {
	var rows []*models.ChildcareProgram
	if err := s.Q(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	return core.ByIDs(ids, rows, func(p *models.ChildcareProgram) int64 { return p.ID }), nil
}
