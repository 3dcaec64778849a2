package matchmaking

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"unionhall/internal/allocation"
	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/clock"
	"unionhall/internal/core"
	"unionhall/internal/page"
	"unionhall/internal/seats"
	"unionhall/internal/store"
	"unionhall/models"
)

// Matchmaking (单身联谊). Who reads what:
//   - a member's profile and single declaration: the member; and, from the
//     start of an event until its pick window closes, that event's other
//     checked-in participants (never admins through the API, never anyone
//     else);
//   - a pick: its picker only. Nobody learns who picked them: a match is
//     derived from two picks of one pair, and only the pair sees it, with
//     each other's contact.

// matchSeats is where events keep their places: one pool per gender.
var matchSeats = seats.Spec{Pools: "match_quotas", Holds: "match_sign_ups", PoolFK: "quota_id",
	ConfirmedStatus: string(models.MatchSignUpConfirmed), WaitlistedStatus: string(models.MatchSignUpWaitlisted)}

var (
	errMatchEventNotFound = apperr.New(apperr.NotFound, "联谊活动不存在或已下架")
	errNotParticipant     = apperr.New(apperr.Forbidden, "仅本场活动已签到的参与者可以查看")
	errMatchConflict      = apperr.New(apperr.Conflict, "联谊活动已被他人修改，请刷新后重试")
)

// MaxMatchQuota bounds the seats per gender (the city's events had ~100
// participants); it also bounds what matchEventParticipants returns.
const MaxMatchQuota = 150

// maxMatchPicks bounds K, the picks one participant may make.
const maxMatchPicks = 10

// DeclareSingle records the calling member's declaration that they are
// single (single=true) or withdraws it; each change is kept in the trail.
// Withdrawing ends nothing already signed up: the member may withdraw those.
func (s *Service) DeclareSingle(ctx context.Context, single bool) (*models.MatchProfile, error) {
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	var prof models.MatchProfile
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		if err := s.profileFor(tx, p.ID, &prof); err != nil {
			return err
		}
		if (prof.SingleDeclaredAt != nil) == single {
			return nil // a retry: nothing changes
		}
		now := s.Clock().Now()
		prof.SingleDeclaredAt = nil
		if single {
			prof.SingleDeclaredAt = &now
		}
		prof.UpdatedAt = now
		if err := tx.Model(&prof).Select("single_declared_at", "updated_at").Updates(&prof).Error; err != nil {
			return err
		}
		return tx.Create(&models.MatchSingleDeclaration{MemberID: p.ID, Single: single, CreatedAt: now}).Error
	})
	if err != nil {
		return nil, err
	}
	return &prof, nil
}

// profileFor loads member id's profile, creating an empty one the first time.
func (s *Service) profileFor(tx *gorm.DB, id int64, dst *models.MatchProfile) error {
	now := s.Clock().Now()
	err := tx.Create(&models.MatchProfile{MemberID: id, CreatedAt: now, UpdatedAt: now}).Error
	if err != nil && !store.IsDuplicate(err) {
		return err
	}
	return tx.Take(dst, "member_id = ?", id).Error
}

// MyMatchProfile is the calling member's own profile (empty until written).
func (s *Service) MyMatchProfile(ctx context.Context) (*models.MatchProfile, error) {
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	var rows []*models.MatchProfile
	if err := s.Q(ctx).Where("member_id = ?", p.ID).Limit(1).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return &models.MatchProfile{MemberID: p.ID}, nil
	}
	return rows[0], nil
}

// MatchProfileInput is a profile as the member writes it; nil keeps a field.
type MatchProfileInput struct {
	Nickname, Education, Occupation, District, Hobbies, Intro, WechatID *string
	BirthYear, HeightCm                                                 *int
	PhotoFileID                                                         *string // "" removes the photo
}

// UpdateMatchProfile writes the calling member's profile.
// Codes: VALIDATION_FAILED (with field).
func (s *Service) UpdateMatchProfile(ctx context.Context, in MatchProfileInput) (*models.MatchProfile, error) {
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	// Validate everything before writing anything.
	texts := []struct {
		field string
		v     *string
		max   int
		dst   func(*models.MatchProfile) *string
	}{
		{"nickname", in.Nickname, 20, func(m *models.MatchProfile) *string { return &m.Nickname }},
		{"education", in.Education, 20, func(m *models.MatchProfile) *string { return &m.Education }},
		{"occupation", in.Occupation, 50, func(m *models.MatchProfile) *string { return &m.Occupation }},
		{"district", in.District, 50, func(m *models.MatchProfile) *string { return &m.District }},
		{"hobbies", in.Hobbies, 200, func(m *models.MatchProfile) *string { return &m.Hobbies }},
		{"intro", in.Intro, 500, func(m *models.MatchProfile) *string { return &m.Intro }},
		{"wechatId", in.WechatID, 40, func(m *models.MatchProfile) *string { return &m.WechatID }},
	}
	clean := make([]string, len(texts))
	for i, t := range texts {
		if t.v == nil {
			continue
		}
		if clean[i], err = core.CleanText(t.field, *t.v, 0, t.max); err != nil {
			return nil, err
		}
	}
	year := s.Clock().Now().Year()
	if in.BirthYear != nil && (*in.BirthYear < year-80 || *in.BirthYear > year-16) {
		return nil, apperr.Invalid("birthYear", fmt.Sprintf("出生年份应在 %d 到 %d 年之间", year-80, year-16))
	}
	if in.HeightCm != nil && (*in.HeightCm < 120 || *in.HeightCm > 230) {
		return nil, apperr.Invalid("heightCm", "身高应在 120 到 230 厘米之间")
	}
	if in.PhotoFileID != nil && *in.PhotoFileID != "" {
		if _, err := s.OwnUpload(ctx, *in.PhotoFileID, core.PurposePhoto, "photoFileId"); err != nil {
			return nil, err
		}
	}
	var prof models.MatchProfile
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		if err := s.profileFor(tx, p.ID, &prof); err != nil {
			return err
		}
		for i, t := range texts {
			if t.v != nil {
				*t.dst(&prof) = clean[i]
			}
		}
		if in.BirthYear != nil {
			prof.BirthYear = in.BirthYear
		}
		if in.HeightCm != nil {
			prof.HeightCm = in.HeightCm
		}
		if in.PhotoFileID != nil {
			prof.PhotoFileID = nil
			if *in.PhotoFileID != "" {
				prof.PhotoFileID = in.PhotoFileID
			}
		}
		prof.UpdatedAt = s.Clock().Now()
		return tx.Select("*").Omit("member_id", "created_at", "single_declared_at").Updates(&prof).Error
	})
	if err != nil {
		return nil, err
	}
	return &prof, nil
}

// MatchEventInput is an event as an admin writes it; nil keeps a field on
// update.
type MatchEventInput struct {
	UnionID                        *int64 // create only
	Title, Description, Place      *string
	StartsAt, EndsAt, PickClosesAt *time.Time
	SignUpOpensAt, SignUpClosesAt  *time.Time
	MaleCapacity, FemaleCapacity   *int
	MinAge, MaxAge                 *int
	SelectionMode                  *models.MatchSelectionMode
	MaxPicks                       *int
}

// CreateMatchEvent stores a new event as a DRAFT of a union in the caller's
// scope, with one quota per gender. Codes: VALIDATION_FAILED, FORBIDDEN.
func (s *Service) CreateMatchEvent(ctx context.Context, in MatchEventInput) (*models.MatchEvent, error) {
	var e models.MatchEvent
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
		e = models.MatchEvent{UnionID: host.ID, Status: models.OfferingDraft, Version: 1, CheckinCode: core.NewCode(8), LotterySeed: core.NewSeed(),
			CreatedBy: sc.Admin.ID, CreatedAt: now, UpdatedAt: now, MaxPicks: 3, SelectionMode: models.MatchFirstCome}
		e.EligPath = host.Path
		if err := applyMatchEventInput(&e, in, true); err != nil {
			return err
		}
		if in.MaleCapacity == nil || in.FemaleCapacity == nil {
			return apperr.Invalid("maleCapacity", "请填写男女各自的名额")
		}
		if err := validCapacity(in); err != nil {
			return err
		}
		if err := tx.Create(&e).Error; err != nil {
			return err
		}
		return tx.Create([]*models.MatchQuota{
			{EventID: e.ID, Gender: models.GenderMale, Capacity: *in.MaleCapacity},
			{EventID: e.ID, Gender: models.GenderFemale, Capacity: *in.FemaleCapacity},
		}).Error
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

func validCapacity(in MatchEventInput) error {
	for _, c := range []struct {
		field string
		v     *int
	}{{"maleCapacity", in.MaleCapacity}, {"femaleCapacity", in.FemaleCapacity}} {
		if c.v != nil && (*c.v < 1 || *c.v > MaxMatchQuota) {
			return apperr.Invalid(c.field, fmt.Sprintf("每个性别的名额应在 1 到 %d 人之间", MaxMatchQuota))
		}
	}
	return nil
}

// applyMatchEventInput validates in against e and writes it into e.
func applyMatchEventInput(e *models.MatchEvent, in MatchEventInput, isNew bool) error {
	var err error
	if in.Title != nil || isNew {
		if e.Title, err = core.CleanText("title", core.Deref(in.Title), 2, 100); err != nil {
			return err
		}
	}
	if in.Description != nil {
		if e.Description, err = core.CleanText("description", *in.Description, 0, 5000); err != nil {
			return err
		}
	}
	if in.Place != nil || isNew {
		if e.Place, err = core.CleanText("place", core.Deref(in.Place), 2, 200); err != nil {
			return err
		}
	}
	times := []struct {
		field string
		v     *time.Time
		dst   *time.Time
	}{
		{"startsAt", in.StartsAt, &e.StartsAt}, {"endsAt", in.EndsAt, &e.EndsAt}, {"pickClosesAt", in.PickClosesAt, &e.PickClosesAt},
		{"signUpOpensAt", in.SignUpOpensAt, &e.SignUpOpensAt}, {"signUpClosesAt", in.SignUpClosesAt, &e.SignUpClosesAt},
	}
	for _, t := range times {
		if t.v != nil {
			*t.dst = t.v.UTC()
		} else if isNew {
			return apperr.Invalid(t.field, "请填写时间")
		}
	}
	switch {
	case !e.SignUpOpensAt.Before(e.SignUpClosesAt):
		return apperr.Invalid("signUpClosesAt", "报名截止时间须晚于开始时间")
	case e.StartsAt.Before(e.SignUpClosesAt):
		return apperr.Invalid("startsAt", "活动开始时间不能早于报名截止时间")
	case !e.StartsAt.Before(e.EndsAt):
		return apperr.Invalid("endsAt", "活动结束时间须晚于开始时间")
	case e.PickClosesAt.Before(e.EndsAt):
		return apperr.Invalid("pickClosesAt", "心动选择截止时间不能早于活动结束时间")
	case e.PickClosesAt.Sub(e.EndsAt) > 14*24*time.Hour:
		return apperr.Invalid("pickClosesAt", "心动选择期最长 14 天")
	}
	if in.MinAge != nil {
		e.EligMinAge = in.MinAge
	}
	if in.MaxAge != nil {
		e.EligMaxAge = in.MaxAge
	}
	for _, a := range []struct {
		field string
		v     *int
	}{{"minAge", e.EligMinAge}, {"maxAge", e.EligMaxAge}} {
		if a.v != nil && (*a.v < 18 || *a.v > 80) {
			return apperr.Invalid(a.field, "年龄应在 18 到 80 岁之间")
		}
	}
	if e.EligMinAge != nil && e.EligMaxAge != nil && *e.EligMinAge > *e.EligMaxAge {
		return apperr.Invalid("maxAge", "最大年龄不能小于最小年龄")
	}
	if in.SelectionMode != nil {
		if !in.SelectionMode.IsValid() {
			return apperr.Invalid("selectionMode", "选择方式不正确")
		}
		e.SelectionMode = *in.SelectionMode
	}
	if in.MaxPicks != nil {
		if *in.MaxPicks < 1 || *in.MaxPicks > maxMatchPicks {
			return apperr.Invalid("maxPicks", fmt.Sprintf("每人可选 1 到 %d 位", maxMatchPicks))
		}
		e.MaxPicks = *in.MaxPicks
	}
	return nil
}

// lockMatchEvent takes event id's row lock and loads it, checking scope.
func (s *Service) lockMatchEvent(tx *gorm.DB, sc *core.Scope, id int64, e *models.MatchEvent) (*models.Union, error) {
	return core.OfferingInScope(tx, sc, id, e, func(e *models.MatchEvent) int64 { return e.UnionID }, errMatchEventNotFound, true)
}

// UpdateMatchEvent changes an event of the caller's scope; version must be
// the one the edit started from. The selection mode is fixed once published;
// a quota never drops below the seats given (a larger one promotes the
// waitlist). Codes: VALIDATION_FAILED, FORBIDDEN, CONFLICT.
func (s *Service) UpdateMatchEvent(ctx context.Context, id int64, version int, in MatchEventInput) (*models.MatchEvent, error) {
	if err := validCapacity(in); err != nil {
		return nil, err
	}
	var e models.MatchEvent
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := s.lockMatchEvent(tx, sc, id, &e); err != nil {
			return err
		}
		if e.Version != version {
			return errMatchConflict
		}
		if e.Status == models.OfferingCancelled || e.Status == models.OfferingClosed {
			return apperr.New(apperr.Conflict, "已结束或已取消的活动不能再修改")
		}
		if in.SelectionMode != nil && *in.SelectionMode != e.SelectionMode && e.Status != models.OfferingDraft {
			return apperr.Invalid("selectionMode", "活动发布后不能更改选择方式")
		}
		if err := applyMatchEventInput(&e, in, false); err != nil {
			return err
		}
		now := s.Clock().Now()
		for _, q := range []struct {
			g models.Gender
			v *int
		}{{models.GenderMale, in.MaleCapacity}, {models.GenderFemale, in.FemaleCapacity}} {
			if q.v == nil {
				continue
			}
			var quota models.MatchQuota
			if err := tx.Take(&quota, "event_id = ? AND gender = ?", e.ID, q.g).Error; err != nil {
				return err
			}
			if _, err := seats.Lock(tx, matchSeats, quota.ID); err != nil {
				return err
			}
			if _, err := seats.Resize(tx, matchSeats, quota.ID, *q.v, quota.WaitlistLimit, now); err != nil {
				return err
			}
		}
		// Matchmaking's eligibility is its ages only (and the host's subtree,
		// fixed at creation): not the shared columns.
		err = core.SaveVersioned(tx, &models.MatchEvent{}, e.ID, version, now, map[string]any{
			"title": e.Title, "description": e.Description, "place": e.Place, "starts_at": e.StartsAt, "ends_at": e.EndsAt,
			"pick_closes_at": e.PickClosesAt, "sign_up_opens_at": e.SignUpOpensAt, "sign_up_closes_at": e.SignUpClosesAt,
			"selection_mode": e.SelectionMode, "max_picks": e.MaxPicks, "elig_min_age": e.EligMinAge, "elig_max_age": e.EligMaxAge,
		}, errMatchConflict)
		if err != nil {
			return err
		}
		return tx.Take(&e, e.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// PublishMatchEvent makes a draft visible to members. Codes: FORBIDDEN,
// CONFLICT (not a draft).
func (s *Service) PublishMatchEvent(ctx context.Context, id int64) (*models.MatchEvent, error) {
	return s.setMatchEventStatus(ctx, id, func(e *models.MatchEvent, now time.Time) (map[string]any, error) {
		if e.Status == models.OfferingPublished {
			return nil, nil // a retry
		}
		if e.Status != models.OfferingDraft {
			return nil, apperr.New(apperr.Conflict, "只有草稿可以发布")
		}
		return map[string]any{"status": models.OfferingPublished, "published_at": now}, nil
	})
}

// CancelMatchEvent cancels an event and every sign-up of it, with reason.
// Codes: VALIDATION_FAILED (reason), FORBIDDEN.
func (s *Service) CancelMatchEvent(ctx context.Context, id int64, reason string) (*models.MatchEvent, error) {
	reason, err := core.CleanText("reason", reason, 2, 200)
	if err != nil {
		return nil, err
	}
	return s.setMatchEventStatus(ctx, id, func(e *models.MatchEvent, now time.Time) (map[string]any, error) {
		if e.Status == models.OfferingCancelled {
			return nil, nil
		}
		return map[string]any{"status": models.OfferingCancelled, "cancel_reason": reason}, nil
	})
}

func (s *Service) setMatchEventStatus(ctx context.Context, id int64, change func(*models.MatchEvent, time.Time) (map[string]any, error)) (*models.MatchEvent, error) {
	var e models.MatchEvent
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := s.lockMatchEvent(tx, sc, id, &e); err != nil {
			return err
		}
		now := s.Clock().Now()
		set, err := change(&e, now)
		if err != nil || set == nil {
			return err
		}
		set["version"], set["updated_at"] = gorm.Expr("version + 1"), now
		if err := tx.Model(&models.MatchEvent{}).Where("id = ?", e.ID).Updates(set).Error; err != nil {
			return err
		}
		if set["status"] == models.OfferingCancelled {
			// Quotas before holds: the seat mechanism's lock order.
			var quotas []int64
			if err := tx.Model(&models.MatchQuota{}).Where("event_id = ?", e.ID).Order("id").Pluck("id", &quotas).Error; err != nil {
				return err
			}
			for _, q := range quotas {
				if _, err := seats.Lock(tx, matchSeats, q); err != nil {
					return err
				}
			}
			if err := tx.Model(&models.MatchSignUp{}).Where("event_id = ? AND active = ?", e.ID, true).Updates(map[string]any{
				"status": models.MatchSignUpCancelled, "active": nil, "ended_at": now, "updated_at": now}).Error; err != nil {
				return err
			}
			for _, q := range quotas {
				if err := seats.Clear(tx, matchSeats, q); err != nil {
					return err
				}
			}
		}
		return tx.Take(&e, e.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// MatchEvents lists the events the caller may see (members: published or
// closed by a union on their chain; admins: their subtree), newest first.
func (s *Service) MatchEvents(ctx context.Context, unionID *int64, status *models.OfferingStatus, first *int, after *string) (page.Page[*models.MatchEvent], error) {
	var empty page.Page[*models.MatchEvent]
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return empty, err
	}
	q, none, err := s.VisibleOfferings(ctx, s.Q(ctx).Model(&models.MatchEvent{}), unionID, status)
	if err != nil || none {
		return empty, err
	}
	return core.ByIDPage[*models.MatchEvent](q, pa, true)
}

// MatchEvent loads one event for the caller. Codes: NOT_FOUND, FORBIDDEN.
func (s *Service) MatchEvent(ctx context.Context, id int64) (*models.MatchEvent, error) {
	var e models.MatchEvent
	err := core.GetOffering(ctx, s.Core, id, &e, func(e *models.MatchEvent) int64 { return e.UnionID },
		func(e *models.MatchEvent) bool { return e.Status == models.OfferingDraft }, errMatchEventNotFound)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// MatchQuotas are the event's pools, male first.
func (s *Service) MatchQuotas(ctx context.Context, eventID int64) ([]*models.MatchQuota, error) {
	var qs []*models.MatchQuota
	return qs, s.Q(ctx).Where("event_id = ?", eventID).Order("gender DESC").Find(&qs).Error
}

// matchIneligibility is why the viewer may not sign up for e at now ("" if
// they may): the event's union and age range (the shared eligibility), a
// gender with a quota, and a single declaration.
func matchIneligibility(v *core.Viewer, prof *models.MatchProfile, e *models.MatchEvent, now time.Time) string {
	if r := v.Ineligibility(&e.Eligibility, now); r != "" {
		return r
	}
	if v.Member.Gender != models.GenderMale && v.Member.Gender != models.GenderFemale {
		return "缺少性别信息，请先完成实名认证"
	}
	if prof == nil || prof.SingleDeclaredAt == nil {
		return "仅限已声明单身的职工报名，请先声明单身"
	}
	return ""
}

// matchSignUpWindow is the event's own condition for a sign-up now.
func matchSignUpWindow(e *models.MatchEvent, now time.Time) error {
	switch {
	case e.Status == models.OfferingCancelled:
		return apperr.New(apperr.WindowClosed, "联谊活动已取消")
	case e.AllocatedAt != nil:
		return apperr.New(apperr.WindowClosed, "已完成抽签，报名已截止")
	case e.Status != models.OfferingPublished, !now.Before(e.SignUpClosesAt):
		return apperr.New(apperr.WindowClosed, "报名已截止")
	case now.Before(e.SignUpOpensAt):
		return apperr.Newf(apperr.WindowClosed, "报名尚未开始，将于 %s 开放", clock.Minutes(e.SignUpOpensAt))
	}
	return nil
}

// SignUpMatchEvent signs the calling member up. FIRST_COME confirms while
// the member's gender's quota lasts (the seat mechanism, so the quota holds
// under any rush and across instances) and refuses with FULL after; ADMIN
// review gives PENDING. A retry returns the same sign-up.
// Codes: NOT_FOUND, WINDOW_CLOSED, NOT_ELIGIBLE (with the reason), FULL.
func (s *Service) SignUpMatchEvent(ctx context.Context, eventID int64) (*models.MatchSignUp, error) {
	v, err := s.Viewer(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.MatchEvent(ctx, eventID)
	if err != nil {
		return nil, err
	}
	mine := func() (*models.MatchSignUp, error) { return s.activeMatchSignUp(s.Q(ctx), e.ID, v.Member.ID) }
	if su, err := mine(); err != nil || su != nil {
		return su, err
	}
	now := s.Clock().Now()
	if err := matchSignUpWindow(e, now); err != nil {
		return nil, err
	}
	var prof []*models.MatchProfile
	if err := s.Q(ctx).Where("member_id = ?", v.Member.ID).Limit(1).Find(&prof).Error; err != nil {
		return nil, err
	}
	var p *models.MatchProfile
	if len(prof) == 1 {
		p = prof[0]
	}
	if r := matchIneligibility(v, p, e, now); r != "" {
		return nil, apperr.New(apperr.NotEligible, r)
	}
	var quota models.MatchQuota
	if err := s.Q(ctx).Take(&quota, "event_id = ? AND gender = ?", e.ID, v.Member.Gender).Error; err != nil {
		return nil, err
	}
	active := true
	newHold := func(status models.MatchSignUpStatus, waitSeq *int64) *models.MatchSignUp {
		return &models.MatchSignUp{EventID: e.ID, QuotaID: quota.ID, MemberID: v.Member.ID, Status: status,
			Active: &active, WaitSeq: waitSeq, CreatedAt: now, UpdatedAt: now}
	}
	if e.SelectionMode == models.MatchFirstCome {
		return core.SeatRush[models.MatchSignUp]{
			Spec: matchSeats, PoolID: quota.ID, Holder: v.Member.ID,
			Open: seats.Open{
				SQL:  "EXISTS (SELECT 1 FROM match_events me WHERE me.id = match_quotas.event_id AND me.status = ? AND me.sign_up_opens_at <= ? AND me.sign_up_closes_at > ?)",
				Args: []any{models.OfferingPublished, now, now},
			},
			Cached: func() error { return matchSignUpWindow(e, now) },
			Fresh: func() (*models.MatchSignUp, error) {
				if su, err := mine(); err != nil || su != nil {
					return su, err
				}
				var cur models.MatchEvent
				if err := s.Q(ctx).Take(&cur, e.ID).Error; err != nil {
					return nil, err
				}
				return nil, matchSignUpWindow(&cur, now)
			},
			Hold: func(g seats.Grant) *models.MatchSignUp { return newHold(models.MatchSignUpStatus(g.Status), g.WaitSeq) },
		}.Take(ctx, s.Core)
	}
	// LOTTERY and ADMIN: PENDING. The draw takes the quota locks too, so a
	// sign-up lands either before it (and takes part) or after (refused).
	su := newHold(models.MatchSignUpPending, nil)
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := seats.Lock(tx, matchSeats, quota.ID); err != nil {
			return err
		}
		var cur models.MatchEvent
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&cur, e.ID).Error; err != nil {
			return err
		}
		if err := matchSignUpWindow(&cur, now); err != nil {
			return err
		}
		return tx.Create(su).Error
	})
	if store.IsDuplicate(err) {
		return mine()
	}
	if err != nil {
		return nil, err
	}
	return su, nil
}

func (s *Service) activeMatchSignUp(db *gorm.DB, eventID, memberID int64) (*models.MatchSignUp, error) {
	var rows []*models.MatchSignUp
	if err := db.Where("event_id = ? AND member_id = ? AND active = ?", eventID, memberID, true).Limit(1).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return rows[0], nil
}

// WithdrawMatchSignUp ends the calling member's sign-up before the event
// starts; a confirmed seat passes to the head of the gender's waitlist.
// Codes: NOT_FOUND, WINDOW_CLOSED.
func (s *Service) WithdrawMatchSignUp(ctx context.Context, eventID int64) (*models.MatchSignUp, error) {
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	var out *models.MatchSignUp
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		su, err := s.activeMatchSignUp(tx, eventID, p.ID)
		if err != nil {
			return err
		}
		if su == nil {
			return apperr.New(apperr.NotFound, "没有可取消的报名")
		}
		var e models.MatchEvent
		if err := tx.Take(&e, eventID).Error; err != nil {
			return err
		}
		now := s.Clock().Now()
		if !now.Before(e.StartsAt) {
			return apperr.New(apperr.WindowClosed, "活动已开始，不能取消报名")
		}
		if _, err := seats.Lock(tx, matchSeats, su.QuotaID); err != nil {
			return err
		}
		res := tx.Model(&models.MatchSignUp{}).Where("id = ? AND status = ?", su.ID, su.Status).Updates(map[string]any{
			"status": models.MatchSignUpWithdrawn, "active": nil, "ended_at": now, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return apperr.New(apperr.Conflict, "报名状态刚有变化，请刷新后重试")
		}
		if su.Status != models.MatchSignUpPending {
			if _, err := seats.Release(tx, matchSeats, su.QuotaID, string(su.Status), now); err != nil {
				return err
			}
		}
		out = su
		out.Status, out.Active, out.EndedAt = models.MatchSignUpWithdrawn, nil, &now
		return nil
	})
	return out, err
}

// SelectMatchParticipants confirms pending sign-ups of an ADMIN-review event,
// each within its gender's quota: a sign-up beyond it is refused with FULL
// and nothing of the call is kept. Codes: FORBIDDEN, VALIDATION_FAILED,
// FULL, CONFLICT (not an ADMIN event).
func (s *Service) SelectMatchParticipants(ctx context.Context, eventID int64, signUpIDs []int64) ([]*models.MatchSignUp, error) {
	if len(signUpIDs) == 0 || len(signUpIDs) > 500 {
		return nil, apperr.Invalid("signUpIds", "请选择 1 到 500 条报名")
	}
	var out []*models.MatchSignUp
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		var e models.MatchEvent
		u, err := s.lockMatchEvent(tx, sc, eventID, &e)
		if err != nil {
			return err
		}
		if e.SelectionMode != models.MatchAdminReview {
			return apperr.New(apperr.Conflict, "该活动不是人工审核方式")
		}
		var quotas []int64
		if err := tx.Model(&models.MatchQuota{}).Where("event_id = ?", e.ID).Order("id").Pluck("id", &quotas).Error; err != nil {
			return err
		}
		for _, q := range quotas {
			if _, err := seats.Lock(tx, matchSeats, q); err != nil {
				return err
			}
		}
		var sus []*models.MatchSignUp
		if err := tx.Where("event_id = ? AND id IN ? AND status = ?", e.ID, signUpIDs, models.MatchSignUpPending).Order("id").Find(&sus).Error; err != nil {
			return err
		}
		if len(sus) != len(signUpIDs) {
			return apperr.Invalid("signUpIds", "部分报名不存在或已处理")
		}
		now := s.Clock().Now()
		for _, su := range sus {
			// A seat only while the gender's quota has one; no waitlist here.
			ok, err := seats.Admit(tx, matchSeats, su.QuotaID)
			if err != nil {
				return err
			}
			if !ok {
				return apperr.New(apperr.Full, "所选人数超过该性别的名额")
			}
			su.Status, su.UpdatedAt = models.MatchSignUpConfirmed, now
			if err := tx.Model(su).Select("status", "updated_at").Updates(su).Error; err != nil {
				return err
			}
		}
		out = sus
		return s.Audit(ctx, tx, sc.Admin.ID, "MATCH_SELECT", "match_event", &e.ID, &u.ID, fmt.Sprintf("selected=%d", len(sus)))
	})
	return out, err
}

// MyMatchSignUps lists the calling member's sign-ups, newest first.
func (s *Service) MyMatchSignUps(ctx context.Context, first *int, after *string) (page.Page[*models.MatchSignUp], error) {
	return core.MyHolds[*models.MatchSignUp](ctx, s.Core, core.BookingFilter{}, first, after)
}

// CheckInMatchEvent checks the calling member in with the code shown at the
// venue (in any case), inside the event's check-in window (checkInOpen:
// from two hours before the start until the end). Codes: NOT_FOUND (no
// confirmed sign-up), VALIDATION_FAILED (code), WINDOW_CLOSED.
func (s *Service) CheckInMatchEvent(ctx context.Context, eventID int64, code string) (*models.MatchSignUp, error) {
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	su, err := s.activeMatchSignUp(s.Q(ctx), eventID, p.ID)
	if err != nil {
		return nil, err
	}
	if su == nil || su.Status != models.MatchSignUpConfirmed {
		return nil, apperr.New(apperr.NotFound, "您没有本场活动的入选报名")
	}
	if su.CheckedInAt != nil {
		return su, nil // a retry
	}
	var e models.MatchEvent
	if err := s.Q(ctx).Take(&e, eventID).Error; err != nil {
		return nil, err
	}
	now := s.Clock().Now()
	if e.Status != models.OfferingPublished {
		return nil, apperr.New(apperr.WindowClosed, "活动未在进行，不能签到")
	}
	if err := core.CheckInOpen(now, e.StartsAt, e.EndsAt); err != nil {
		return nil, err
	}
	// Both sides read alike: the stored code may predate newCode's alphabet
	// (the demo's DEMO2026 has an O).
	if core.NormalizeCode(code) != core.NormalizeCode(e.CheckinCode) {
		return nil, apperr.Invalid("code", "签到码不正确")
	}
	if err := s.Q(ctx).Model(&models.MatchSignUp{}).Where("id = ? AND checked_in_at IS NULL", su.ID).
		Updates(map[string]any{"checked_in_at": now, "updated_at": now}).Error; err != nil {
		return nil, err
	}
	return su, s.Q(ctx).Take(su, su.ID).Error
}

// participant is the calling member's checked-in sign-up of an event whose
// profiles are open now. Everyone else gets FORBIDDEN (NOT_FOUND for an
// event they cannot see).
func (s *Service) participant(ctx context.Context, eventID int64) (*models.MatchEvent, int64, error) {
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return nil, 0, err
	}
	e, err := s.MatchEvent(ctx, eventID)
	if err != nil {
		return nil, 0, err
	}
	su, err := s.activeMatchSignUp(s.Q(ctx), eventID, p.ID)
	if err != nil {
		return nil, 0, err
	}
	if su == nil || su.CheckedInAt == nil {
		return nil, 0, errNotParticipant
	}
	if !e.ProfilesOpen(s.Clock().Now()) {
		return nil, 0, apperr.New(apperr.Forbidden, "仅在活动期间和心动选择期内可以查看")
	}
	return e, p.ID, nil
}

// MatchParticipant is another checked-in participant as a participant sees
// them: the profile, and whether the viewer picked them (never whether they
// picked the viewer).
type MatchParticipant struct {
	MemberID   int64
	Gender     models.Gender
	Profile    *models.MatchProfile
	PickedByMe bool
}

// MatchEventParticipants lists the event's checked-in participants of the
// other gender (those one may pick: one quota, so at most MaxMatchQuota) for
// a checked-in participant, during the event and its pick window.
// Codes: FORBIDDEN, NOT_FOUND.
func (s *Service) MatchEventParticipants(ctx context.Context, eventID int64) ([]*MatchParticipant, error) {
	e, me, err := s.participant(ctx, eventID)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		MemberID int64
		Gender   models.Gender
	}
	if err := s.Q(ctx).Table("match_sign_ups").Select("match_sign_ups.member_id, members.gender").
		Joins("JOIN members ON members.id = match_sign_ups.member_id").
		Where("match_sign_ups.event_id = ? AND match_sign_ups.active = ? AND match_sign_ups.checked_in_at IS NOT NULL", e.ID, true).
		Where("match_sign_ups.quota_id <> (SELECT quota_id FROM match_sign_ups mine WHERE mine.event_id = ? AND mine.member_id = ? AND mine.active = ?)", e.ID, me, true).
		Order("match_sign_ups.id").Scan(&rows).Error; err != nil {
		return nil, err
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.MemberID
	}
	var profs []*models.MatchProfile
	if err := s.Q(ctx).Where("member_id IN ?", ids).Find(&profs).Error; err != nil {
		return nil, err
	}
	byID := map[int64]*models.MatchProfile{}
	for _, p := range profs {
		byID[p.MemberID] = p
	}
	var picked []int64
	if err := s.Q(ctx).Model(&models.MatchPick{}).Where("event_id = ? AND picker_id = ?", e.ID, me).Pluck("picked_id", &picked).Error; err != nil {
		return nil, err
	}
	pickedSet := map[int64]bool{}
	for _, id := range picked {
		pickedSet[id] = true
	}
	out := make([]*MatchParticipant, len(rows))
	for i, r := range rows {
		prof := byID[r.MemberID]
		if prof == nil {
			prof = &models.MatchProfile{MemberID: r.MemberID}
		}
		out[i] = &MatchParticipant{MemberID: r.MemberID, Gender: r.Gender, Profile: prof, PickedByMe: pickedSet[r.MemberID]}
	}
	return out, nil
}

// checkedInOther reports whether member other is a checked-in participant of
// the event of the other gender than me. Codes: NOT_FOUND.
func (s *Service) checkedInOther(db *gorm.DB, eventID, me, other int64) error {
	if other == me {
		return apperr.Invalid("participantId", "不能选择自己")
	}
	var n int64
	if err := db.Model(&models.MatchSignUp{}).Where("event_id = ? AND member_id = ? AND active = ? AND checked_in_at IS NOT NULL",
		eventID, other, true).
		Where("quota_id <> (SELECT quota_id FROM match_sign_ups mine WHERE mine.event_id = ? AND mine.member_id = ? AND mine.active = ?)", eventID, me, true).
		Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return apperr.New(apperr.NotFound, "该参与者不存在")
	}
	return nil
}

// PickParticipant records the calling participant's pick of another,
// during the pick window (the event and after it until pickClosesAt). A
// second pick of the same person changes nothing. Codes: FORBIDDEN,
// NOT_FOUND, LIMIT_REACHED (K picks made).
func (s *Service) PickParticipant(ctx context.Context, eventID, otherID int64) error {
	e, me, err := s.participant(ctx, eventID)
	if err != nil {
		return err
	}
	if err := s.checkedInOther(s.Q(ctx), e.ID, me, otherID); err != nil {
		return err
	}
	return s.Tx(ctx, func(tx *gorm.DB) error {
		// The picker's own sign-up row serialises their picks, so the limit
		// holds when one member picks from two phones at once. On MySQL the
		// counts below see the picks committed before the lock: a
		// transaction's snapshot starts at its first plain read, which comes
		// after this locking write.
		if err := lockRow(tx, "match_sign_ups", "event_id = ? AND member_id = ? AND active = ?", e.ID, me, true); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&models.MatchPick{}).Where("event_id = ? AND picker_id = ?", e.ID, me).Count(&n).Error; err != nil {
			return err
		}
		var dup int64
		if err := tx.Model(&models.MatchPick{}).Where("event_id = ? AND picker_id = ? AND picked_id = ?", e.ID, me, otherID).Count(&dup).Error; err != nil {
			return err
		}
		if dup > 0 {
			return nil
		}
		if int(n) >= e.MaxPicks {
			return apperr.Newf(apperr.LimitReached, "每人最多选择 %d 位", e.MaxPicks)
		}
		err := tx.Create(&models.MatchPick{EventID: e.ID, PickerID: me, PickedID: otherID, CreatedAt: s.Clock().Now()}).Error
		if store.IsDuplicate(err) {
			return nil
		}
		return err
	})
}

// lockRow makes the rows of table matching where current and locked until
// commit on MySQL (an UPDATE that changes nothing), and is a no-op write on
// SQLite, whose write transactions are exclusive already.
func lockRow(tx *gorm.DB, table, where string, args ...any) error {
	return tx.Exec("UPDATE "+table+" SET updated_at = updated_at WHERE "+where, args...).Error
}

// WithdrawPick removes the calling participant's pick until the pick window
// closes. Codes: FORBIDDEN, NOT_FOUND.
func (s *Service) WithdrawPick(ctx context.Context, eventID, otherID int64) error {
	e, me, err := s.participant(ctx, eventID)
	if err != nil {
		return err
	}
	return s.Q(ctx).Where("event_id = ? AND picker_id = ? AND picked_id = ?", e.ID, me, otherID).Delete(&models.MatchPick{}).Error
}

// MatchContact is the other member of a match, as the pair sees each other.
type MatchContact struct {
	EventID  int64
	MemberID int64
	Nickname string
	Mobile   string
	WechatID string
}

// matchedPairs is the sub-query of the mutual picks of events, minus the
// blocked pairs: each match appears once per side (picker_id is the side).
func matchedPairs(db *gorm.DB) *gorm.DB {
	return db.Table("match_picks a").
		Joins("JOIN match_picks b ON b.event_id = a.event_id AND b.picker_id = a.picked_id AND b.picked_id = a.picker_id").
		Where("NOT EXISTS (SELECT 1 FROM match_blocks x WHERE (x.blocker_id = a.picker_id AND x.blocked_id = a.picked_id) OR (x.blocker_id = a.picked_id AND x.blocked_id = a.picker_id))")
}

// MyMatches lists the calling member's matches with each other's contact.
func (s *Service) MyMatches(ctx context.Context) ([]*MatchContact, error) {
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	var out []*MatchContact
	err = matchedPairs(s.Q(ctx)).
		Select("a.event_id, a.picked_id AS member_id, COALESCE(mp.nickname, '') AS nickname, m.phone AS mobile, COALESCE(mp.wechat_id, '') AS wechat_id").
		Joins("JOIN members m ON m.id = a.picked_id").
		Joins("LEFT JOIN match_profiles mp ON mp.member_id = a.picked_id").
		Where("a.picker_id = ?", p.ID).Order("a.event_id DESC, a.picked_id").Scan(&out).Error
	return out, err
}

// BlockParticipant keeps the calling member and another participant of an
// event they took part in from ever matching (an existing match ends).
// Idempotent. Codes: FORBIDDEN, NOT_FOUND.
func (s *Service) BlockParticipant(ctx context.Context, eventID, otherID int64) error {
	e, me, err := s.participant(ctx, eventID)
	if err != nil {
		return err
	}
	if err := s.checkedInOther(s.Q(ctx), e.ID, me, otherID); err != nil {
		return err
	}
	err = s.Q(ctx).Create(&models.MatchBlock{BlockerID: me, BlockedID: otherID, EventID: e.ID, CreatedAt: s.Clock().Now()}).Error
	if store.IsDuplicate(err) {
		return nil
	}
	return err
}

// ReportParticipant records a report on another participant for the admins.
// Codes: FORBIDDEN, NOT_FOUND, VALIDATION_FAILED (reason), ALREADY_EXISTS.
func (s *Service) ReportParticipant(ctx context.Context, eventID, otherID int64, reason string) error {
	reason, err := core.CleanText("reason", reason, 2, 500)
	if err != nil {
		return err
	}
	e, me, err := s.participant(ctx, eventID)
	if err != nil {
		return err
	}
	if err := s.checkedInOther(s.Q(ctx), e.ID, me, otherID); err != nil {
		return err
	}
	err = s.Q(ctx).Create(&models.MatchReport{EventID: e.ID, ReporterID: me, ReportedID: otherID, Reason: reason, CreatedAt: s.Clock().Now()}).Error
	if store.IsDuplicate(err) {
		return apperr.New(apperr.AlreadyExists, "您已举报过该参与者")
	}
	return err
}

// MatchStats are the counts of events: sign-ups (ever made), selected
// (holding a seat), attended (checked in) and matches (pairs).
type MatchStats struct {
	Events, SignUps, Selected, Attended, Matches int
}

// MatchEventStats counts one event (eventID set) or every event of a union's
// subtree, for an admin of it. Counts only: no personal data.
// Codes: FORBIDDEN, NOT_FOUND.
func (s *Service) MatchEventStats(ctx context.Context, eventID, unionID *int64) (*MatchStats, error) {
	sc, err := s.AdminScope(ctx, s.Q(ctx))
	if err != nil {
		return nil, err
	}
	events := s.Q(ctx).Model(&models.MatchEvent{}).Select("id")
	if eventID != nil {
		var e models.MatchEvent
		if _, err := core.OfferingInScope(s.Q(ctx), sc, *eventID, &e, func(e *models.MatchEvent) int64 { return e.UnionID }, errMatchEventNotFound, false); err != nil {
			return nil, err
		}
		events = events.Where("id = ?", e.ID)
	} else {
		root, err := s.UnionOrRoot(s.Q(ctx), sc, unionID)
		if err != nil {
			return nil, err
		}
		events = events.Where("union_id IN (?) AND status <> ?", core.SubtreeUnionIDs(s.Q(ctx), root.Path), models.OfferingDraft)
	}
	var st MatchStats
	var counts struct{ Events, SignUps, Selected, Attended int }
	if err := s.Q(ctx).Raw(`SELECT
	  (SELECT COUNT(*) FROM match_events WHERE id IN (?)) AS events,
	  (SELECT COUNT(*) FROM match_sign_ups WHERE event_id IN (?)) AS sign_ups,
	  (SELECT COUNT(*) FROM match_sign_ups WHERE event_id IN (?) AND status = ?) AS selected,
	  (SELECT COUNT(*) FROM match_sign_ups WHERE event_id IN (?) AND checked_in_at IS NOT NULL) AS attended`,
		events, events, events, models.MatchSignUpConfirmed, events).Scan(&counts).Error; err != nil {
		return nil, err
	}
	var sides int64
	if err := matchedPairs(s.Q(ctx)).Where("a.event_id IN (?)", events).Count(&sides).Error; err != nil {
		return nil, err
	}
	st.Events, st.SignUps, st.Selected, st.Attended, st.Matches = counts.Events, counts.SignUps, counts.Selected, counts.Attended, int(sides/2)
	return &st, nil
}

// MatchCheckinCode is the event's venue code for admins (who reach an event
// only inside their scope), nil for members.
func MatchCheckinCode(ctx context.Context, e *models.MatchEvent) *string {
	if p := auth.PrincipalFrom(ctx); p != nil && p.IsAdmin() {
		return &e.CheckinCode
	}
	return nil
}

// MyMatchSignUp is the calling member's active sign-up of event id (nil for
// admins and for members without one).
func (s *Service) MyMatchSignUp(ctx context.Context, eventID int64) (*models.MatchSignUp, error) {
	p := auth.PrincipalFrom(ctx)
	if p == nil || !p.IsMember() {
		return nil, nil
	}
	return s.activeMatchSignUp(s.Q(ctx), eventID, p.ID)
}

// MatchSignUpEvent is the event of a sign-up the caller already holds.
func (s *Service) MatchSignUpEvent(ctx context.Context, su *models.MatchSignUp) (*models.MatchEvent, error) {
	var e models.MatchEvent
	return &e, s.Q(ctx).Take(&e, su.EventID).Error
}

// matchAllocationKind names matchmaking's runs in allocation_runs.
const matchAllocationKind = "match"

// AllocateDueMatchEvents draws the seats of every LOTTERY event whose
// sign-up window has closed (the periodic job, on every instance; each
// event's run is claimed once). It returns how many this call drew.
func (s *Service) AllocateDueMatchEvents(ctx context.Context) (int, error) {
	var ids []int64
	if err := s.Q(ctx).Model(&models.MatchEvent{}).
		Where("status = ? AND allocated_at IS NULL AND sign_up_closes_at <= ? AND selection_mode = ?",
			models.OfferingPublished, s.Clock().Now(), models.MatchLottery).
		Order("id").Limit(500).Pluck("id", &ids).Error; err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		ran, err := s.allocateMatchEvent(ctx, id)
		if err != nil {
			return n, err
		}
		if ran {
			n++
		}
	}
	return n, nil
}

// allocateMatchEvent claims event id's draw and, when this caller got it,
// gives out each gender's seats in the same transaction
// (internal/allocation, one bucket per gender): pending sign-ups in
// allocation order become CONFIRMED up to the quota, the rest REJECTED.
// Members who never checked in at a matchmaking event go first (rank 0),
// so newcomers get their chance. It reports whether it ran.
func (s *Service) allocateMatchEvent(ctx context.Context, id int64) (bool, error) {
	ran := false
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		ran = false
		now := s.Clock().Now()
		ok, err := allocation.Claim(tx, matchAllocationKind, id, now)
		if err != nil || !ok {
			return err
		}
		var quotas []models.MatchQuota
		if err := tx.Where("event_id = ?", id).Order("id").Find(&quotas).Error; err != nil {
			return err
		}
		for _, q := range quotas {
			if _, err := seats.Lock(tx, matchSeats, q.ID); err != nil {
				return err
			}
		}
		var e models.MatchEvent
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&e, id).Error; err != nil {
			return err
		}
		if e.SelectionMode != models.MatchLottery || e.Status != models.OfferingPublished || e.AllocatedAt != nil {
			return core.ErrNothingToAllocate
		}
		var pending []struct {
			ID        int64
			CreatedAt time.Time
			Gender    string
			Veteran   bool
		}
		if err := tx.Table("match_sign_ups su").
			Select("su.id, su.created_at, q.gender, EXISTS (SELECT 1 FROM match_sign_ups p WHERE p.member_id = su.member_id AND p.event_id <> su.event_id AND p.checked_in_at IS NOT NULL) AS veteran").
			Joins("JOIN match_quotas q ON q.id = su.quota_id").
			Where("su.event_id = ? AND su.status = ?", id, models.MatchSignUpPending).Order("su.id").Scan(&pending).Error; err != nil {
			return err
		}
		cands := make([]allocation.Candidate, len(pending))
		for i, r := range pending {
			rank := 0
			if r.Veteran {
				rank = 1
			}
			cands[i] = allocation.Candidate{ID: r.ID, Rank: rank, SignedUpAt: r.CreatedAt, Bucket: r.Gender}
		}
		spec := allocation.Spec{Mode: allocation.Lottery, Seed: e.LotterySeed, Seats: map[string]int{}, Waitlist: map[string]int{}}
		for _, q := range quotas {
			spec.Seats[string(q.Gender)] = q.Capacity
		}
		res := allocation.Allocate(spec, cands)
		if err := setMatchStatus(tx, res.Admitted, map[string]any{"status": models.MatchSignUpConfirmed, "updated_at": now}); err != nil {
			return err
		}
		if err := setMatchStatus(tx, res.Rejected, map[string]any{"status": models.MatchSignUpRejected, "active": nil,
			"reject_reason": "名额有限，本次抽签未入选", "ended_at": now, "updated_at": now}); err != nil {
			return err
		}
		for _, q := range quotas { // the seats the draw gave, counted from the sign-ups
			if err := seats.RecountSeats(tx, matchSeats, q.ID); err != nil {
				return err
			}
		}
		if err := tx.Model(&models.MatchEvent{}).Where("id = ? AND allocated_at IS NULL", id).
			Updates(map[string]any{"allocated_at": now, "updated_at": now}).Error; err != nil {
			return err
		}
		ran = true
		return allocation.Record(tx, matchAllocationKind, id, spec, len(cands), res)
	})
	if errors.Is(err, core.ErrNothingToAllocate) {
		return false, nil
	}
	return ran, err
}

// setMatchStatus applies updates to the sign-ups ids, a chunk a statement.
func setMatchStatus(tx *gorm.DB, ids []int64, updates map[string]any) error {
	for start := 0; start < len(ids); start += core.IDChunk {
		chunk := ids[start:min(start+core.IDChunk, len(ids))]
		if err := tx.Model(&models.MatchSignUp{}).Where("id IN ?", chunk).Updates(updates).Error; err != nil {
			return err
		}
	}
	return nil
}

// MatchLotterySeedHash is the commitment to a LOTTERY event's seed, shown
// from its creation; nil for other modes.
func MatchLotterySeedHash(e *models.MatchEvent) *string {
	if e.SelectionMode != models.MatchLottery {
		return nil
	}
	h := allocation.SeedHash(e.LotterySeed)
	return &h
}

// MatchLotterySeed is a drawn lottery's seed (nil before the draw).
func MatchLotterySeed(e *models.MatchEvent) *string {
	if e.SelectionMode != models.MatchLottery || e.AllocatedAt == nil {
		return nil
	}
	return &e.LotterySeed
}

// MatchDrawKey is a sign-up's lottery ticket once the draw is done.
func MatchDrawKey(e *models.MatchEvent, su *models.MatchSignUp) *string {
	if e.SelectionMode != models.MatchLottery || e.AllocatedAt == nil {
		return nil
	}
	k := allocation.DrawKey(e.LotterySeed, su.ID)
	return &k
}

// MatchEventSignUps lists an event's sign-ups in sign-up order for an admin
// of its scope (to select participants in ADMIN mode). Who signed up is
// marital data: each read is audited. Profiles are not part of it.
// Codes: FORBIDDEN, NOT_FOUND.
func (s *Service) MatchEventSignUps(ctx context.Context, eventID int64, status *models.MatchSignUpStatus, first *int, after *string) (page.Page[*models.MatchSignUp], error) {
	var empty page.Page[*models.MatchSignUp]
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return empty, err
	}
	var e models.MatchEvent
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := core.OfferingInScope(tx, sc, eventID, &e, func(e *models.MatchEvent) int64 { return e.UnionID }, errMatchEventNotFound, false); err != nil {
			return err
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "MATCH_SIGNUPS_READ", "match_event", &e.ID, &e.UnionID, "")
	})
	if err != nil {
		return empty, err
	}
	q := s.Q(ctx).Where("event_id = ?", e.ID)
	if status != nil {
		q = q.Where("status = ?", *status)
	}
	return core.ByIDPage[*models.MatchSignUp](q, pa, false)
}
