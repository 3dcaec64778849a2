package events

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/clock"
	"unionhall/internal/core"
	"unionhall/internal/page"
	"unionhall/internal/richtext"
	"unionhall/internal/seats"
	"unionhall/internal/store"
	"unionhall/models"
)

// Inclusive-benefit posts (普惠活动): admins publish to their union's
// subtree or to chosen sub-unions; members read a feed of what is published
// to their chain; a post may carry a sign-up with limited places.

// eventSeats is where posts keep their sign-up places.
var eventSeats = seats.Spec{Pools: "event_posts", Holds: "event_signups", PoolFK: "post_id"}

var (
	errEventNotFound       = apperr.New(apperr.NotFound, "活动不存在或已下架")
	errEventSignUpNotFound = apperr.New(apperr.NotFound, "报名记录不存在")
	errEventStale          = apperr.New(apperr.Conflict, "活动已被他人修改，请刷新后重试")
)

// cachedPost is a post as the sign-up rush reads it from the cache: with
// the unions it is published to.
type cachedPost struct {
	Post    models.EventPost
	Targets []int64
}

func newPostCache(db *store.DB) *core.OfferingCache[cachedPost] {
	return core.NewCacheWith(func(ctx context.Context, id int64) (cachedPost, error) {
		var c cachedPost
		if err := db.WithContext(ctx).Take(&c.Post, id).Error; err != nil {
			return c, err
		}
		err := db.WithContext(ctx).Model(&models.EventTarget{}).Where("post_id = ?", id).Pluck("union_id", &c.Targets).Error
		return c, err
	}, func(c cachedPost) int64 { return c.Post.ID })
}

// maxTargets bounds the sub-unions one post names.
const maxTargets = 200

// EventInput is a post as an admin writes it. For updates, nil fields keep
// their stored values.
type EventInput struct {
	UnionID    *int64 // create only: the publishing union
	Title      *string
	Category   *models.EventCategory
	BodyFormat *models.BodyFormat
	Body       *string
	CoverURL   *string
	// TargetUnionIDs are the sub-unions the post goes to (each with its
	// subtree); empty: the publishing union's whole subtree. nil on update:
	// unchanged.
	TargetUnionIDs []int64
	Pinned         *bool
	// PublishAt schedules publication; nil: when published.
	PublishAt *time.Time
	SignUp    *EventSignUpInput
}

// EventSignUpInput is a post's sign-up: limited places, a window, and who
// may sign up.
type EventSignUpInput struct {
	Capacity          int
	WaitlistLimit     int
	OpensAt, ClosesAt time.Time
	StartsAt, EndsAt  *time.Time
	Place             string
	Eligibility       *core.EligibilityInput
}

// CreateEvent stores a new post as a DRAFT in a union of the caller's
// scope. Codes: VALIDATION_FAILED (with field), FORBIDDEN.
func (s *Service) CreateEvent(ctx context.Context, in EventInput) (*models.EventPost, error) {
	var p models.EventPost
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
		p = models.EventPost{UnionID: pub.ID, Status: models.OfferingDraft, Version: 1, BodyFormat: models.BodyMarkdown,
			CreatedBy: sc.Admin.ID, CreatedAt: now, UpdatedAt: now, Eligibility: models.Eligibility{EligPath: pub.Path}}
		if in.TargetUnionIDs == nil {
			in.TargetUnionIDs = []int64{}
		}
		targets, err := s.applyEventInput(tx, sc, pub, &p, in, true)
		if err != nil {
			return err
		}
		if err := tx.Create(&p).Error; err != nil {
			return err
		}
		return saveTargets(tx, &p, targets)
	})
	if err != nil {
		return nil, err
	}
	s.withViews(&p)
	return &p, nil
}

// UpdateEvent changes a post of the caller's scope. version must be the one
// the edit started from: a stale edit is refused, never merged. On a post
// with sign-ups the capacity may grow (the waitlist moves up) but never
// drop below the confirmed count.
// Codes: VALIDATION_FAILED, FORBIDDEN, CONFLICT (stale version, closed post).
func (s *Service) UpdateEvent(ctx context.Context, id int64, version int, in EventInput) (*models.EventPost, error) {
	var p models.EventPost
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		pub, err := s.lockEvent(tx, sc, id, &p)
		if err != nil {
			return err
		}
		if p.Version != version {
			return errEventStale
		}
		if p.Status == models.OfferingClosed || p.Status == models.OfferingCancelled {
			return apperr.New(apperr.Conflict, "已下架的活动不能再修改")
		}
		oldCapacity, oldWaitlist := p.Capacity, p.WaitlistLimit
		targets, err := s.applyEventInput(tx, sc, pub, &p, in, false)
		if err != nil {
			return err
		}
		now := s.Clock().Now()
		if err := core.ResizePool(tx, eventSeats, p.ID, oldCapacity, oldWaitlist, p.Capacity, p.WaitlistLimit, p.WaitlistCount, "signUp.waitlistLimit", now); err != nil {
			return err
		}
		err = core.SaveVersioned(tx, &models.EventPost{}, p.ID, version, now, core.WithColumns(map[string]any{
			"title": p.Title, "category": p.Category, "body_format": p.BodyFormat, "body_source": p.BodySource,
			"body_html": p.BodyHTML, "cover_url": p.CoverURL, "pinned": p.Pinned, "publish_at": p.PublishAt,
			"has_sign_up": p.HasSignUp, "sign_up_opens_at": p.SignUpOpensAt, "sign_up_closes_at": p.SignUpClosesAt,
			"starts_at": p.StartsAt, "ends_at": p.EndsAt, "place": p.Place,
		}, p.Eligibility.Columns()), errEventStale)
		if err != nil {
			return err
		}
		s.postChanged(p.ID)
		if targets != nil {
			if err := tx.Where("post_id = ?", p.ID).Delete(&models.EventTarget{}).Error; err != nil {
				return err
			}
			if err := saveTargets(tx, &p, targets); err != nil {
				return err
			}
		} else if err := syncTargets(tx, &p); err != nil {
			return err
		}
		return tx.Take(&p, p.ID).Error
	})
	if err != nil {
		return nil, err
	}
	s.withViews(&p)
	return &p, nil
}

// applyEventInput validates in against p (the stored post, or a new one)
// and writes the result into p. It returns the post's new targets, or nil
// when they are unchanged.
func (s *Service) applyEventInput(tx *gorm.DB, sc *core.Scope, pub *models.Union, p *models.EventPost, in EventInput, isNew bool) ([]int64, error) {
	var err error
	if in.Title != nil || isNew {
		if p.Title, err = core.CleanText("title", core.Deref(in.Title), 2, 100); err != nil {
			return nil, err
		}
	}
	if in.Category != nil || isNew {
		if in.Category == nil || !in.Category.IsValid() {
			return nil, apperr.Invalid("category", "请选择活动类别")
		}
		p.Category = *in.Category
	}
	if in.BodyFormat != nil {
		if !in.BodyFormat.IsValid() {
			return nil, apperr.Invalid("bodyFormat", "正文格式不正确")
		}
		p.BodyFormat = *in.BodyFormat
	}
	if in.Body != nil || in.BodyFormat != nil || isNew {
		src := p.BodySource
		if in.Body != nil {
			src = strings.TrimSpace(*in.Body)
		}
		if len(src) > 200_000 {
			return nil, apperr.Invalid("body", "正文过长（最多约 20 万字节）")
		}
		if p.BodyHTML, err = richtext.Render(string(p.BodyFormat), src); err != nil {
			return nil, apperr.Invalid("body", "正文无法解析")
		}
		p.BodySource = src
	}
	if in.CoverURL != nil {
		if p.CoverURL, err = core.CleanURL("coverUrl", *in.CoverURL); err != nil {
			return nil, err
		}
	}
	if in.Pinned != nil {
		p.Pinned = *in.Pinned
	}
	if in.PublishAt != nil {
		at := in.PublishAt.UTC().Truncate(time.Second)
		if at.Before(s.Clock().Now().Add(-time.Minute)) && (p.PublishAt == nil || !at.Equal(*p.PublishAt)) {
			return nil, apperr.Invalid("publishAt", "定时发布时间已过，请重新选择")
		}
		if p.Status == models.OfferingPublished && p.PublishAt != nil && !p.PublishAt.After(s.Clock().Now()) && !at.Equal(*p.PublishAt) {
			return nil, apperr.Invalid("publishAt", "活动已发布，不能再修改发布时间")
		}
		p.PublishAt = &at
	}
	if in.SignUp != nil {
		if err := s.applySignUpInput(tx, sc, pub, p, in.SignUp); err != nil {
			return nil, err
		}
	}
	if in.TargetUnionIDs == nil {
		return nil, nil
	}
	return s.eventTargets(tx, sc, pub, in.TargetUnionIDs)
}

func (s *Service) applySignUpInput(tx *gorm.DB, sc *core.Scope, pub *models.Union, p *models.EventPost, in *EventSignUpInput) error {
	if p.SignUpCancelled {
		return apperr.New(apperr.Conflict, "报名已取消，不能再修改报名设置")
	}
	if in.Capacity < 1 || in.Capacity > 100000 {
		return apperr.Invalid("signUp.capacity", "名额应在 1 到 100000 之间")
	}
	if in.WaitlistLimit < 0 || in.WaitlistLimit > 100000 {
		return apperr.Invalid("signUp.waitlistLimit", "候补人数应在 0 到 100000 之间")
	}
	if !in.OpensAt.Before(in.ClosesAt) {
		return apperr.Invalid("signUp.closesAt", "报名截止时间应晚于开始时间")
	}
	windowChanged := p.SignUpClosesAt == nil || !p.SignUpClosesAt.Equal(in.ClosesAt)
	if windowChanged && !in.ClosesAt.After(s.Clock().Now()) {
		return apperr.Invalid("signUp.closesAt", "报名截止时间已过，请重新选择")
	}
	if (in.StartsAt == nil) != (in.EndsAt == nil) {
		return apperr.Invalid("signUp.endsAt", "请同时填写活动开始和结束时间")
	}
	if in.StartsAt != nil {
		if !in.EndsAt.After(*in.StartsAt) {
			return apperr.Invalid("signUp.endsAt", "活动结束时间应晚于开始时间")
		}
		if in.ClosesAt.After(*in.EndsAt) {
			return apperr.Invalid("signUp.closesAt", "报名应在活动结束前截止")
		}
	}
	place, err := core.CleanText("signUp.place", in.Place, 0, 200)
	if err != nil {
		return err
	}
	if p.Eligibility, err = s.Eligibility(tx, sc, pub, in.Eligibility); err != nil {
		return err
	}
	opens, closes := in.OpensAt, in.ClosesAt
	p.HasSignUp, p.Capacity, p.WaitlistLimit = true, in.Capacity, in.WaitlistLimit
	p.SignUpOpensAt, p.SignUpClosesAt, p.StartsAt, p.EndsAt, p.Place = &opens, &closes, in.StartsAt, in.EndsAt, place
	return nil
}

// eventTargets validates the chosen sub-unions: each in the publisher's
// subtree and the admin's scope. One inside another is dropped (the outer
// one covers it), so a member's chain meets at most one target of a post
// and the feed lists it once.
func (s *Service) eventTargets(tx *gorm.DB, sc *core.Scope, pub *models.Union, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return []int64{pub.ID}, nil
	}
	if len(ids) > maxTargets {
		return nil, apperr.Invalid("targetUnionIds", fmt.Sprintf("一次最多选择 %d 个工会", maxTargets))
	}
	var unions []*models.Union
	if err := tx.Where("id IN ?", ids).Find(&unions).Error; err != nil {
		return nil, err
	}
	if len(unions) != len(distinctIDs(ids)) {
		return nil, apperr.Invalid("targetUnionIds", "所选工会不存在")
	}
	for _, u := range unions {
		if !pub.Contains(u) || !sc.Covers(u) {
			return nil, apperr.Invalid("targetUnionIds", "只能发布到本工会及其下级工会")
		}
	}
	var out []int64
	for _, u := range unions {
		covered := false
		for _, o := range unions {
			if o.ID != u.ID && o.Contains(u) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, u.ID)
		}
	}
	return out, nil
}

func distinctIDs(ids []int64) map[int64]bool {
	m := make(map[int64]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// saveTargets writes the post's targets with its feed columns.
func saveTargets(tx *gorm.DB, p *models.EventPost, unionIDs []int64) error {
	rows := make([]models.EventTarget, len(unionIDs))
	for i, u := range unionIDs {
		rows[i] = targetRow(p, u)
	}
	return tx.Create(&rows).Error
}

func targetRow(p *models.EventPost, unionID int64) models.EventTarget {
	at := time.Unix(0, 0).UTC()
	if p.PublishAt != nil {
		at = *p.PublishAt
	}
	return models.EventTarget{PostID: p.ID, UnionID: unionID, Status: p.Status, Category: p.Category,
		FeedKey: p.FeedKey(), PublishAt: at}
}

// syncTargets copies the post's feed columns to its targets.
func syncTargets(tx *gorm.DB, p *models.EventPost) error {
	t := targetRow(p, 0)
	return tx.Model(&models.EventTarget{}).Where("post_id = ?", p.ID).Updates(map[string]any{
		"status": t.Status, "category": t.Category, "feed_key": t.FeedKey, "publish_at": t.PublishAt}).Error
}

// eventInScope loads post id and checks that its publishing union is in
// the caller's scope (FORBIDDEN otherwise, whether or not it exists).
func (s *Service) eventInScope(tx *gorm.DB, sc *core.Scope, id int64, p *models.EventPost, lockedRead bool) (*models.Union, error) {
	return core.OfferingInScope(tx, sc, id, p, func(p *models.EventPost) int64 { return p.UnionID }, errEventNotFound, lockedRead)
}

// lockEvent takes post id's seat lock (its sign-ups queue behind it), then
// loads it current and checks the scope.
func (s *Service) lockEvent(tx *gorm.DB, sc *core.Scope, id int64, p *models.EventPost) (*models.Union, error) {
	if ok, err := seats.Lock(tx, eventSeats, id); err != nil || !ok {
		if err == nil {
			err = core.OutOfScope(sc, errEventNotFound)
		}
		return nil, err
	}
	return s.eventInScope(tx, sc, id, p, true)
}

// PublishEvent publishes a draft: members see it from its scheduled time
// (publishAt, or now). Idempotent. Codes: FORBIDDEN, CONFLICT,
// VALIDATION_FAILED (a schedule in the past).
func (s *Service) PublishEvent(ctx context.Context, id int64, at *time.Time) (*models.EventPost, error) {
	return s.moveEvent(ctx, id, models.OfferingPublished, at)
}

// CloseEvent takes a post down: it leaves the feed and sign-ups stop;
// those who signed up keep their place and still see it. Idempotent.
// Codes: FORBIDDEN, CONFLICT.
func (s *Service) CloseEvent(ctx context.Context, id int64) (*models.EventPost, error) {
	return s.moveEvent(ctx, id, models.OfferingClosed, nil)
}

func (s *Service) moveEvent(ctx context.Context, id int64, to models.OfferingStatus, at *time.Time) (*models.EventPost, error) {
	var p models.EventPost
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := s.lockEvent(tx, sc, id, &p); err != nil {
			return err
		}
		now := s.Clock().Now()
		moved, err := core.StatusMove{Model: &models.EventPost{}, ID: id, From: p.Status, To: to, Now: now, Noun: "活动",
			Label: eventStatusLabel, Action: eventActionLabel,
			Prepare: func(updates map[string]any) error {
				if to != models.OfferingPublished {
					return nil
				}
				when := now.UTC().Truncate(time.Second)
				switch {
				case at != nil && at.Before(now.Add(-time.Minute)):
					return apperr.Invalid("publishAt", "定时发布时间已过，请重新选择")
				case at != nil && at.After(now):
					when = at.UTC().Truncate(time.Second)
				case at == nil && p.PublishAt != nil && p.PublishAt.After(now):
					when = *p.PublishAt
				}
				p.PublishAt = &when
				updates["publish_at"] = when
				return nil
			}}.Apply(tx)
		if err != nil || !moved {
			return err
		}
		p.Status = to
		if err := syncTargets(tx, &p); err != nil {
			return err
		}
		s.postChanged(id)
		return tx.Take(&p, id).Error
	})
	if err != nil {
		return nil, err
	}
	s.withViews(&p)
	return &p, nil
}

func eventStatusLabel(st models.OfferingStatus) string {
	return map[models.OfferingStatus]string{models.OfferingDraft: "草稿", models.OfferingPublished: "已发布",
		models.OfferingClosed: "已下架", models.OfferingCancelled: "已取消"}[st]
}

func eventActionLabel(st models.OfferingStatus) string {
	return map[models.OfferingStatus]string{models.OfferingPublished: "发布", models.OfferingClosed: "下架",
		models.OfferingCancelled: "取消"}[st]
}

// CancelEventSignUps calls a post's sign-up off: every active sign-up is
// cancelled with the reason, which members see, and no new ones are taken.
// The post itself stays. Idempotent.
// Codes: VALIDATION_FAILED (reason, a post without sign-up), FORBIDDEN.
func (s *Service) CancelEventSignUps(ctx context.Context, id int64, reason string) (*models.EventPost, error) {
	reason, err := core.CleanText("reason", reason, 2, 150)
	if err != nil {
		return nil, err
	}
	var p models.EventPost
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := s.lockEvent(tx, sc, id, &p); err != nil {
			return err
		}
		if !p.HasSignUp {
			return apperr.Invalid("id", "该活动没有报名")
		}
		if p.SignUpCancelled {
			return nil // a retry
		}
		now := s.Clock().Now()
		if err := tx.Model(&models.EventSignUp{}).
			Where("post_id = ? AND status IN ?", id, []models.BookingStatus{models.BookingConfirmed, models.BookingWaitlisted}).
			Updates(map[string]any{"status": models.BookingCancelled, "active": nil, "cancelled_at": now,
				"cancel_reason": "报名已取消：" + reason, "updated_at": now}).Error; err != nil {
			return err
		}
		if err := seats.Clear(tx, eventSeats, id); err != nil {
			return err
		}
		if err := tx.Model(&models.EventPost{}).Where("id = ?", id).Updates(map[string]any{
			"sign_up_cancelled": true, "sign_up_cancel_reason": reason, "updated_at": now,
			"version": gorm.Expr("version + 1")}).Error; err != nil {
			return err
		}
		if err := s.Audit(ctx, tx, sc.Admin.ID, "EVENT_SIGNUPS_CANCEL", "event_post", &p.ID, &p.UnionID, reason); err != nil {
			return err
		}
		s.postChanged(id)
		return tx.Take(&p, id).Error
	})
	if err != nil {
		return nil, err
	}
	s.withViews(&p)
	return &p, nil
}

// EventFilter narrows a list of posts.
type EventFilter struct {
	Category *models.EventCategory
	// Admins only.
	UnionID *int64
	Status  *models.OfferingStatus
}

// feedKey is the cursor of a member's feed.
type feedKey struct {
	K int64 `json:"k"`
	I int64 `json:"i"`
}

// EventCursor is a post's cursor in a list: its feed position for members,
// its id for admins.
func EventCursor(ctx context.Context) func(*models.EventPost) any {
	if auth.PrincipalFrom(ctx).IsMember() {
		return func(p *models.EventPost) any { return feedKey{K: p.FeedKey(), I: p.ID} }
	}
	return func(p *models.EventPost) any { return page.IDKey{ID: p.ID} }
}

// ListEvents is the feed. Members: posts published to any union on their
// chain, visible now, pinned first, then newest. Admins: every post their
// subtree's unions published, newest first.
// Codes: VALIDATION_FAILED, FORBIDDEN.
func (s *Service) ListEvents(ctx context.Context, f EventFilter, first *int, after *string) (page.Page[*models.EventPost], error) {
	var empty page.Page[*models.EventPost]
	pr, err := auth.Require(ctx)
	if err != nil {
		return empty, err
	}
	if f.Category != nil && !f.Category.IsValid() {
		return empty, apperr.Invalid("category", "活动类别不正确")
	}
	if pr.IsMember() {
		pa, err := page.Parse[feedKey](first, after)
		if err != nil {
			return empty, err
		}
		v, err := s.Viewer(ctx)
		if err != nil {
			return empty, err
		}
		return s.memberFeed(ctx, v.Chain(), f.Category, pa)
	}
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return empty, err
	}
	out := empty
	err = s.ReadLagged(ctx, func(db *gorm.DB) error { // an admin's list: a replica's lag is fine
		q, _, err := s.VisibleOfferings(ctx, db.Model(&models.EventPost{}), f.UnionID, f.Status)
		if err != nil {
			return err
		}
		if f.Category != nil {
			q = q.Where("category = ?", *f.Category)
		}
		out, err = core.ByIDPage[*models.EventPost](q, pa, true)
		return err
	})
	s.withViews(out.Items...)
	return out, err
}

// memberFeed reads one page of the feed of a member whose chain is chain.
// A single "union_id IN (chain) ORDER BY … LIMIT" would read and sort every
// post of every union on the chain; instead each union contributes its
// first size+1 posts after the cursor, read in order straight off
// idx_event_targets_feed, and the few rows are merged, then joined to the
// posts: the cost stays that of page 1 however deep the cursor is.
func (s *Service) memberFeed(ctx context.Context, chain []int64, category *models.EventCategory, pa page.Args[feedKey]) (page.Page[*models.EventPost], error) {
	if len(chain) == 0 {
		return page.Page[*models.EventPost]{}, nil
	}
	// Every member on one chain sees the same page at one moment, so the
	// page is read once a second per chain, filter and cursor on this
	// instance, and shared; what is the member's own (their sign-ups) is
	// read per request by the resolvers. "Now" is taken to the second, so
	// a page and its cache key agree on which posts have come out.
	now := s.Clock().Now().Truncate(time.Second)
	key := feedPageKey(chain, category, pa, now)
	shared, ok := s.feedPages.Get(key)
	if !ok {
		sql, args := FeedSQL(s.DB().Dialect == store.MySQL, chain, category, pa.HasKey, pa.Key.K, pa.Key.I, pa.Size+1, now)
		err := s.ReadLagged(ctx, func(q *gorm.DB) error { return q.Raw(sql, args...).Scan(&shared).Error })
		if err != nil {
			return page.Page[*models.EventPost]{}, err
		}
		s.feedPages.Add(key, shared)
	}
	rows := make([]*models.EventPost, len(shared))
	for i := range shared {
		p := shared[i] // a copy: the views and the summary mark are this request's
		p.Summary = true
		rows[i] = &p
	}
	s.withViews(rows...)
	return page.Trim(rows, pa.Size), nil
}

// feedPageKey names one feed page: the chain, the filter, the cursor, the
// size and the second.
func feedPageKey(chain []int64, category *models.EventCategory, pa page.Args[feedKey], now time.Time) string {
	var b strings.Builder
	for _, id := range chain {
		b.WriteString(strconv.FormatInt(id, 10))
		b.WriteByte(',')
	}
	if category != nil {
		b.WriteString(string(*category))
	}
	fmt.Fprintf(&b, "|%t|%d|%d|%d|%d", pa.HasKey, pa.Key.K, pa.Key.I, pa.Size, now.Unix())
	return b.String()
}

// feedColumns are a post's columns but its body: a feed page lists
// summaries, and bodies can run to many kilobytes each.
const feedColumns = "p.id, p.union_id, p.title, p.category, p.body_format, p.cover_url, p.pinned, p.publish_at, p.view_count," +
	" p.has_sign_up, p.capacity, p.waitlist_limit, p.confirmed_count, p.waitlist_count, p.waitlist_seq, p.sign_up_opens_at," +
	" p.sign_up_closes_at, p.starts_at, p.ends_at, p.place, p.sign_up_cancelled, p.sign_up_cancel_reason, p.elig_union_id," +
	" p.elig_path, p.elig_forms, p.elig_gender, p.elig_min_age, p.elig_max_age, p.elig_verified_only, p.status, p.version," +
	" p.created_by, p.published_at, p.created_at, p.updated_at"

// withViews sets each post's view count as this instance knows it.
func (s *Service) withViews(posts ...*models.EventPost) {
	for _, p := range posts {
		p.Views = p.ViewCount + s.views.pendingFor(p.ID)
	}
}

// EventBody returns p's body (HTML, and the source), loading it when p is
// a summary.
// EventBodySource is the body as its editor wrote it, for staff (who edit
// it); nil for members, who read the HTML.
func (s *Service) EventBodySource(ctx context.Context, p *models.EventPost, load func(context.Context, int64) (*models.EventPost, error)) (*string, error) {
	if !auth.PrincipalFrom(ctx).IsStaff() {
		return nil, nil
	}
	_, src, err := s.EventBody(ctx, p, load)
	return &src, err
}

// EventTargetUnionIDs are the unions p is published to, for staff; none
// for members (who only see it because it reached them).
func (s *Service) EventTargetUnionIDs(ctx context.Context, p *models.EventPost, targets func(context.Context, int64) ([]int64, error)) ([]int64, error) {
	if !auth.PrincipalFrom(ctx).IsStaff() {
		return nil, nil
	}
	return targets(ctx, p.ID)
}

func (s *Service) EventBody(ctx context.Context, p *models.EventPost, load func(context.Context, int64) (*models.EventPost, error)) (html, source string, err error) {
	if !p.Summary {
		return p.BodyHTML, p.BodySource, nil
	}
	full, err := load(ctx, p.ID)
	if err != nil || full == nil {
		return "", "", err
	}
	return full.BodyHTML, full.BodySource, nil
}

// FeedSQL is the feed statement and its arguments: exported so that the
// load tool's plain database/sql baseline runs exactly the same SQL. On
// MySQL it names the index: the keyset condition's post_id makes the
// optimizer weigh the primary key too, which costs more to plan than the
// sub-select costs to run.
func FeedSQL(mysql bool, chain []int64, category *models.EventCategory, hasKey bool, key, id int64, limit int, now time.Time) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, len(chain)*8+1)
	hint := ""
	if mysql {
		hint = " FORCE INDEX (idx_event_targets_feed)"
		if category != nil {
			hint = " FORCE INDEX (idx_event_targets_feed_category)"
		}
	}
	b.WriteString("SELECT " + feedColumns + " FROM event_posts AS p JOIN (")
	for i, u := range chain {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		b.WriteString("SELECT post_id, feed_key FROM (SELECT post_id, feed_key FROM event_targets" + hint + " WHERE union_id = ? AND status = ?")
		args = append(args, u, models.OfferingPublished)
		if category != nil {
			b.WriteString(" AND category = ?")
			args = append(args, *category)
		}
		b.WriteString(" AND publish_at <= ?")
		args = append(args, now)
		if hasKey {
			b.WriteString(" AND feed_key <= ? AND (feed_key < ? OR post_id < ?)")
			args = append(args, key, key, id)
		}
		fmt.Fprintf(&b, " ORDER BY feed_key DESC, post_id DESC LIMIT %d) AS t%d", limit, i)
	}
	fmt.Fprintf(&b, ") AS f ON f.post_id = p.id ORDER BY f.feed_key DESC, f.post_id DESC LIMIT %d", limit)
	return b.String(), args
}

// GetEvent returns a post the caller may see, and counts a member's read
// as a view. Members: a post published to their chain and visible now (or
// closed since); admins: a post of their subtree.
// Codes: NOT_FOUND, FORBIDDEN.
func (s *Service) GetEvent(ctx context.Context, id int64) (*models.EventPost, error) {
	pr, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	if !pr.IsMember() {
		var p models.EventPost
		sc, err := s.AdminScope(ctx, s.Q(ctx))
		if err != nil {
			return nil, err
		}
		if _, err := s.eventInScope(s.Q(ctx), sc, id, &p, false); err != nil {
			return nil, err
		}
		s.withViews(&p)
		return &p, nil
	}
	v, err := s.Viewer(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.memberEvent(ctx, v, id)
	if err != nil {
		return nil, err
	}
	s.views.add(p.ID)
	s.withViews(p)
	return p, nil
}

// memberEvent loads post id if it is published to the viewer's chain and
// visible now. Codes: NOT_FOUND.
func (s *Service) memberEvent(ctx context.Context, v *core.Viewer, id int64) (*models.EventPost, error) {
	chain := v.Chain()
	if len(chain) == 0 {
		return nil, errEventNotFound
	}
	var p models.EventPost
	err := s.Q(ctx).Where("id = ? AND EXISTS (SELECT 1 FROM event_targets AS t WHERE t.post_id = event_posts.id AND t.union_id IN ?)", id, chain).
		Take(&p).Error
	if err != nil {
		return nil, store.Translate(err, errEventNotFound.Message, "")
	}
	if !p.IsVisibleToMembers(s.Clock().Now()) {
		return nil, errEventNotFound
	}
	return &p, nil
}

// EventViews is a post's view count: what the database holds plus what
// this instance has counted and not yet written.
func (s *Service) EventViews(p *models.EventPost) int64 {
	return p.ViewCount + s.views.pendingFor(p.ID)
}

// TargetsByPostIDs loads, for a dataloader, the unions each post is
// published to (admins see them; the caller could see the posts).
func (s *Service) TargetsByPostIDs(ctx context.Context, ids []int64) ([][]int64, error) {
	var rows []models.EventTarget
	if err := s.Q(ctx).Where("post_id IN ?", ids).Order("post_id, union_id").Find(&rows).Error; err != nil {
		return nil, err
	}
	by := map[int64][]int64{}
	for _, r := range rows {
		by[r.PostID] = append(by[r.PostID], r.UnionID)
	}
	out := make([][]int64, len(ids))
	for i, id := range ids {
		out[i] = by[id]
	}
	return out, nil
}

// SignUpForEvent signs the calling member up for a post: CONFIRMED while
// places last, then WAITLISTED while the waitlist has room. One active
// sign-up per member per post; a retry returns it unchanged.
// Codes: NOT_FOUND, WINDOW_CLOSED, NOT_ELIGIBLE (with the reason), FULL.
func (s *Service) SignUpForEvent(ctx context.Context, postID int64) (*models.EventSignUp, error) {
	pr, err := core.MemberPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.Viewer(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Clock().Now()
	return core.SeatRush[models.EventSignUp]{
		Spec: eventSeats, PoolID: postID, Holder: pr.ID,
		Open: seats.Open{
			SQL: "status = ? AND has_sign_up = ? AND sign_up_cancelled = ? AND publish_at <= ?" +
				" AND sign_up_opens_at <= ? AND sign_up_closes_at > ?",
			Args: []any{models.OfferingPublished, true, false, now, now, now},
		},
		Cached: func() error {
			c, err := s.posts.Get(ctx, postID)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(c.Targets, v.OnChain) {
				return errEventNotFound
			}
			return s.canSignUpForEvent(v, &c.Post, now)
		},
		Fresh: func() (*models.EventSignUp, error) { return s.freshSignUpCheck(ctx, v, postID, now) },
		Hold: func(g seats.Grant) *models.EventSignUp {
			active := true
			return &models.EventSignUp{PostID: postID, MemberID: pr.ID, Status: models.BookingStatus(g.Status),
				Active: &active, WaitSeq: g.WaitSeq, CheckinCode: core.NewCode(20), CreatedAt: now, UpdatedAt: now}
		},
	}.Take(ctx, s.Core)
}

// freshSignUpCheck is the sign-up rule on a fresh read of the post, its
// targets on the viewer's chain, and the member's active sign-up (one
// statement). It returns the member's active sign-up when this is a retry.
func (s *Service) freshSignUpCheck(ctx context.Context, v *core.Viewer, postID int64, now time.Time) (*models.EventSignUp, error) {
	chain := v.Chain()
	if len(chain) == 0 {
		return nil, errEventNotFound
	}
	var row struct {
		models.EventPost `gorm:"embedded"`
		OnChain          bool
		MySignUpID       *int64
	}
	err := s.Q(ctx).Table("event_posts").
		Select("event_posts.*, EXISTS (SELECT 1 FROM event_targets AS t WHERE t.post_id = event_posts.id AND t.union_id IN ?) AS on_chain,"+
			" (SELECT b.id FROM event_signups AS b WHERE b.post_id = event_posts.id AND b.member_id = ? AND b.active = ?) AS my_sign_up_id",
			chain, v.Member.ID, true).
		Where("event_posts.id = ?", postID).Take(&row).Error
	if err != nil {
		return nil, store.Translate(err, errEventNotFound.Message, "")
	}
	if !row.OnChain {
		return nil, errEventNotFound
	}
	p := &row.EventPost
	if row.MySignUpID != nil { // a retry
		var b models.EventSignUp
		if err := s.Q(ctx).Take(&b, *row.MySignUpID).Error; err != nil {
			return nil, err
		}
		return &b, nil
	}
	return nil, s.canSignUpForEvent(v, p, now)
}

// canSignUpForEvent is the sign-up rule for a post published to the viewer's
// chain: it is visible and has an open sign-up, within its window, and the
// member is eligible. Codes: NOT_FOUND, WINDOW_CLOSED, NOT_ELIGIBLE, FULL.
func (s *Service) canSignUpForEvent(v *core.Viewer, p *models.EventPost, now time.Time) error {
	switch {
	case !p.IsVisibleToMembers(now):
		return errEventNotFound
	case !p.HasSignUp:
		return apperr.New(apperr.NotFound, "该活动无需报名")
	}
	switch {
	case p.SignUpCancelled:
		return apperr.New(apperr.WindowClosed, "报名已取消："+p.SignUpCancelReason)
	case p.Status == models.OfferingClosed, !now.Before(*p.SignUpClosesAt):
		return apperr.New(apperr.WindowClosed, "报名已截止")
	case now.Before(*p.SignUpOpensAt):
		return apperr.Newf(apperr.WindowClosed, "报名尚未开始，将于 %s 开放", clock.Minutes(*p.SignUpOpensAt))
	}
	if reason := v.Ineligibility(&p.Eligibility, now); reason != "" {
		return apperr.New(apperr.NotEligible, reason)
	}
	if p.ConfirmedCount >= p.Capacity && p.WaitlistCount >= p.WaitlistLimit {
		return seats.ErrFull
	}
	return nil
}

// EventIneligibility explains why the calling member may not sign up for p
// now ("" when they may or hold a sign-up, when p has no sign-up, and
// always for admins). It reads only the request's viewer and, for members,
// their sign-up through mine (the request's batched loader).
func (s *Service) EventIneligibility(ctx context.Context, p *models.EventPost, mine func(context.Context, int64) (*models.EventSignUp, error)) (string, error) {
	if !auth.PrincipalFrom(ctx).IsMember() || !p.HasSignUp {
		return "", nil
	}
	su, err := mine(ctx, p.ID)
	if err != nil || su != nil && su.Status.IsActive() {
		return "", err
	}
	v, err := s.Viewer(ctx)
	if err != nil {
		return "", err
	}
	if err := s.canSignUpForEvent(v, p, s.Clock().Now()); err != nil {
		if ae, ok := apperr.As(err); ok && ae.Code != apperr.Internal {
			return ae.Message, nil
		}
		return "", err
	}
	return "", nil
}

// CancelEventSignUp cancels the calling member's sign-up; a confirmed place
// goes at once to the first on the waitlist. Allowed until the event
// starts. Idempotent. Codes: NOT_FOUND, WINDOW_CLOSED.
func (s *Service) CancelEventSignUp(ctx context.Context, signUpID int64) (*models.EventSignUp, error) {
	b, err := core.SeatCancel[*models.EventSignUp]{
		Spec: eventSeats, Id: signUpID, NotFound: errEventSignUpNotFound, Ended: "活动已结束，不能取消",
		Pool:   func(b *models.EventSignUp) int64 { return b.PostID },
		Owner:  func(b *models.EventSignUp) int64 { return b.MemberID },
		Status: func(b *models.EventSignUp) models.BookingStatus { return b.Status },
		Deadline: func(tx *gorm.DB, b *models.EventSignUp, now time.Time) error {
			var p models.EventPost
			if err := tx.Take(&p, b.PostID).Error; err != nil {
				return err
			}
			if b.Status == models.BookingConfirmed && p.StartsAt != nil && !now.Before(*p.StartsAt) {
				return apperr.New(apperr.WindowClosed, "活动已开始，不能取消报名")
			}
			return nil
		},
	}.Run(ctx, s.Core, &models.EventSignUp{})
	if err == nil {
		s.posts.Forget(b.PostID)
	}
	return b, err
}

// CheckInEventSignUp marks the sign-up with this code ATTENDED (the code may
// be the whole QR payload, in any case), inside the event's check-in window
// (checkInOpen). Idempotent. Codes: NOT_FOUND, FORBIDDEN, VALIDATION_FAILED
// (the sign-up holds no place), WINDOW_CLOSED.
func (s *Service) CheckInEventSignUp(ctx context.Context, code string) (*models.EventSignUp, error) {
	code = core.NormalizeCode(code, "unionhall:event:")
	if len(code) != 20 {
		return nil, apperr.Invalid("code", "签到码应为 20 位")
	}
	var b models.EventSignUp
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if err := tx.Where("checkin_code = ?", code).Take(&b).Error; err != nil {
			if store.IsNotFound(err) {
				return apperr.New(apperr.NotFound, "找不到该报名，请核对签到码")
			}
			return err
		}
		var p models.EventPost
		if _, err := s.eventInScope(tx, sc, b.PostID, &p, false); err != nil {
			return err
		}
		switch b.Status {
		case models.BookingAttended:
			return nil // a retry
		case models.BookingConfirmed:
		default:
			return apperr.Invalid("code", "该报名没有获得名额（"+core.BookingLabel(b.Status)+"），不能签到")
		}
		now := s.Clock().Now()
		if p.StartsAt != nil { // a post without a schedule has no session to bound it
			if err := core.CheckInOpen(now, *p.StartsAt, core.Deref(p.EndsAt)); err != nil {
				return err
			}
		}
		res := tx.Model(&models.EventSignUp{}).Where("id = ? AND status = ?", b.ID, b.Status).Updates(map[string]any{
			"status": models.BookingAttended, "checked_in_at": now, "checked_in_by": sc.Admin.ID, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return apperr.New(apperr.Conflict, "签到状态刚被修改，请刷新后重试")
		}
		if err := s.Audit(ctx, tx, sc.Admin.ID, "EVENT_CHECKIN", "event_signup", &b.ID, &p.UnionID, ""); err != nil {
			return err
		}
		return tx.Take(&b, b.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// MySignUps lists the calling member's sign-ups, newest first.
func (s *Service) MySignUps(ctx context.Context, f core.BookingFilter, first *int, after *string) (page.Page[*models.EventSignUp], error) {
	return core.MyHolds[*models.EventSignUp](ctx, s.Core, f, first, after)
}

// EventSignUps lists a post's sign-ups in sign-up order, for admins of the
// post's union chain. The read of members' data is audited.
// Codes: FORBIDDEN, NOT_FOUND.
func (s *Service) EventSignUps(ctx context.Context, postID int64, f core.BookingFilter, first *int, after *string) (page.Page[*models.EventSignUp], error) {
	var empty page.Page[*models.EventSignUp]
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return empty, err
	}
	sc, err := s.AdminScope(ctx, s.Q(ctx))
	if err != nil {
		return empty, err
	}
	var p models.EventPost
	if _, err := s.eventInScope(s.Q(ctx), sc, postID, &p, false); err != nil {
		return empty, err
	}
	q := s.Q(ctx).Where("post_id = ?", postID)
	if f.Status != nil {
		q = q.Where("status = ?", *f.Status)
	}
	out, err := core.ByIDPage[*models.EventSignUp](q, pa, false)
	if err != nil {
		return empty, err
	}
	if err := s.Audit(ctx, s.Q(ctx), sc.Admin.ID, "EVENT_SIGNUPS_READ", "event_post", &p.ID, &p.UnionID,
		fmt.Sprintf("%d rows", len(out.Items))); err != nil {
		return empty, err
	}
	return out, nil
}

// IsOwnSignUp reports whether b is the calling member's.
func IsOwnSignUp(ctx context.Context, b *models.EventSignUp) bool {
	p := auth.PrincipalFrom(ctx)
	return p.IsMember() && p.ID == b.MemberID
}

// EventSignUpPosition is a waitlisted sign-up's 1-based place in the queue.
func (s *Service) EventSignUpPosition(ctx context.Context, b *models.EventSignUp) (*int, error) {
	if b.Status != models.BookingWaitlisted || b.WaitSeq == nil {
		return nil, nil
	}
	n, err := seats.Position(s.Q(ctx), eventSeats, b.PostID, *b.WaitSeq)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// PostsByIDs loads posts for a dataloader (a sign-up's post). The caller
// could see the sign-up, so it may see its post.
func (s *Service) PostsByIDs(ctx context.Context, ids []int64) ([]*models.EventPost, error) {
	var rows []*models.EventPost
	if err := s.Q(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	s.withViews(rows...)
	return core.ByIDs(ids, rows, func(p *models.EventPost) int64 { return p.ID }), nil
}

// MySignUpsByPostIDs loads, for a dataloader, the calling member's latest
// sign-up of each post (nil for admins and where there is none).
func (s *Service) MySignUpsByPostIDs(ctx context.Context, ids []int64) ([]*models.EventSignUp, error) {
	out := make([]*models.EventSignUp, len(ids))
	pr := auth.PrincipalFrom(ctx)
	if !pr.IsMember() {
		return out, nil
	}
	var rows []*models.EventSignUp
	if err := s.Q(ctx).Where("member_id = ? AND post_id IN ?", pr.ID, ids).Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	latest := map[int64]*models.EventSignUp{}
	for _, r := range rows {
		latest[r.PostID] = r
	}
	for i, id := range ids {
		out[i] = latest[id]
	}
	return out, nil
}
