package childcare

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/clock"
	"unionhall/internal/core"
	"unionhall/internal/page"
	"unionhall/internal/seats"
	"unionhall/internal/store"
	"unionhall/models"
)

var errSignUpNotFound = apperr.New(apperr.NotFound, "报名记录不存在")

// SignUpChild signs a child of the calling member up for a programme.
// FIRST_COME gives ADMITTED while places last, then WAITLISTED (the seat
// mechanism); PRIORITY and LOTTERY give PENDING until the allocation at
// close. A child has one active sign-up per programme; a retry returns it.
// doubleWorker is the parent's declaration that both parents work (a
// priority group where the programme says so).
// A child admitted to a programme whose days and daily hours overlap this
// one's may not sign up (a pending or waitlisted sign-up there is no bar;
// the admission paths check again).
// Codes: NOT_FOUND (programme or child), WINDOW_CLOSED, NOT_ELIGIBLE (with
// the reason: the child's age, the parent's union or form, missing
// information), FULL, CONFLICT (admitted to an overlapping programme,
// naming it).
func (s *Service) SignUpChild(ctx context.Context, programID, childID int64, doubleWorker bool) (*models.ChildSignUp, error) {
	v, err := s.Viewer(ctx)
	if err != nil {
		return nil, err
	}
	var c models.Child
	if err := s.guardedChild(ctx, s.Q(ctx), childID, &c); err != nil {
		return nil, err
	}
	var p models.ChildcareProgram
	if err := s.Q(ctx).Take(&p, programID).Error; err != nil {
		return nil, store.Translate(err, errProgramNotFound.Message, "")
	}
	now := s.Clock().Now()
	rank := 1
	if slices.Contains(p.PriorityEmploymentForms(), v.Member.EmploymentForm) || (p.PriorityDoubleWorker && doubleWorker) {
		rank = 0
	}
	newSignUp := func(status models.ChildSignUpStatus, waitSeq *int64) *models.ChildSignUp {
		active := true
		return &models.ChildSignUp{ProgramID: p.ID, ChildID: c.ID, MemberID: v.Member.ID, Status: status,
			Active: &active, WaitSeq: waitSeq, PriorityRank: rank, DoubleWorker: doubleWorker, CreatedAt: now, UpdatedAt: now}
	}
	if p.AdmissionMode == models.AdmissionFirstCome {
		// The shared seat rush (coalesced under load), with the child as
		// the holder and the overlap rule under the programme's lock.
		return core.SeatRush[models.ChildSignUp]{
			Spec: childcareSeats, PoolID: p.ID, Holder: c.ID,
			Open: seats.Open{
				SQL:  "status = ? AND admission_mode = ? AND sign_up_opens_at <= ? AND sign_up_closes_at > ?",
				Args: []any{models.OfferingPublished, models.AdmissionFirstCome, now, now},
			},
			Cached: func() error { return s.canSignUp(v, &p, &c, now) }, // p was read just now
			Fresh: func() (*models.ChildSignUp, error) {
				if mine, err := s.activeSignUp(s.Q(ctx), p.ID, c.ID); err != nil || mine != nil {
					return mine, err // a retry
				}
				var cur models.ChildcareProgram
				if err := s.Q(ctx).Take(&cur, p.ID).Error; err != nil {
					return nil, store.Translate(err, errProgramNotFound.Message, "")
				}
				return nil, s.canSignUp(v, &cur, &c, now)
			},
			Check: func(tx *gorm.DB) error {
				var cur models.ChildcareProgram
				if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&cur, p.ID).Error; err != nil {
					return err
				}
				return checkChildFree(tx, &cur, &c)
			},
			Hold: func(g seats.Grant) *models.ChildSignUp {
				return newSignUp(models.ChildSignUpStatus(g.Status), g.WaitSeq)
			},
		}.Take(ctx, s.Core)
	}
	if mine, err := s.activeSignUp(s.Q(ctx), p.ID, c.ID); err != nil || mine != nil {
		return mine, err // a retry
	}
	if err := s.canSignUp(v, &p, &c, now); err != nil {
		return nil, err
	}
	su := newSignUp(models.ChildSignUpPending, nil)
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		// The allocation takes this lock too, so a sign-up lands either
		// before the run (and takes part) or after (refused).
		if _, err := seats.Lock(tx, childcareSeats, p.ID); err != nil {
			return err
		}
		// The programme as it is now (its row is locked), then the child:
		// one admitted place at any hour.
		var cur models.ChildcareProgram
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&cur, p.ID).Error; err != nil {
			return err
		}
		if err := signUpWindow(&cur, now); err != nil {
			return err
		}
		if err := checkChildFree(tx, &cur, &c); err != nil {
			return err
		}
		if err := tx.Create(su).Error; err != nil {
			if store.IsDuplicate(err) {
				return core.ErrRaced // the child is signed up already
			}
			return err
		}
		return nil
	})
	if errors.Is(err, core.ErrRaced) {
		mine, ferr := s.activeSignUp(s.Q(ctx), p.ID, c.ID)
		if ferr != nil || mine != nil {
			return mine, ferr
		}
		return nil, apperr.New(apperr.Conflict, "报名状态刚有变化，请刷新后重试")
	}
	if err != nil {
		return nil, err
	}
	return su, nil
}

// activeSignUp is the child's active sign-up of the programme, or nil.
func (s *Service) activeSignUp(db *gorm.DB, programID, childID int64) (*models.ChildSignUp, error) {
	var rows []*models.ChildSignUp
	if err := db.Where("program_id = ? AND child_id = ? AND active = ?", programID, childID, true).Limit(1).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return rows[0], nil
}

// signUpWindow is the programme's own condition for a sign-up now.
// Codes: WINDOW_CLOSED.
func signUpWindow(p *models.ChildcareProgram, now time.Time) error {
	switch {
	case p.Status == models.OfferingCancelled:
		return apperr.New(apperr.WindowClosed, "托管项目已取消")
	case p.AllocatedAt != nil:
		return apperr.New(apperr.WindowClosed, "已完成录取，报名已截止")
	case p.Status == models.OfferingClosed, !now.Before(p.SignUpClosesAt):
		return apperr.New(apperr.WindowClosed, "报名已截止")
	case now.Before(p.SignUpOpensAt):
		return apperr.Newf(apperr.WindowClosed, "报名尚未开始，将于 %s 开放", clock.Minutes(p.SignUpOpensAt))
	}
	return nil
}

// canSignUp is the sign-up rule: the programme is visible to the parent and
// open; the parent is eligible; the child's age on the first day is in the
// range; what the programme asks parents to give is on the child's record.
// Codes: NOT_FOUND, WINDOW_CLOSED, NOT_ELIGIBLE, FULL.
func (s *Service) canSignUp(v *core.Viewer, p *models.ChildcareProgram, c *models.Child, now time.Time) error {
	if !p.IsVisibleToMembers() || !v.OnChain(p.UnionID) {
		return errProgramNotFound
	}
	if err := signUpWindow(p, now); err != nil {
		return err
	}
	if reason := childIneligibility(v, p, c, now); reason != "" {
		return apperr.New(apperr.NotEligible, reason)
	}
	if p.AdmissionMode == models.AdmissionFirstCome && p.ConfirmedCount >= p.Capacity && p.WaitlistCount >= p.WaitlistLimit {
		return seats.ErrFull
	}
	return nil
}

// childIneligibility explains why the parent may not sign child c up for p
// ("" when they may): the one place these reasons are worded.
func childIneligibility(v *core.Viewer, p *models.ChildcareProgram, c *models.Child, now time.Time) string {
	if reason := v.Ineligibility(&p.Eligibility, now); reason != "" {
		return reason
	}
	if c == nil {
		return ""
	}
	if age := c.AgeOn(p.StartsOn); age < p.ChildMinAge || age > p.ChildMaxAge {
		return fmt.Sprintf("%s在开班首日（%s）为 %d 周岁，本项目招收 %d 至 %d 周岁的孩子",
			c.Name, p.StartsOn.Format(time.DateOnly), age, p.ChildMinAge, p.ChildMaxAge)
	}
	if p.RequireEmergencyContact && c.EmergencyContactPhone == "" {
		return "本项目要求填写紧急联系人，请先在孩子资料中补充"
	}
	if p.RequireHealthNotes && c.Allergies == "" && c.HealthNotes == "" {
		return "本项目要求填写过敏史和健康状况（如无请填写“无”），请先在孩子资料中补充"
	}
	return ""
}

// ProgramIneligibility explains why the calling parent may not sign child
// (nil: any child of theirs, the parent's own eligibility only) up for p
// now; "" when they may, and always for admins. An unknown child is
// NOT_FOUND.
func (s *Service) ProgramIneligibility(ctx context.Context, p *models.ChildcareProgram, c *models.Child) (string, error) {
	if !auth.PrincipalFrom(ctx).IsMember() {
		return "", nil
	}
	v, err := s.Viewer(ctx)
	if err != nil {
		return "", err
	}
	if err := s.canSignUp(v, p, c, s.Clock().Now()); err != nil {
		if ae, ok := apperr.As(err); ok && ae.Code != apperr.Internal {
			return ae.Message, nil
		}
		return "", err
	}
	return "", nil
}

// WithdrawChildSignUp withdraws a child's sign-up (any of its guardians
// may). An admitted child's place goes at once to the head of the waitlist.
// Idempotent. Codes: NOT_FOUND, WINDOW_CLOSED (the programme has ended).
func (s *Service) WithdrawChildSignUp(ctx context.Context, signUpID int64) (*models.ChildSignUp, error) {
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	var su models.ChildSignUp
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("id = ? AND child_id IN (?)", signUpID, guardedChildIDs(tx, p.ID)).Take(&su).Error; err != nil {
			if store.IsNotFound(err) {
				return errSignUpNotFound
			}
			return err
		}
		if _, err := seats.Lock(tx, childcareSeats, su.ProgramID); err != nil {
			return err
		}
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&su, signUpID).Error; err != nil {
			return err
		}
		if !su.Status.IsActive() {
			if su.Status == models.ChildSignUpWithdrawn {
				return nil // a retry
			}
			return apperr.Newf(apperr.WindowClosed, "报名已%s，无需退出", su.Status.Label())
		}
		var prog models.ChildcareProgram
		if err := tx.Take(&prog, su.ProgramID).Error; err != nil {
			return err
		}
		now := s.Clock().Now()
		if chinaToday(now).After(prog.EndsOn) {
			return apperr.New(apperr.WindowClosed, "托管已结束，不能退出")
		}
		was := su.Status
		if err := tx.Model(&models.ChildSignUp{}).Where("id = ? AND status = ?", su.ID, was).Updates(map[string]any{
			"status": models.ChildSignUpWithdrawn, "active": nil, "ended_at": now, "updated_at": now}).Error; err != nil {
			return err
		}
		if was != models.ChildSignUpPending { // a pending one holds nothing yet
			if _, err := seats.Release(tx, childcareSeats, prog.ID, string(was), now); err != nil {
				return err
			}
		}
		return tx.Take(&su, su.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &su, nil
}

// SignUpFilter narrows a sign-up list.
type SignUpFilter struct {
	ProgramID    *int64 // members
	ChildID      *int64 // members
	Status       *models.ChildSignUpStatus
	PriorityOnly bool // admins
}

// MyChildSignUps lists the sign-ups of the children the calling member
// guards, newest first.
func (s *Service) MyChildSignUps(ctx context.Context, f SignUpFilter, first *int, after *string) (page.Page[*models.ChildSignUp], error) {
	var empty page.Page[*models.ChildSignUp]
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return empty, err
	}
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return empty, err
	}
	q := s.Q(ctx).Where("child_id IN (?)", guardedChildIDs(s.Q(ctx), p.ID))
	if f.ChildID != nil {
		q = q.Where("child_id = ?", *f.ChildID)
	}
	if f.ProgramID != nil {
		q = q.Where("program_id = ?", *f.ProgramID)
	}
	if f.Status != nil {
		q = q.Where("status = ?", *f.Status)
	}
	return core.ByIDPage[*models.ChildSignUp](q, pa, true)
}

// ChildcareSignUps lists a programme's sign-ups in sign-up order for admins
// of its host union's chain. Each list is a read of children's data: the
// audit log records it with the children's ids. Codes: FORBIDDEN.
func (s *Service) ChildcareSignUps(ctx context.Context, programID int64, f SignUpFilter, first *int, after *string) (page.Page[*models.ChildSignUp], error) {
	var empty page.Page[*models.ChildSignUp]
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return empty, err
	}
	if f.Status != nil && !f.Status.IsValid() {
		return empty, apperr.Invalid("status", "报名状态不正确")
	}
	var got page.Page[*models.ChildSignUp]
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		var p models.ChildcareProgram
		if _, err := s.programInScope(tx, sc, programID, &p, false); err != nil {
			return err
		}
		q := tx.Where("program_id = ?", p.ID)
		if f.Status != nil {
			q = q.Where("status = ?", *f.Status)
		}
		if f.PriorityOnly {
			q = q.Where("priority_rank = 0")
		}
		if got, err = core.ByIDPage[*models.ChildSignUp](q, pa, false); err != nil {
			return err
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "CHILDCARE_SIGNUPS_LIST", "childcare_program", &p.ID, &p.UnionID,
			childIDsDetail(got.Items))
	})
	if err != nil {
		return empty, err
	}
	return got, nil
}

// GetChildSignUp returns one sign-up: to a guardian of its child, or to an
// admin of the host union's chain (audited). Codes: NOT_FOUND, FORBIDDEN.
func (s *Service) GetChildSignUp(ctx context.Context, id int64) (*models.ChildSignUp, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	var su models.ChildSignUp
	if p.IsMember() {
		if err := s.Q(ctx).Where("id = ? AND child_id IN (?)", id, guardedChildIDs(s.Q(ctx), p.ID)).Take(&su).Error; err != nil {
			return nil, store.Translate(err, errSignUpNotFound.Message, "")
		}
		return &su, nil
	}
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if err := tx.Take(&su, id).Error; err != nil {
			if store.IsNotFound(err) {
				return core.OutOfScope(sc, errSignUpNotFound)
			}
			return err
		}
		var prog models.ChildcareProgram
		if _, err := s.programInScope(tx, sc, su.ProgramID, &prog, false); err != nil {
			return err
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "CHILDCARE_SIGNUP_READ", "child", &su.ChildID, &prog.UnionID,
			fmt.Sprintf("signUp=%d", su.ID))
	})
	if err != nil {
		return nil, err
	}
	return &su, nil
}

// childIDsDetail is an audit detail naming the children read (ids only).
func childIDsDetail(rows []*models.ChildSignUp) string {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = fmt.Sprint(r.ChildID)
	}
	return fmt.Sprintf("rows=%d children=%s", len(rows), strings.Join(ids, ","))
}

// ChildSignUpWaitlistPosition is a waitlisted sign-up's place in the queue
// now (nil otherwise).
func (s *Service) ChildSignUpWaitlistPosition(ctx context.Context, su *models.ChildSignUp) (*int, error) {
	if su.Status != models.ChildSignUpWaitlisted || su.WaitSeq == nil {
		return nil, nil
	}
	n, err := seats.Position(s.Q(ctx), childcareSeats, su.ProgramID, *su.WaitSeq)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// CheckInChild records that an admitted child arrived today, inside the
// day's check-in window (checkInOpen around the daily hours). Idempotent
// (a second check-in the same day returns the first).
// Codes: NOT_FOUND, FORBIDDEN, VALIDATION_FAILED (not admitted, or not a
// day of the programme), WINDOW_CLOSED.
func (s *Service) CheckInChild(ctx context.Context, signUpID int64) (*models.ChildAttendance, error) {
	var a models.ChildAttendance
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, su, prog, err := s.signUpForAdmin(ctx, tx, signUpID)
		if err != nil {
			return err
		}
		if su.Status != models.ChildSignUpAdmitted {
			return apperr.Invalid("signUpId", "该孩子未被录取（"+su.Status.Label()+"），不能签到")
		}
		now := s.Clock().Now()
		today := chinaToday(now)
		if today.Before(prog.StartsOn) || today.After(prog.EndsOn) {
			return apperr.Invalid("signUpId", "今天不在托管日期内，不能签到")
		}
		found, err := attendanceOn(tx, su.ID, today, &a)
		if err != nil || found {
			return err // found: a retry
		}
		start, end := programDayHours(prog, today)
		if err := core.CheckInOpen(now, start, end); err != nil {
			return err
		}
		a = models.ChildAttendance{SignUpID: su.ID, ProgramID: prog.ID, Day: today, CheckedInAt: now, CheckedInBy: sc.Admin.ID}
		if err := tx.Create(&a).Error; err != nil {
			return err
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "CHILDCARE_CHECK_IN", "child", &su.ChildID, &prog.UnionID, fmt.Sprintf("signUp=%d", su.ID))
	})
	if err != nil {
		if store.IsDuplicate(err) { // two taps at once: the other one recorded it
			var got models.ChildAttendance
			if err := s.Q(ctx).Where("sign_up_id = ? AND day = ?", signUpID, chinaToday(s.Clock().Now())).Take(&got).Error; err != nil {
				return nil, err
			}
			return &got, nil
		}
		return nil, err
	}
	return &a, nil
}

// CheckOutChild records that the child checked in today left, and who
// picked them up (name and relation, as the staff saw them). Idempotent.
// Codes: NOT_FOUND, FORBIDDEN, VALIDATION_FAILED (not checked in today;
// who picked up missing).
func (s *Service) CheckOutChild(ctx context.Context, signUpID int64, pickedUpBy string) (*models.ChildAttendance, error) {
	who, err := core.CleanText("pickedUpBy", pickedUpBy, 2, 30)
	if err != nil {
		return nil, err
	}
	var a models.ChildAttendance
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		sc, su, prog, err := s.signUpForAdmin(ctx, tx, signUpID)
		if err != nil {
			return err
		}
		now := s.Clock().Now()
		found, err := attendanceOn(tx, su.ID, chinaToday(now), &a)
		if err != nil {
			return err
		}
		if !found {
			return apperr.Invalid("signUpId", "孩子今天还没有签到，不能签退")
		}
		if a.CheckedOutAt != nil {
			return nil // a retry
		}
		res := tx.Model(&models.ChildAttendance{}).Where("id = ? AND checked_out_at IS NULL", a.ID).
			Updates(map[string]any{"checked_out_at": now, "checked_out_by": sc.Admin.ID, "picked_up_by": who})
		if res.Error != nil {
			return res.Error
		}
		if err := s.Audit(ctx, tx, sc.Admin.ID, "CHILDCARE_CHECK_OUT", "child", &su.ChildID, &prog.UnionID, fmt.Sprintf("signUp=%d", su.ID)); err != nil {
			return err
		}
		return tx.Take(&a, a.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// signUpForAdmin loads a sign-up and its programme and checks the
// programme is in the calling admin's scope. Codes: NOT_FOUND, FORBIDDEN.
func (s *Service) signUpForAdmin(ctx context.Context, tx *gorm.DB, id int64) (*core.Scope, *models.ChildSignUp, *models.ChildcareProgram, error) {
	sc, err := s.AdminScope(ctx, tx)
	if err != nil {
		return nil, nil, nil, err
	}
	var su models.ChildSignUp
	if err := tx.Take(&su, id).Error; err != nil {
		if store.IsNotFound(err) {
			return nil, nil, nil, core.OutOfScope(sc, errSignUpNotFound)
		}
		return nil, nil, nil, err
	}
	var p models.ChildcareProgram
	if _, err := s.programInScope(tx, sc, su.ProgramID, &p, false); err != nil {
		return nil, nil, nil, err
	}
	return sc, &su, &p, nil
}

func attendanceOn(tx *gorm.DB, signUpID int64, day time.Time, a *models.ChildAttendance) (bool, error) {
	var rows []models.ChildAttendance
	if err := tx.Where("sign_up_id = ? AND day = ?", signUpID, day).Limit(1).Find(&rows).Error; err != nil || len(rows) == 0 {
		return false, err
	}
	*a = rows[0]
	return true, nil
}

// AttendanceBySignUpIDs loads each sign-up's attended days in order, for a
// dataloader (whoever sees the sign-up sees its attendance: its guardians
// and the host chain's admins).
func (s *Service) AttendanceBySignUpIDs(ctx context.Context, ids []int64) ([][]*models.ChildAttendance, error) {
	var rows []*models.ChildAttendance
	if err := s.Q(ctx).Where("sign_up_id IN ?", ids).Order("sign_up_id, day").Find(&rows).Error; err != nil {
		return nil, err
	}
	by := map[int64][]*models.ChildAttendance{}
	for _, r := range rows {
		by[r.SignUpID] = append(by[r.SignUpID], r)
	}
	out := make([][]*models.ChildAttendance, len(ids))
	for i, id := range ids {
		out[i] = by[id]
		if out[i] == nil {
			out[i] = []*models.ChildAttendance{}
		}
	}
	return out, nil
}

// ChildcareStats are a subtree's childcare figures.
type ChildcareStats struct {
	Programs, Children, SignUps, Admitted, PersonDays int
}

// ChildcareStatistics counts the programmes hosted in the caller's subtree
// (or a union's in it; drafts left out), the distinct children signed up,
// the sign-ups, the children admitted (now) and the person-days attended.
// Codes: FORBIDDEN.
func (s *Service) ChildcareStatistics(ctx context.Context, unionID *int64) (*ChildcareStats, error) {
	sc, err := s.AdminScope(ctx, s.Q(ctx))
	if err != nil {
		return nil, err
	}
	root, err := s.UnionOrRoot(s.Q(ctx), sc, unionID)
	if err != nil {
		return nil, err
	}
	programs := s.Q(ctx).Model(&models.ChildcareProgram{}).Select("id").
		Where("union_id IN (?) AND status <> ?", core.SubtreeUnionIDs(s.Q(ctx), root.Path), models.OfferingDraft)
	var st ChildcareStats
	var n int64
	if err := programs.Session(&gorm.Session{}).Count(&n).Error; err != nil {
		return nil, err
	}
	st.Programs = int(n)
	var row struct{ Children, SignUps, Admitted int }
	if err := s.Q(ctx).Model(&models.ChildSignUp{}).
		Select("COUNT(DISTINCT child_id) AS children, COUNT(*) AS sign_ups, COALESCE(SUM(CASE WHEN status = ? THEN 1 ELSE 0 END), 0) AS admitted",
			models.ChildSignUpAdmitted).
		Where("program_id IN (?)", programs).Scan(&row).Error; err != nil {
		return nil, err
	}
	st.Children, st.SignUps, st.Admitted = row.Children, row.SignUps, row.Admitted
	if err := s.Q(ctx).Model(&models.ChildAttendance{}).Where("program_id IN (?)", programs).Count(&n).Error; err != nil {
		return nil, err
	}
	st.PersonDays = int(n)
	return &st, nil
}
