package training

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/clock"
	"unionhall/internal/core"
	"unionhall/internal/page"
	"unionhall/internal/seats"
	"unionhall/internal/store"
	"unionhall/models"
)

// trainingSeats is where classes keep their seats.
var trainingSeats = seats.Spec{Pools: "training_classes", Holds: "training_bookings", PoolFK: "class_id"}

var (
	errClassNotFound   = apperr.New(apperr.NotFound, "课程不存在或已下架")
	errBookingNotFound = apperr.New(apperr.NotFound, "预约记录不存在")
)

// SessionInput is one sitting of a class.
type SessionInput struct {
	StartsAt, EndsAt time.Time
	Place, OnlineURL string
}

// ClassInput is a class as an admin writes it. For updates, nil fields keep
// their stored values.
type ClassInput struct {
	UnionID         *int64 // create only: the publishing union
	Title           *string
	Category        *models.SkillCategory
	Description     *string
	Teacher         *string
	CoverURL        *string
	Sessions        []SessionInput // nil: unchanged
	Capacity        *int
	WaitlistLimit   *int
	BookingOpensAt  *time.Time
	BookingClosesAt *time.Time
	CancelDeadline  *time.Time
	Eligibility     *core.EligibilityInput
}

// CreateTrainingClass stores a new class as a DRAFT in a union of the
// caller's scope. Codes: VALIDATION_FAILED (with field), FORBIDDEN.
func (s *Service) CreateTrainingClass(ctx context.Context, in ClassInput) (*models.TrainingClass, error) {
	var c models.TrainingClass
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		pub, err := s.UnionOrRoot(tx, sc, in.UnionID)
		if err != nil {
			return err
		}
		now := s.Clock().Now()
		c = models.TrainingClass{UnionID: pub.ID, Status: models.OfferingDraft, Version: 1,
			CreatedBy: sc.Admin.ID, CreatedAt: now, UpdatedAt: now}
		sessions, err := s.applyClassInput(tx, sc, pub, &c, in, true)
		if err != nil {
			return err
		}
		if err := tx.Create(&c).Error; err != nil {
			return err
		}
		return saveSessions(tx, c.ID, sessions)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// UpdateTrainingClass changes a class of the caller's scope. version must be
// the one the edit started from. On a published class the capacity may grow
// (the waitlist moves up at once) but never drop below the confirmed count.
// Codes: VALIDATION_FAILED, FORBIDDEN, CONFLICT (stale version or a closed
// or cancelled class).
func (s *Service) UpdateTrainingClass(ctx context.Context, id int64, version int, in ClassInput) (*models.TrainingClass, error) {
	var c models.TrainingClass
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		pub, err := s.lockClass(tx, sc, id, &c)
		if err != nil {
			return err
		}
		if c.Version != version {
			return apperr.New(apperr.Conflict, "课程已被他人修改，请刷新后重试")
		}
		if c.Status == models.OfferingCancelled || c.Status == models.OfferingClosed {
			return apperr.New(apperr.Conflict, "已截止或已取消的课程不能再修改")
		}
		oldCapacity, oldWaitlist := c.Capacity, c.WaitlistLimit
		sessions, err := s.applyClassInput(tx, sc, pub, &c, in, false)
		if err != nil {
			return err
		}
		now := s.Clock().Now()
		if err := core.ResizePool(tx, trainingSeats, c.ID, oldCapacity, oldWaitlist, c.Capacity, c.WaitlistLimit, c.WaitlistCount, "waitlistLimit", now); err != nil {
			return err
		}
		err = core.SaveVersioned(tx, &models.TrainingClass{}, c.ID, version, now, core.WithColumns(map[string]any{
			"title": c.Title, "category": c.Category, "description": c.Description, "teacher": c.Teacher,
			"cover_url": c.CoverURL, "starts_at": c.StartsAt, "ends_at": c.EndsAt,
			"booking_opens_at": c.BookingOpensAt, "booking_closes_at": c.BookingClosesAt, "cancel_deadline": c.CancelDeadline,
		}, c.Eligibility.Columns()), apperr.New(apperr.Conflict, "课程已被他人修改，请刷新后重试"))
		if err != nil {
			return err
		}
		s.classes.Forget(c.ID)
		if sessions != nil {
			if err := tx.Where("class_id = ?", c.ID).Delete(&models.TrainingSession{}).Error; err != nil {
				return err
			}
			if err := saveSessions(tx, c.ID, sessions); err != nil {
				return err
			}
		}
		return tx.Take(&c, c.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// applyClassInput validates in against c (the stored class, or a new one)
// and writes the result into c. It returns the new sessions, or nil when
// they are unchanged.
func (s *Service) applyClassInput(tx *gorm.DB, sc *core.Scope, pub *models.Union, c *models.TrainingClass, in ClassInput, isNew bool) ([]models.TrainingSession, error) {
	var err error
	if in.Title != nil || isNew {
		if c.Title, err = core.CleanText("title", core.Deref(in.Title), 2, 100); err != nil {
			return nil, err
		}
	}
	if in.Category != nil || isNew {
		if in.Category == nil || !in.Category.IsValid() {
			return nil, apperr.Invalid("category", "请选择课程类别")
		}
		c.Category = *in.Category
	}
	if in.Description != nil {
		if c.Description, err = core.CleanText("description", *in.Description, 0, 5000); err != nil {
			return nil, err
		}
	}
	if in.Teacher != nil {
		if c.Teacher, err = core.CleanText("teacher", *in.Teacher, 0, 50); err != nil {
			return nil, err
		}
	}
	if in.CoverURL != nil {
		if c.CoverURL, err = core.CleanURL("coverUrl", *in.CoverURL); err != nil {
			return nil, err
		}
	}
	var sessions []models.TrainingSession
	if in.Sessions != nil || isNew {
		if sessions, err = validSessions(in.Sessions); err != nil {
			return nil, err
		}
		c.StartsAt, c.EndsAt = sessions[0].StartsAt, sessions[0].EndsAt
		for _, x := range sessions {
			c.EndsAt = maxTime(c.EndsAt, x.EndsAt)
		}
	}
	if in.Capacity != nil || isNew {
		if c.Capacity = core.Deref(in.Capacity); c.Capacity < 1 || c.Capacity > 100000 {
			return nil, apperr.Invalid("capacity", "名额应在 1 到 100000 之间")
		}
	}
	if in.WaitlistLimit != nil {
		if c.WaitlistLimit = *in.WaitlistLimit; c.WaitlistLimit < 0 || c.WaitlistLimit > 100000 {
			return nil, apperr.Invalid("waitlistLimit", "候补人数应在 0 到 100000 之间")
		}
	}
	windowChanged := in.BookingOpensAt != nil || in.BookingClosesAt != nil || in.CancelDeadline != nil
	if in.BookingOpensAt != nil {
		c.BookingOpensAt = *in.BookingOpensAt
	}
	if in.BookingClosesAt != nil {
		c.BookingClosesAt = *in.BookingClosesAt
		if in.CancelDeadline == nil && isNew {
			c.CancelDeadline = *in.BookingClosesAt
		}
	}
	if in.CancelDeadline != nil {
		c.CancelDeadline = *in.CancelDeadline
	}
	if isNew && (in.BookingOpensAt == nil || in.BookingClosesAt == nil) {
		return nil, apperr.Invalid("bookingOpensAt", "请填写报名开始和截止时间")
	}
	switch {
	case !c.BookingOpensAt.Before(c.BookingClosesAt):
		return nil, apperr.Invalid("bookingClosesAt", "报名截止时间应晚于开始时间")
	case (isNew || windowChanged) && !c.BookingClosesAt.After(s.Clock().Now()):
		return nil, apperr.Invalid("bookingClosesAt", "报名截止时间已过，请重新选择")
	case c.BookingClosesAt.After(c.StartsAt):
		return nil, apperr.Invalid("bookingClosesAt", "报名应在第一次课开始前截止")
	case c.CancelDeadline.After(c.StartsAt):
		return nil, apperr.Invalid("cancelDeadline", "取消截止时间应早于第一次课开始")
	case c.CancelDeadline.Before(c.BookingOpensAt):
		return nil, apperr.Invalid("cancelDeadline", "取消截止时间应晚于报名开始时间")
	}
	if in.Eligibility != nil || isNew {
		if c.Eligibility, err = s.Eligibility(tx, sc, pub, in.Eligibility); err != nil {
			return nil, err
		}
	}
	return sessions, nil
}

func validSessions(in []SessionInput) ([]models.TrainingSession, error) {
	if len(in) == 0 || len(in) > 60 {
		return nil, apperr.Invalid("sessions", "请安排 1 到 60 次课")
	}
	out := make([]models.TrainingSession, len(in))
	for i, x := range in {
		field := fmt.Sprintf("sessions.%d", i)
		if !x.EndsAt.After(x.StartsAt) {
			return nil, apperr.Invalid(field+".endsAt", "下课时间应晚于上课时间")
		}
		if x.EndsAt.Sub(x.StartsAt) > 24*time.Hour {
			return nil, apperr.Invalid(field+".endsAt", "一次课不能超过 24 小时")
		}
		place, err := core.CleanText(field+".place", x.Place, 0, 200)
		if err != nil {
			return nil, err
		}
		link, err := core.CleanURL(field+".onlineUrl", x.OnlineURL)
		if err != nil {
			return nil, err
		}
		if place == "" && link == "" {
			return nil, apperr.Invalid(field+".place", "请填写上课地点或线上课堂链接")
		}
		if i > 0 && x.StartsAt.Before(in[i-1].StartsAt) {
			return nil, apperr.Invalid(field+".startsAt", "请按时间先后排列课次")
		}
		out[i] = models.TrainingSession{Seq: i + 1, StartsAt: x.StartsAt, EndsAt: x.EndsAt, Place: place, OnlineURL: link}
	}
	return out, nil
}

func saveSessions(tx *gorm.DB, classID int64, sessions []models.TrainingSession) error {
	for i := range sessions {
		sessions[i].ClassID = classID
		sessions[i].ID = 0
	}
	return tx.Create(&sessions).Error
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// classInScope loads class id into c and checks that its publishing union is
// in the caller's scope; it returns that union. A class outside the scope is
// FORBIDDEN whether or not it exists. lockedRead makes the read current on
// MySQL (after seats.Lock).
func (s *Service) classInScope(tx *gorm.DB, sc *core.Scope, id int64, c *models.TrainingClass, lockedRead bool) (*models.Union, error) {
	return core.OfferingInScope(tx, sc, id, c, func(c *models.TrainingClass) int64 { return c.UnionID }, errClassNotFound, lockedRead)
}

// lockClass takes class id's seat lock (changes to its seats and bookings
// queue behind it), then loads it current into c and checks the scope.
func (s *Service) lockClass(tx *gorm.DB, sc *core.Scope, id int64, c *models.TrainingClass) (*models.Union, error) {
	if ok, err := seats.Lock(tx, trainingSeats, id); err != nil || !ok {
		if err == nil {
			err = core.OutOfScope(sc, errClassNotFound)
		}
		return nil, err
	}
	return s.classInScope(tx, sc, id, c, true)
}

// PublishTrainingClass opens a draft to members. Idempotent.
// Codes: FORBIDDEN, CONFLICT (cancelled).
func (s *Service) PublishTrainingClass(ctx context.Context, id int64) (*models.TrainingClass, error) {
	return s.moveClass(ctx, id, models.OfferingPublished, "")
}

// CloseTrainingClass stops bookings; existing bookings stand. Idempotent.
// Codes: FORBIDDEN, CONFLICT.
func (s *Service) CloseTrainingClass(ctx context.Context, id int64) (*models.TrainingClass, error) {
	return s.moveClass(ctx, id, models.OfferingClosed, "")
}

// CancelTrainingClass calls a class off: every active booking is cancelled
// with the reason, which members see. Idempotent.
// Codes: VALIDATION_FAILED (reason), FORBIDDEN, CONFLICT.
func (s *Service) CancelTrainingClass(ctx context.Context, id int64, reason string) (*models.TrainingClass, error) {
	reason, err := core.CleanText("reason", reason, 2, 150)
	if err != nil {
		return nil, err
	}
	return s.moveClass(ctx, id, models.OfferingCancelled, reason)
}

func (s *Service) moveClass(ctx context.Context, id int64, to models.OfferingStatus, reason string) (*models.TrainingClass, error) {
	var c models.TrainingClass
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := s.lockClass(tx, sc, id, &c); err != nil {
			return err
		}
		now := s.Clock().Now()
		moved, err := core.StatusMove{Model: &models.TrainingClass{}, ID: c.ID, From: c.Status, To: to, Now: now, Noun: "课程",
			Prepare: func(updates map[string]any) error {
				s.classes.Forget(c.ID)
				if to != models.OfferingCancelled {
					return nil
				}
				updates["cancel_reason"] = reason
				if err := tx.Model(&models.TrainingBooking{}).
					Where("class_id = ? AND status IN ?", c.ID, []models.BookingStatus{models.BookingConfirmed, models.BookingWaitlisted}).
					Updates(map[string]any{"status": models.BookingCancelled, "active": nil, "cancelled_at": now,
						"cancel_reason": "课程已取消：" + reason, "updated_at": now}).Error; err != nil {
					return err
				}
				return seats.Clear(tx, trainingSeats, c.ID)
			}}.Apply(tx)
		if err != nil || !moved {
			return err
		}
		return tx.Take(&c, c.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// BookClass books the calling member a seat in a class: CONFIRMED while
// seats last, then WAITLISTED while the waitlist has room. A member has at
// most one active booking per class; a retry returns it unchanged.
// Codes: NOT_FOUND, WINDOW_CLOSED, NOT_ELIGIBLE (with the reason), FULL.
func (s *Service) BookClass(ctx context.Context, classID int64) (*models.TrainingBooking, error) {
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.Viewer(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Clock().Now()
	return core.SeatRush[models.TrainingBooking]{
		Spec: trainingSeats, PoolID: classID, Holder: p.ID,
		Open: seats.Open{
			SQL:  "status = ? AND booking_opens_at <= ? AND booking_closes_at > ?",
			Args: []any{models.OfferingPublished, now, now},
		},
		Cached: func() error {
			c, err := s.classes.Get(ctx, classID)
			if err == nil {
				err = s.canBook(v, c, now)
			}
			return err
		},
		Fresh: func() (*models.TrainingBooking, error) {
			_, mine, err := s.freshBookingCheck(ctx, v, classID, now)
			return mine, err
		},
		Hold: func(g seats.Grant) *models.TrainingBooking {
			active := true
			return &models.TrainingBooking{ClassID: classID, MemberID: p.ID, Status: models.BookingStatus(g.Status),
				Active: &active, WaitSeq: g.WaitSeq, CheckinCode: core.NewCode(20), CreatedAt: now, UpdatedAt: now}
		},
	}.Take(ctx, s.Core)
}

// freshBookingCheck is the booking rule on a fresh read of the class and
// of the member's booking. It returns the member's active booking when this
// is a retry, else the refusal, else the class, open for them.
func (s *Service) freshBookingCheck(ctx context.Context, v *core.Viewer, classID int64, now time.Time) (*models.TrainingClass, *models.TrainingBooking, error) {
	var row struct {
		models.TrainingClass `gorm:"embedded"`
		MyBookingID          *int64
	}
	err := s.Q(ctx).Table("training_classes").
		Select("training_classes.*, (SELECT b.id FROM training_bookings AS b WHERE b.class_id = training_classes.id"+
			" AND b.member_id = ? AND b.active = ?) AS my_booking_id", v.Member.ID, true).
		Where("training_classes.id = ?", classID).Take(&row).Error
	if err != nil {
		return nil, nil, store.Translate(err, errClassNotFound.Message, "")
	}
	c := &row.TrainingClass
	s.classes.Put(c)
	if row.MyBookingID != nil { // a retry
		var b models.TrainingBooking
		if err := s.Q(ctx).Take(&b, *row.MyBookingID).Error; err != nil {
			return nil, nil, err
		}
		return nil, &b, nil
	}
	if err := s.canBook(v, c, now); err != nil {
		return nil, nil, err
	}
	return c, nil, nil
}

// canBook is the booking rule: the class is visible to the member, open,
// within its window, and the member is eligible and not barred by the
// no-show rule. Codes: NOT_FOUND, WINDOW_CLOSED, NOT_ELIGIBLE.
func (s *Service) canBook(v *core.Viewer, c *models.TrainingClass, now time.Time) error {
	if !c.IsVisibleToMembers() || !v.OnChain(c.UnionID) {
		return errClassNotFound
	}
	switch {
	case c.Status == models.OfferingCancelled:
		return apperr.New(apperr.WindowClosed, "课程已取消")
	case c.Status == models.OfferingClosed, !now.Before(c.BookingClosesAt):
		return apperr.New(apperr.WindowClosed, "报名已截止")
	case now.Before(c.BookingOpensAt):
		return apperr.Newf(apperr.WindowClosed, "报名尚未开始，将于 %s 开放", clock.Minutes(c.BookingOpensAt))
	}
	if reason := v.Ineligibility(&c.Eligibility, now); reason != "" {
		return apperr.New(apperr.NotEligible, reason)
	}
	if until := v.Member.TrainingBannedUntil; until != nil && now.Before(*until) {
		return apperr.Newf(apperr.NotEligible, "近 90 天内缺席培训达 %d 次，%s 前暂停报名",
			s.Settings().NoShowLimit, clock.Minutes(*until))
	}
	// Sold out as far as this read knows: the rush's many late taps end here,
	// without a write. (A seat freed since is found on the next tap.)
	if c.ConfirmedCount >= c.Capacity && c.WaitlistCount >= c.WaitlistLimit {
		return seats.ErrFull
	}
	return nil
}

// CancelBooking cancels the calling member's booking. A confirmed seat goes
// at once to the first member on the waitlist, in the same transaction.
// Idempotent: cancelling a cancelled booking returns it.
// Codes: NOT_FOUND, WINDOW_CLOSED (past the cancel deadline).
func (s *Service) CancelBooking(ctx context.Context, bookingID int64) (*models.TrainingBooking, error) {
	return core.SeatCancel[*models.TrainingBooking]{
		Spec: trainingSeats, Id: bookingID, NotFound: errBookingNotFound, Ended: "课程已结束，不能取消",
		Pool:   func(b *models.TrainingBooking) int64 { return b.ClassID },
		Owner:  func(b *models.TrainingBooking) int64 { return b.MemberID },
		Status: func(b *models.TrainingBooking) models.BookingStatus { return b.Status },
		Deadline: func(tx *gorm.DB, b *models.TrainingBooking, now time.Time) error {
			var c models.TrainingClass
			if err := tx.Take(&c, b.ClassID).Error; err != nil {
				return err
			}
			if b.Status == models.BookingConfirmed && !now.Before(c.CancelDeadline) {
				return apperr.Newf(apperr.WindowClosed, "已过取消截止时间（%s），如不能参加请联系工会", clock.Minutes(c.CancelDeadline))
			}
			return nil
		},
	}.Run(ctx, s.Core, &models.TrainingBooking{})
}

// CheckInBooking marks the booking with this code ATTENDED. The code may be
// the whole QR payload, in any case. Taken only inside a session's
// check-in window (checkInOpen). Idempotent. Codes: NOT_FOUND, FORBIDDEN,
// VALIDATION_FAILED (the booking holds no seat), WINDOW_CLOSED.
func (s *Service) CheckInBooking(ctx context.Context, code string) (*models.TrainingBooking, error) {
	code = core.NormalizeCode(code, "unionhall:checkin:")
	if len(code) != 20 {
		return nil, apperr.Invalid("code", "签到码应为 20 位")
	}
	return s.setAttendance(ctx, func(tx *gorm.DB, b *models.TrainingBooking) error {
		return tx.Where("checkin_code = ?", code).Take(b).Error
	}, true, true)
}

// MarkAttendance records from a list whether a member came. Not attended
// after the class has ended is a no-show. Attended can be recorded once
// the first session's check-in window has opened, and afterwards too (the
// list is how an admin corrects the record). Codes: NOT_FOUND, FORBIDDEN,
// VALIDATION_FAILED, WINDOW_CLOSED.
func (s *Service) MarkAttendance(ctx context.Context, bookingID int64, attended bool) (*models.TrainingBooking, error) {
	return s.setAttendance(ctx, func(tx *gorm.DB, b *models.TrainingBooking) error {
		return tx.Take(b, bookingID).Error
	}, attended, false)
}

// setAttendance records attendance of the booking find loads. byCode is a
// check-in at the door: only inside a session's window.
func (s *Service) setAttendance(ctx context.Context, find func(*gorm.DB, *models.TrainingBooking) error, attended, byCode bool) (*models.TrainingBooking, error) {
	var b models.TrainingBooking
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if err := find(tx, &b); err != nil {
			if store.IsNotFound(err) {
				return apperr.New(apperr.NotFound, "找不到该预约，请核对签到码")
			}
			return err
		}
		var c models.TrainingClass
		if _, err := s.classInScope(tx, sc, b.ClassID, &c, false); err != nil {
			return err
		}
		if c.Status == models.OfferingCancelled {
			return apperr.Invalid("code", "课程已取消")
		}
		now := s.Clock().Now()
		to := models.BookingAttended
		switch {
		case !attended && now.After(c.EndsAt):
			to = models.BookingNoShow
		case !attended:
			to = models.BookingConfirmed
		}
		switch b.Status {
		case to:
			return nil // a retry
		case models.BookingConfirmed, models.BookingAttended, models.BookingNoShow:
		default:
			return apperr.Invalid("code", "该预约没有获得名额（"+core.BookingLabel(b.Status)+"），不能签到")
		}
		if to == models.BookingAttended {
			if err := s.classCheckInOpen(tx, &c, now, byCode); err != nil {
				return err
			}
		}
		updates := map[string]any{"status": to, "updated_at": now}
		if to == models.BookingAttended {
			updates["checked_in_at"], updates["checked_in_by"] = now, sc.Admin.ID
		} else {
			updates["checked_in_at"], updates["checked_in_by"] = nil, nil
		}
		res := tx.Model(&models.TrainingBooking{}).Where("id = ? AND status = ?", b.ID, b.Status).Updates(updates)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return apperr.New(apperr.Conflict, "签到状态刚被修改，请刷新后重试")
		}
		if b.Status == models.BookingNoShow || to == models.BookingNoShow {
			if err := s.recomputeBan(tx, b.MemberID, now); err != nil {
				return err
			}
		}
		if err := s.Audit(ctx, tx, sc.Admin.ID, "TRAINING_ATTENDANCE", "training_booking", &b.ID, &c.UnionID, string(to)); err != nil {
			return err
		}
		return tx.Take(&b, b.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// classCheckInOpen applies the check-in window to class c's sessions: at
// the door (byCode) inside one of their windows; from a list, once the
// first has opened. Codes: WINDOW_CLOSED.
func (s *Service) classCheckInOpen(tx *gorm.DB, c *models.TrainingClass, now time.Time, byCode bool) error {
	var sessions []models.TrainingSession
	if err := tx.Where("class_id = ?", c.ID).Order("starts_at, seq").Find(&sessions).Error; err != nil {
		return err
	}
	spans := make([]core.Span, len(sessions))
	for i, se := range sessions {
		spans[i] = core.Span{Start: se.StartsAt, End: se.EndsAt}
	}
	if len(spans) == 0 { // sessions are required; the class's span then
		spans = []core.Span{{Start: c.StartsAt, End: c.EndsAt}}
	}
	if !byCode {
		if from, _ := core.CheckInWindow(spans[0].Start, spans[0].End); now.Before(from) {
			return core.CheckInOpen(now, spans[0].Start, spans[0].End)
		}
		return nil
	}
	return core.CheckInOpenAny(now, spans)
}

// SweepNoShows turns the confirmed, unattended bookings of classes that have
// ended into NO_SHOW and applies the no-show rule to their members; the
// waitlist of an ended class is closed (those bookings are cancelled). It is
// safe to run on every instance at once (conditional updates), and returns
// how many no-shows it marked.
func (s *Service) SweepNoShows(ctx context.Context) (int, error) {
	now := s.Clock().Now()
	if err := s.closeEndedWaitlists(ctx, now); err != nil {
		return 0, err
	}
	total := 0
	for {
		var rows []struct{ ID, MemberID int64 }
		if err := s.Q(ctx).Table("training_bookings AS b").Select("b.id, b.member_id").
			Joins("JOIN training_classes AS c ON c.id = b.class_id").
			Where("b.status = ? AND c.ends_at < ? AND c.status IN ?", models.BookingConfirmed, now,
				[]models.OfferingStatus{models.OfferingPublished, models.OfferingClosed}).
			Order("b.id").Limit(500).Scan(&rows).Error; err != nil {
			return total, err
		}
		if len(rows) == 0 {
			return total, nil
		}
		for _, r := range rows {
			err := s.Tx(ctx, func(tx *gorm.DB) error {
				res := tx.Model(&models.TrainingBooking{}).Where("id = ? AND status = ?", r.ID, models.BookingConfirmed).
					Updates(map[string]any{"status": models.BookingNoShow, "updated_at": now})
				if res.Error != nil || res.RowsAffected == 0 {
					return res.Error
				}
				total++
				return s.recomputeBan(tx, r.MemberID, now)
			})
			if err != nil {
				return total, err
			}
		}
		if len(rows) < 500 {
			return total, nil
		}
	}
}

// closeEndedWaitlists cancels the waitlisted bookings of classes that have
// ended: nobody will move up any more.
func (s *Service) closeEndedWaitlists(ctx context.Context, now time.Time) error {
	var ids []int64
	if err := s.Q(ctx).Model(&models.TrainingClass{}).
		Where("ends_at < ? AND waitlist_count > 0 AND status IN ?", now,
			[]models.OfferingStatus{models.OfferingPublished, models.OfferingClosed}).
		Limit(500).Pluck("id", &ids).Error; err != nil {
		return err
	}
	for _, id := range ids {
		err := s.Tx(ctx, func(tx *gorm.DB) error {
			if _, err := seats.Lock(tx, trainingSeats, id); err != nil {
				return err
			}
			if err := tx.Model(&models.TrainingBooking{}).Where("class_id = ? AND status = ?", id, models.BookingWaitlisted).
				Updates(map[string]any{"status": models.BookingCancelled, "active": nil, "cancelled_at": now,
					"cancel_reason": "课程已结束，候补未获得名额", "updated_at": now}).Error; err != nil {
				return err
			}
			return seats.DropWaitlist(tx, trainingSeats, id)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// recomputeBan applies the no-show rule to a member: NoShowLimit no-shows
// within 90 days bar them from booking for NoShowBanDays days after the
// last of those. The result is stored on the member, so checking it costs
// no query.
func (s *Service) recomputeBan(tx *gorm.DB, memberID int64, now time.Time) error {
	n, days := s.Settings().NoShowLimit, s.Settings().NoShowBanDays
	var until *time.Time
	if n > 0 && days > 0 {
		ban := time.Duration(days) * 24 * time.Hour
		var ends []time.Time
		if err := tx.Table("training_bookings AS b").Select("c.ends_at").
			Joins("JOIN training_classes AS c ON c.id = b.class_id").
			Where("b.member_id = ? AND b.status = ? AND c.ends_at >= ?", memberID, models.BookingNoShow,
				now.Add(-noShowWindow-ban)).
			Order("c.ends_at").Scan(&ends).Error; err != nil {
			return err
		}
		if t := BanUntil(ends, n, noShowWindow, ban); !t.IsZero() {
			until = &t
		}
	}
	return tx.Model(&models.Member{}).Where("id = ?", memberID).Update("training_banned_until", until).Error
}

const noShowWindow = 90 * 24 * time.Hour

// BanUntil is the no-show rule: given the times of a member's no-shows in
// order, whenever n of them fall within window, booking is barred for ban
// after the last of the n. It returns the end of the latest bar (zero when
// none).
func BanUntil(noShows []time.Time, n int, window, ban time.Duration) time.Time {
	var until time.Time
	for i := n - 1; i >= 0 && i < len(noShows); i++ {
		if noShows[i].Sub(noShows[i-n+1]) <= window {
			if t := noShows[i].Add(ban); t.After(until) {
				until = t
			}
		}
	}
	return until
}

// ClassFilter narrows a class list.
type ClassFilter struct {
	Category *models.SkillCategory
	Upcoming bool
	HasSeats bool
	UnionID  *int64                 // admins
	Status   *models.OfferingStatus // admins
}

// ClassCursor is a class's cursor in a list.
func ClassCursor(c *models.TrainingClass) any { return core.CursorKey{T: c.StartsAt, I: c.ID} }

// ListTrainingClasses lists classes soonest first. Members see published and
// closed classes of the unions on their chain (their union up to the root);
// admins see every class of their subtree.
// Codes: VALIDATION_FAILED, FORBIDDEN (a union outside the admin's scope).
func (s *Service) ListTrainingClasses(ctx context.Context, f ClassFilter, first *int, after *string) (page.Page[*models.TrainingClass], error) {
	var empty page.Page[*models.TrainingClass]
	if _, err := auth.Require(ctx); err != nil {
		return empty, err
	}
	pa, err := page.Parse[core.CursorKey](first, after)
	if err != nil {
		return empty, err
	}
	if f.Category != nil && !f.Category.IsValid() {
		return empty, apperr.Invalid("category", "课程类别不正确")
	}
	var rows []*models.TrainingClass
	err = s.ReadLagged(ctx, func(db *gorm.DB) error { // a list: a replica's lag is fine
		q, none, err := s.VisibleOfferings(ctx, db.Model(&models.TrainingClass{}), f.UnionID, f.Status)
		if err != nil || none {
			return err
		}
		if f.Category != nil {
			q = q.Where("category = ?", *f.Category)
		}
		if f.Upcoming {
			q = q.Where("starts_at > ?", s.Clock().Now())
		}
		if f.HasSeats {
			q = q.Where("confirmed_count < capacity")
		}
		if pa.HasKey {
			q = q.Where("starts_at > ? OR (starts_at = ? AND id > ?)", pa.Key.T, pa.Key.T, pa.Key.I)
		}
		return q.Order("starts_at, id").Limit(pa.Size + 1).Find(&rows).Error
	})
	if err != nil {
		return empty, err
	}
	return page.Trim(rows, pa.Size), nil
}

// GetTrainingClass returns a class the caller may see: for members, one
// published to their chain (NOT_FOUND otherwise); for admins, one of their
// subtree (FORBIDDEN otherwise).
func (s *Service) GetTrainingClass(ctx context.Context, id int64) (*models.TrainingClass, error) {
	var c models.TrainingClass
	if err := core.GetOffering(ctx, s.Core, id, &c, func(c *models.TrainingClass) int64 { return c.UnionID },
		func(c *models.TrainingClass) bool { return !c.IsVisibleToMembers() }, errClassNotFound); err != nil {
		return nil, err
	}
	return &c, nil
}

// ClassIneligibility explains why the calling member may not book c now
// ("" when they may, when mine is their active booking of it, and always
// for admins). It reads only the request's viewer and, for members, their
// booking through mine (the request's batched loader), so a page of
// classes costs no extra query.
func (s *Service) ClassIneligibility(ctx context.Context, c *models.TrainingClass, mine func(context.Context, int64) (*models.TrainingBooking, error)) (string, error) {
	if !auth.PrincipalFrom(ctx).IsMember() {
		return "", nil
	}
	b, err := mine(ctx, c.ID)
	if err != nil || b != nil && b.Status.IsActive() {
		return "", err
	}
	v, err := s.Viewer(ctx)
	if err != nil {
		return "", err
	}
	if err := s.canBook(v, c, s.Clock().Now()); err != nil {
		if ae, ok := apperr.As(err); ok && ae.Code != apperr.Internal {
			return ae.Message, nil
		}
		return "", err
	}
	return "", nil
}

// ClassStats are a class's booking counts.
type ClassStats struct {
	Confirmed, Waitlisted, Attended, NoShows, Cancelled int
}

// TrainingClassStats counts a class's bookings by status, for admins of its
// scope; members get nil. Codes: FORBIDDEN.
func (s *Service) TrainingClassStats(ctx context.Context, c *models.TrainingClass) (*ClassStats, error) {
	if !auth.PrincipalFrom(ctx).IsAdmin() {
		return nil, nil
	}
	sc, err := s.AdminScope(ctx, s.Q(ctx))
	if err != nil {
		return nil, err
	}
	var cc models.TrainingClass
	if _, err := s.classInScope(s.Q(ctx), sc, c.ID, &cc, false); err != nil {
		return nil, err
	}
	var rows []struct {
		Status models.BookingStatus
		N      int
	}
	if err := s.Q(ctx).Model(&models.TrainingBooking{}).Select("status, COUNT(*) AS n").
		Where("class_id = ?", c.ID).Group("status").Scan(&rows).Error; err != nil {
		return nil, err
	}
	var st ClassStats
	for _, r := range rows {
		switch r.Status {
		case models.BookingConfirmed:
			st.Confirmed = r.N
		case models.BookingWaitlisted:
			st.Waitlisted = r.N
		case models.BookingAttended:
			st.Attended = r.N
		case models.BookingNoShow:
			st.NoShows = r.N
		case models.BookingCancelled:
			st.Cancelled = r.N
		}
	}
	return &st, nil
}

// MyBookings lists the calling member's bookings, newest first.
func (s *Service) MyBookings(ctx context.Context, f core.BookingFilter, first *int, after *string) (page.Page[*models.TrainingBooking], error) {
	return core.MyHolds[*models.TrainingBooking](ctx, s.Core, f, first, after)
}

// ClassBookings lists a class's bookings in booking order for admins of its
// scope. The read of members' data is audited. Codes: FORBIDDEN.
func (s *Service) ClassBookings(ctx context.Context, classID int64, f core.BookingFilter, first *int, after *string) (page.Page[*models.TrainingBooking], error) {
	var empty page.Page[*models.TrainingBooking]
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return empty, err
	}
	var got page.Page[*models.TrainingBooking]
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		var c models.TrainingClass
		if _, err := s.classInScope(tx, sc, classID, &c, false); err != nil {
			return err
		}
		q := tx.Where("class_id = ?", classID)
		if f.Status != nil {
			q = q.Where("status = ?", *f.Status)
		}
		if got, err = core.ByIDPage[*models.TrainingBooking](q, pa, false); err != nil {
			return err
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "TRAINING_BOOKINGS_LIST", "training_class", &c.ID, &c.UnionID,
			fmt.Sprintf("rows=%d", len(got.Items)))
	})
	if err != nil {
		return empty, err
	}
	return got, nil
}

// WaitlistPosition is a waitlisted booking's place in the queue now (nil
// otherwise).
func (s *Service) WaitlistPosition(ctx context.Context, b *models.TrainingBooking) (*int, error) {
	if b.Status != models.BookingWaitlisted || b.WaitSeq == nil {
		return nil, nil
	}
	n, err := seats.Position(s.Q(ctx), trainingSeats, b.ClassID, *b.WaitSeq)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// IsOwnBooking reports whether the caller is the member who booked b.
func IsOwnBooking(ctx context.Context, b *models.TrainingBooking) bool {
	p := auth.PrincipalFrom(ctx)
	return p.IsMember() && p.ID == b.MemberID
}

// SessionsByClassIDs loads classes' sessions for a dataloader.
func (s *Service) SessionsByClassIDs(ctx context.Context, ids []int64) ([][]*models.TrainingSession, error) {
	var rows []*models.TrainingSession
	if err := s.Q(ctx).Where("class_id IN ?", ids).Order("class_id, seq").Find(&rows).Error; err != nil {
		return nil, err
	}
	by := map[int64][]*models.TrainingSession{}
	for _, r := range rows {
		by[r.ClassID] = append(by[r.ClassID], r)
	}
	out := make([][]*models.TrainingSession, len(ids))
	for i, id := range ids {
		out[i] = by[id]
		if out[i] == nil {
			out[i] = []*models.TrainingSession{}
		}
	}
	return out, nil
}

// MyBookingsByClassIDs loads the calling member's latest booking of each
// class, for a dataloader; nil where there is none or the caller is no
// member.
func (s *Service) MyBookingsByClassIDs(ctx context.Context, ids []int64) ([]*models.TrainingBooking, error) {
	out := make([]*models.TrainingBooking, len(ids))
	p := auth.PrincipalFrom(ctx)
	if !p.IsMember() {
		return out, nil
	}
	var rows []*models.TrainingBooking
	if err := s.Q(ctx).Where("member_id = ? AND class_id IN ?", p.ID, ids).Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	latest := map[int64]*models.TrainingBooking{}
	for _, r := range rows {
		latest[r.ClassID] = r
	}
	for i, id := range ids {
		out[i] = latest[id]
	}
	return out, nil
}

// ClassesByIDs loads classes for a dataloader (a booking's class). The
// caller could see each booking, so it may see its class.
func (s *Service) ClassesByIDs(ctx context.Context, ids []int64) ([]*models.TrainingClass, error) {
	var rows []*models.TrainingClass
	if err := s.Q(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	return core.ByIDs(ids, rows, func(c *models.TrainingClass) int64 { return c.ID }), nil
}
