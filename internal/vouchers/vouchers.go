package vouchers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

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

// voucherSeats is where batches keep their stock: a pool without waitlist.
var voucherSeats = seats.Spec{Pools: "voucher_batches", Holds: "vouchers", PoolFK: "batch_id"}

var (
	errBatchNotFound   = apperr.New(apperr.NotFound, "礼券不存在或已下架")
	errVoucherNotFound = apperr.New(apperr.NotFound, "券码不存在，请核对后重新输入")
	errStockOut        = apperr.New(apperr.Full, "礼券已领完")
)

// VoucherBatchInput is a batch as an admin writes it.
type VoucherBatchInput struct {
	UnionID        *int64
	Title          string
	Kind           models.VoucherKind
	Description    string
	FaceValueFen   int64
	Stock          int
	PerMemberLimit int
	ExclusiveGroup string
	ClaimOpensAt   time.Time
	ClaimClosesAt  time.Time
	ValidFrom      *time.Time
	ValidUntil     *time.Time
	ValidDays      *int
	Eligibility    *core.EligibilityInput
}

// CreateVoucherBatch stores a new batch as a DRAFT in a union of the
// caller's scope. Codes: VALIDATION_FAILED (with field), FORBIDDEN.
func (s *Service) CreateVoucherBatch(ctx context.Context, in VoucherBatchInput) (*models.VoucherBatch, error) {
	title, err := core.CleanText("title", in.Title, 2, 100)
	if err != nil {
		return nil, err
	}
	desc, err := core.CleanText("description", in.Description, 0, 5000)
	if err != nil {
		return nil, err
	}
	now := s.Clock().Now()
	b := models.VoucherBatch{Title: title, Kind: in.Kind, Description: desc, FaceValueFen: in.FaceValueFen,
		Capacity: in.Stock, PerMemberLimit: in.PerMemberLimit, ClaimOpensAt: in.ClaimOpensAt, ClaimClosesAt: in.ClaimClosesAt,
		ValidFrom: in.ValidFrom, ValidUntil: in.ValidUntil, ValidDays: in.ValidDays,
		Status: models.OfferingDraft, Version: 1, CreatedAt: now, UpdatedAt: now}
	if b.PerMemberLimit == 0 {
		b.PerMemberLimit = 1
	}
	if err := validBatch(&b, in.ExclusiveGroup, now); err != nil {
		return nil, err
	}
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		pub, err := s.UnionOrRoot(tx, sc, in.UnionID)
		if err != nil {
			return err
		}
		if b.Eligibility, err = s.Eligibility(tx, sc, pub, in.Eligibility); err != nil {
			return err
		}
		b.UnionID, b.CreatedBy = pub.ID, sc.Admin.ID
		return tx.Create(&b).Error
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

func validBatch(b *models.VoucherBatch, group string, now time.Time) error {
	switch {
	case !b.Kind.IsValid():
		return apperr.Invalid("kind", "请选择礼券类型")
	case b.FaceValueFen < 1 || b.FaceValueFen > 100_000_00:
		return apperr.Invalid("faceValueFen", "面值应在 0.01 元到 10 万元之间（以分为单位）")
	case b.Capacity < 1 || b.Capacity > 1_000_000:
		return apperr.Invalid("stock", "库存应在 1 到 1000000 之间")
	case b.PerMemberLimit < 1 || b.PerMemberLimit > 100:
		return apperr.Invalid("perMemberLimit", "每人限领应在 1 到 100 张之间")
	case !b.ClaimOpensAt.Before(b.ClaimClosesAt):
		return apperr.Invalid("claimClosesAt", "领取截止时间应晚于开始时间")
	case !b.ClaimClosesAt.After(now):
		return apperr.Invalid("claimClosesAt", "领取截止时间已过，请重新选择")
	}
	if group = strings.TrimSpace(group); group != "" {
		for _, r := range group {
			if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
				return apperr.Invalid("exclusiveGroup", "互斥组标识只能包含字母、数字、- 和 _")
			}
		}
		if len(group) > 64 {
			return apperr.Invalid("exclusiveGroup", "互斥组标识过长")
		}
		if b.PerMemberLimit != 1 {
			return apperr.Invalid("perMemberLimit", "互斥组内的礼券每人只能领 1 张")
		}
		b.ExclusiveGroup = &group
	}
	fixed := b.ValidFrom != nil || b.ValidUntil != nil
	switch {
	case fixed && b.ValidDays != nil:
		return apperr.Invalid("validDays", "有效期请在固定日期和领取后天数中选一种")
	case b.ValidDays != nil:
		if *b.ValidDays < 1 || *b.ValidDays > 3650 {
			return apperr.Invalid("validDays", "领取后有效天数应在 1 到 3650 天之间")
		}
	case b.ValidFrom == nil || b.ValidUntil == nil:
		return apperr.Invalid("validUntil", "请填写有效期")
	case !b.ValidFrom.Before(*b.ValidUntil):
		return apperr.Invalid("validUntil", "有效期结束应晚于开始")
	case !b.ValidUntil.After(b.ClaimOpensAt) || !b.ValidUntil.After(now):
		return apperr.Invalid("validUntil", "有效期结束时间已过或早于领取开始时间")
	}
	return nil
}

// batchInScope loads batch id into b and checks its union is in the
// caller's scope. FORBIDDEN whether or not it exists (super admins see
// NOT_FOUND).
func (s *Service) batchInScope(tx *gorm.DB, sc *core.Scope, id int64, b *models.VoucherBatch) (*models.Union, error) {
	return core.OfferingInScope(tx, sc, id, b, func(b *models.VoucherBatch) int64 { return b.UnionID }, errBatchNotFound, false)
}

// PublishVoucherBatch opens a draft batch to members. Idempotent.
// Codes: FORBIDDEN, CONFLICT.
func (s *Service) PublishVoucherBatch(ctx context.Context, id int64) (*models.VoucherBatch, error) {
	return s.moveBatch(ctx, id, models.OfferingPublished)
}

// CloseVoucherBatch stops claims; claimed vouchers stay valid. Idempotent.
// Codes: FORBIDDEN, CONFLICT.
func (s *Service) CloseVoucherBatch(ctx context.Context, id int64) (*models.VoucherBatch, error) {
	return s.moveBatch(ctx, id, models.OfferingClosed)
}

func (s *Service) moveBatch(ctx context.Context, id int64, to models.OfferingStatus) (*models.VoucherBatch, error) {
	var b models.VoucherBatch
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := s.batchInScope(tx, sc, id, &b); err != nil {
			return err
		}
		moved, err := core.StatusMove{Model: &models.VoucherBatch{}, ID: b.ID, From: b.Status, To: to, Now: s.Clock().Now(), Noun: "礼券",

			Allowed: func(from, to models.OfferingStatus) bool {
				return from.CanTransition(to) && to != models.OfferingCancelled
			},
			Prepare: func(map[string]any) error { s.batches.Forget(b.ID); return nil }}.Apply(tx)
		if err != nil || !moved {
			return err
		}
		return tx.Take(&b, b.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// ClaimVoucher claims one voucher of a batch for the calling member. A
// member holds at most PerMemberLimit vouchers of a batch and one of any
// exclusive group; parallel claims racing for the same place become one
// voucher, and a retry carrying the same requestID returns it. With a limit
// of one, any retry returns the member's voucher.
// Codes: NOT_FOUND, WINDOW_CLOSED, NOT_ELIGIBLE, LIMIT_REACHED, FULL,
// VALIDATION_FAILED (requestId).
func (s *Service) ClaimVoucher(ctx context.Context, batchID int64, requestID string) (*models.Voucher, error) {
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	var reqID *string
	if requestID = strings.TrimSpace(requestID); requestID != "" {
		if len(requestID) > 64 || !isASCIIToken(requestID) {
			return nil, apperr.Invalid("requestId", "请求编号无效")
		}
		reqID = &requestID
	}
	// As BookClass: the rush path reads the batch from the instance's short
	// cache and goes to the writes, whose conditional UPDATE grants stock
	// only while the batch is open; limits are unique keys; every refusal
	// is checked against a fresh read.
	var v models.Voucher
	if reqID != nil {
		if err := s.Q(ctx).Where("member_id = ? AND request_id = ?", p.ID, *reqID).Take(&v).Error; err == nil {
			if v.BatchID != batchID {
				return nil, apperr.Invalid("requestId", "请求编号已用于其他礼券")
			}
			return &v, nil
		} else if !store.IsNotFound(err) {
			return nil, err
		}
	}
	viewer, err := s.Viewer(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Clock().Now()
	b, err := s.batches.Get(ctx, batchID)
	held := 0
	if err == nil {
		err = s.canClaim(viewer, b, now)
	}
	if err == nil && (b.PerMemberLimit > 1 || b.ExclusiveGroup != nil) {
		// Several per member, or either-or: what the member holds decides.
		err = errRefusedFast
	}
	if err != nil {
		if b, held, err = s.claimChecks(ctx, viewer, batchID, reqID, now, &v); err != nil || v.ID != 0 {
			if v.ID != 0 {
				return &v, nil
			}
			return nil, err
		}
	}
	if b.PerMemberLimit == 1 && b.ExclusiveGroup == nil {
		// One per member, nothing either-or: a claim is a seat like a
		// booking, and goes through the shared rush, coalesced under load.
		return s.rushClaim(ctx, viewer, b, reqID, now)
	}
	seq := held + 1
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := seats.Take(tx, voucherSeats, b.ID, seats.Open{
			SQL:  "status = ? AND claim_opens_at <= ? AND claim_closes_at > ?",
			Args: []any{models.OfferingPublished, now, now},
		}); err != nil {
			if apperr.Is(err, apperr.Full) {
				return errStockOut
			}
			return err
		}
		if b.PerMemberLimit > 1 {
			// Take holds the batch's row lock until commit, so this member's
			// other claims of the batch wait behind us: a current read now
			// counts them all (with a limit of one, the unique key is enough).
			var n int64
			if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Model(&models.Voucher{}).
				Where("batch_id = ? AND member_id = ?", b.ID, p.ID).Count(&n).Error; err != nil {
				return err
			}
			if int(n) >= b.PerMemberLimit {
				return apperr.Newf(apperr.LimitReached, "每人限领 %d 张，您已领完", b.PerMemberLimit)
			}
			seq = int(n) + 1
		}
		from, until := b.ValidityFor(now)
		active := true
		v = models.Voucher{BatchID: b.ID, MemberID: p.ID, ClaimSeq: seq, RequestID: reqID, ExclusiveGroup: b.ExclusiveGroup,
			Code: core.NewCode(20), Status: models.VoucherClaimed, Active: &active, ValidFrom: from, ValidUntil: until,
			CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&v).Error; err != nil {
			if store.IsDuplicate(err) {
				return core.ErrRaced
			}
			return err
		}
		return nil
	})
	if errors.Is(err, core.ErrRaced) {
		return s.afterClaimRace(ctx, p.ID, batchID, seq, reqID)
	}
	if errors.Is(err, errStockOut) { // or closed a moment ago: say which
		v = models.Voucher{} // nothing was inserted
		if _, _, err2 := s.claimChecks(ctx, viewer, batchID, reqID, now, &v); err2 != nil || v.ID != 0 {
			if v.ID != 0 {
				return &v, nil
			}
			return nil, err2
		}
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// rushClaim claims one voucher of b, a batch of one per member with no
// either-or group, through core.SeatRush: the stock is the pool's seats,
// the unique key (batch, member, seq 1) the one-per-member rule.
func (s *Service) rushClaim(ctx context.Context, viewer *core.Viewer, b *models.VoucherBatch, reqID *string, now time.Time) (*models.Voucher, error) {
	memberID := viewer.Member.ID
	return core.SeatRush[models.Voucher]{
		Spec: voucherSeats, PoolID: b.ID, Holder: memberID, Full: errStockOut,
		Open: seats.Open{
			SQL:  "status = ? AND claim_opens_at <= ? AND claim_closes_at > ?",
			Args: []any{models.OfferingPublished, now, now},
		},
		Cached: func() error { return nil }, // checked by the caller
		Fresh: func() (*models.Voucher, error) {
			if v, ok := s.byRequest(s.Q(ctx), memberID, reqID); ok {
				return v, nil // this very request, answered before
			}
			var v models.Voucher
			if _, _, err := s.claimChecks(ctx, viewer, b.ID, reqID, now, &v); err != nil || v.ID != 0 {
				if v.ID != 0 {
					return &v, nil
				}
				return nil, err
			}
			return nil, nil
		},
		Hold: func(seats.Grant) *models.Voucher {
			from, until := b.ValidityFor(now)
			active := true
			return &models.Voucher{BatchID: b.ID, MemberID: memberID, ClaimSeq: 1, RequestID: reqID,
				Code: core.NewCode(20), Status: models.VoucherClaimed, Active: &active, ValidFrom: from, ValidUntil: until,
				CreatedAt: now, UpdatedAt: now}
		},
	}.Take(ctx, s.Core)
}

// errRefusedFast sends a claim from the fast path to claimChecks.
var errRefusedFast = errors.New("check fresh")

// claimChecks is the claim rule on a fresh read of the batch and of what
// the member holds: it returns the batch and how many of its vouchers the
// member holds when they may claim, fills v with their voucher when this is
// a retry, or returns the refusal. Codes: NOT_FOUND, WINDOW_CLOSED,
// NOT_ELIGIBLE, LIMIT_REACHED, FULL.
func (s *Service) claimChecks(ctx context.Context, viewer *core.Viewer, batchID int64, reqID *string, now time.Time, v *models.Voucher) (*models.VoucherBatch, int, error) {
	var row struct {
		models.VoucherBatch `gorm:"embedded"`
		Held                int
		FirstID             *int64
	}
	memberID := viewer.Member.ID
	if err := s.Q(ctx).Table("voucher_batches").
		Select("voucher_batches.*, (SELECT COUNT(*) FROM vouchers AS v WHERE v.batch_id = voucher_batches.id AND v.member_id = ?) AS held,"+
			" (SELECT MIN(v.id) FROM vouchers AS v WHERE v.batch_id = voucher_batches.id AND v.member_id = ?) AS first_id", memberID, memberID).
		Where("voucher_batches.id = ?", batchID).Take(&row).Error; err != nil {
		return nil, 0, store.Translate(err, errBatchNotFound.Message, "")
	}
	b := &row.VoucherBatch
	s.batches.Put(b)
	if row.Held >= b.PerMemberLimit {
		if b.PerMemberLimit == 1 && reqID == nil && row.FirstID != nil { // a retry
			return b, row.Held, s.Q(ctx).Take(v, *row.FirstID).Error
		}
		return nil, 0, apperr.Newf(apperr.LimitReached, "每人限领 %d 张，您已领完", b.PerMemberLimit)
	}
	if err := s.canClaim(viewer, b, now); err != nil {
		return nil, 0, err
	}
	if b.ExclusiveGroup != nil {
		if err := s.groupHeld(s.Q(ctx), memberID, *b.ExclusiveGroup, b.ID); err != nil {
			return nil, 0, err
		}
	}
	return b, row.Held, nil
}

// afterClaimRace settles a claim that lost a unique index to a parallel
// one: the same place (or request) is the same voucher; the group taken by
// another batch is LIMIT_REACHED.
func (s *Service) afterClaimRace(ctx context.Context, memberID, batchID int64, seq int, reqID *string) (*models.Voucher, error) {
	var v models.Voucher
	q := s.Q(ctx)
	if mine, ok := s.byRequest(q, memberID, reqID); ok {
		return mine, nil
	}
	if reqID == nil {
		if err := q.Where("batch_id = ? AND member_id = ? AND claim_seq = ?", batchID, memberID, seq).Take(&v).Error; err == nil {
			return &v, nil
		}
	}
	var b models.VoucherBatch
	if err := q.Take(&b, batchID).Error; err == nil && b.ExclusiveGroup != nil {
		if err := s.groupHeld(q, memberID, *b.ExclusiveGroup, batchID); err != nil {
			return nil, err
		}
	}
	return nil, apperr.New(apperr.Conflict, "领取的人太多了，请稍后重试")
}

// byRequest is the member's voucher claimed under request id reqID, if
// any (a retry of that very request).
func (s *Service) byRequest(q *gorm.DB, memberID int64, reqID *string) (*models.Voucher, bool) {
	if reqID == nil {
		return nil, false
	}
	var v models.Voucher
	if err := q.Where("member_id = ? AND request_id = ?", memberID, *reqID).Take(&v).Error; err != nil {
		return nil, false
	}
	return &v, true
}

// groupHeld refuses a claim when the member already holds a voucher of the
// exclusive group from another batch. Codes: LIMIT_REACHED.
func (s *Service) groupHeld(tx *gorm.DB, memberID int64, group string, batchID int64) error {
	var other struct{ Title string }
	err := tx.Table("vouchers AS v").Select("b.title").Joins("JOIN voucher_batches AS b ON b.id = v.batch_id").
		Where("v.exclusive_group = ? AND v.member_id = ? AND v.batch_id <> ?", group, memberID, batchID).
		Take(&other).Error
	if store.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return apperr.Newf(apperr.LimitReached, "您已领取「%s」，与本券只能二选一", other.Title)
}

// canClaim is the claim rule shared by the claim and the browse reason.
// Codes: NOT_FOUND, WINDOW_CLOSED, NOT_ELIGIBLE, FULL.
func (s *Service) canClaim(v *core.Viewer, b *models.VoucherBatch, now time.Time) error {
	if b.Status == models.OfferingDraft || !v.OnChain(b.UnionID) {
		return errBatchNotFound
	}
	switch {
	case b.Status != models.OfferingPublished, !now.Before(b.ClaimClosesAt):
		return apperr.New(apperr.WindowClosed, "领取已结束")
	case now.Before(b.ClaimOpensAt):
		return apperr.Newf(apperr.WindowClosed, "领取尚未开始，将于 %s 开放", clock.Minutes(b.ClaimOpensAt))
	}
	if reason := v.Ineligibility(&b.Eligibility, now); reason != "" {
		return apperr.New(apperr.NotEligible, reason)
	}
	if b.StockLeft() == 0 {
		return errStockOut
	}
	return nil
}

// BatchClaimReason explains why the calling member cannot claim from b now
// ("" when they can; always "" for admins). Reads the request's viewer and
// the member's vouchers through loaders.
func (s *Service) BatchClaimReason(ctx context.Context, b *models.VoucherBatch, mine []*models.Voucher, groupTitle string) (string, error) {
	if !auth.PrincipalFrom(ctx).IsMember() {
		return "", nil
	}
	v, err := s.Viewer(ctx)
	if err != nil {
		return "", err
	}
	if len(mine) >= b.PerMemberLimit {
		return fmt.Sprintf("每人限领 %d 张，您已领取", b.PerMemberLimit), nil
	}
	if groupTitle != "" {
		return fmt.Sprintf("您已领取「%s」，与本券只能二选一", groupTitle), nil
	}
	if err := s.canClaim(v, b, s.Clock().Now()); err != nil {
		if ae, ok := apperr.As(err); ok && ae.Code != apperr.Internal {
			return ae.Message, nil
		}
		return "", err
	}
	return "", nil
}

// RedeemVoucher marks the voucher with this code REDEEMED, exactly once.
// The caller is an admin of the batch's union chain or a redeemer assigned
// to the batch. Unknown codes and codes of batches the caller may not
// redeem are failures, limited per caller (per instance).
// Codes: RATE_LIMITED, NOT_FOUND, FORBIDDEN, CONFLICT (already redeemed,
// saying when and by whom; or revoked), WINDOW_CLOSED (expired or not yet
// valid).
func (s *Service) RedeemVoucher(ctx context.Context, code string) (*models.Voucher, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsAdmin() && !p.IsRedeemer() {
		return nil, apperr.New(apperr.Forbidden, "仅管理员或核销员可以核销")
	}
	key := strconv.FormatInt(p.ID, 10)
	if s.redeemerFailures.Exhausted(key) {
		return nil, apperr.New(apperr.RateLimited, "核销失败次数过多，请稍后再试")
	}
	v, err := s.redeem(ctx, p, core.NormalizeCode(code, "unionhall:voucher:"))
	// Guessing shows as unknown codes and other batches' codes; a code of
	// one's own batch that was used or expired is no guess.
	if c := apperr.CodeOf(err); c == apperr.NotFound || c == apperr.Forbidden {
		s.redeemerFailures.Spend(key)
	}
	return v, err
}

func (s *Service) redeem(ctx context.Context, p *auth.Principal, code string) (*models.Voucher, error) {
	if len(code) != 20 {
		return nil, errVoucherNotFound
	}
	var v models.Voucher
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("code = ?", code).Take(&v).Error; err != nil {
			if store.IsNotFound(err) {
				return errVoucherNotFound
			}
			return err
		}
		if err := s.mayRedeem(tx, p, v.BatchID); err != nil {
			return err
		}
		now := s.Clock().Now()
		switch v.StatusAt(now) {
		case models.VoucherRedeemed:
			return s.alreadyRedeemed(tx, &v)
		case models.VoucherRevoked:
			return apperr.New(apperr.Conflict, "该券已作废，不能核销")
		case models.VoucherExpired:
			return apperr.Newf(apperr.WindowClosed, "该券已于 %s 过期", clock.Minutes(v.ValidUntil))
		}
		if now.Before(v.ValidFrom) {
			return apperr.Newf(apperr.WindowClosed, "该券 %s 起才能使用", clock.Minutes(v.ValidFrom))
		}
		res := tx.Model(&models.Voucher{}).Where("id = ? AND status = ?", v.ID, models.VoucherClaimed).
			Updates(map[string]any{"status": models.VoucherRedeemed, "redeemed_at": now, "redeemed_by": p.ID, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 { // a parallel redemption won
			if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&v, v.ID).Error; err != nil {
				return err
			}
			return s.alreadyRedeemed(tx, &v)
		}
		return tx.Take(&v, v.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func (s *Service) alreadyRedeemed(tx *gorm.DB, v *models.Voucher) error {
	who := "核销员"
	if v.RedeemedBy != nil {
		var a models.Admin
		if err := tx.Select("display_name").Take(&a, *v.RedeemedBy).Error; err == nil && a.DisplayName != "" {
			who = a.DisplayName
		}
	}
	when := ""
	if v.RedeemedAt != nil {
		when = clock.Minutes(*v.RedeemedAt)
	}
	return apperr.Newf(apperr.Conflict, "该券已于 %s 由%s核销，不能重复使用", when, who)
}

// mayRedeem checks the caller may redeem vouchers of batch id: an admin
// whose scope covers the batch's union, or a redeemer assigned to it.
// Codes: FORBIDDEN.
func (s *Service) mayRedeem(tx *gorm.DB, p *auth.Principal, batchID int64) error {
	errWrong := apperr.New(apperr.Forbidden, "您无权核销该礼券")
	if p.IsRedeemer() {
		var n int64
		if err := tx.Table("redeemer_batches").Where("admin_id = ? AND batch_id = ?", p.ID, batchID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return errWrong
		}
		return nil
	}
	var path string
	if err := tx.Table("voucher_batches AS b").Select("u.path").Joins("JOIN unions AS u ON u.id = b.union_id").
		Where("b.id = ?", batchID).Scan(&path).Error; err != nil {
		return err
	}
	var root models.Union
	if err := tx.Take(&root, p.UnionID).Error; err != nil {
		return err
	}
	if !models.PathContains(root.Path, path) {
		return errWrong
	}
	return nil
}

// RevokeVoucher voids a claimed voucher with a reason the member sees; its
// stock returns to the batch. It still counts against the member's limit
// and exclusive group. Idempotent.
// Codes: VALIDATION_FAILED (reason, or already redeemed), FORBIDDEN, NOT_FOUND.
func (s *Service) RevokeVoucher(ctx context.Context, voucherID int64, reason string) (*models.Voucher, error) {
	reason, err := core.CleanText("reason", reason, 2, 200)
	if err != nil {
		return nil, err
	}
	var v models.Voucher
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if err := tx.Take(&v, voucherID).Error; err != nil {
			if store.IsNotFound(err) {
				return errVoucherNotFound
			}
			return err
		}
		var b models.VoucherBatch
		if _, err := s.batchInScope(tx, sc, v.BatchID, &b); err != nil {
			return err
		}
		if _, err := seats.Lock(tx, voucherSeats, b.ID); err != nil {
			return err
		}
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&v, voucherID).Error; err != nil {
			return err
		}
		switch v.Status {
		case models.VoucherRevoked:
			return nil
		case models.VoucherRedeemed:
			return apperr.Invalid("voucherId", "该券已核销，不能作废")
		}
		now := s.Clock().Now()
		if err := tx.Model(&models.Voucher{}).Where("id = ? AND status = ?", v.ID, models.VoucherClaimed).
			Updates(map[string]any{"status": models.VoucherRevoked, "active": nil, "revoked_at": now, "revoked_by": sc.Admin.ID,
				"revoke_reason": reason, "updated_at": now}).Error; err != nil {
			return err
		}
		if _, err := seats.Release(tx, voucherSeats, b.ID, seats.Confirmed, now); err != nil {
			return err
		}
		if err := s.Audit(ctx, tx, sc.Admin.ID, "VOUCHER_REVOKE", "voucher", &v.ID, &b.UnionID, ""); err != nil {
			return err
		}
		return tx.Take(&v, v.ID).Error
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// SetRedeemerBatches replaces the batches a redeemer account may redeem.
// The redeemer and the batches must be in the caller's scope.
// Codes: FORBIDDEN, VALIDATION_FAILED.
func (s *Service) SetRedeemerBatches(ctx context.Context, redeemerID int64, batchIDs []int64) (*models.Admin, error) {
	if len(batchIDs) > 200 {
		return nil, apperr.Invalid("batchIds", "一次最多指定 200 批礼券")
	}
	var a models.Admin
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if err := tx.Take(&a, redeemerID).Error; err != nil {
			if store.IsNotFound(err) {
				return core.ErrOutOfScope
			}
			return err
		}
		var u models.Union
		if err := tx.Take(&u, a.UnionID).Error; err != nil {
			return err
		}
		if !sc.Covers(&u) {
			return core.ErrOutOfScope
		}
		if a.Role != models.RoleRedeemer {
			return apperr.Invalid("redeemerId", "该账号不是核销员账号")
		}
		now := s.Clock().Now()
		rows := make([]map[string]any, 0, len(batchIDs))
		seen := map[int64]bool{}
		for _, id := range batchIDs {
			if seen[id] {
				continue
			}
			seen[id] = true
			var b models.VoucherBatch
			if _, err := s.batchInScope(tx, sc, id, &b); err != nil {
				return err
			}
			rows = append(rows, map[string]any{"admin_id": a.ID, "batch_id": id, "created_at": now})
		}
		if err := tx.Exec("DELETE FROM redeemer_batches WHERE admin_id = ?", a.ID).Error; err != nil {
			return err
		}
		if len(rows) > 0 {
			if err := tx.Table("redeemer_batches").Create(rows).Error; err != nil {
				return err
			}
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "REDEEMER_BATCHES", "admin", &a.ID, &u.ID, fmt.Sprintf("batches=%d", len(rows)))
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// BatchFilter narrows a batch list.
type BatchFilter struct {
	Kind      *models.VoucherKind
	Claimable bool                   // members: only batches still open for claims
	UnionID   *int64                 // admins
	Status    *models.OfferingStatus // admins
}

// ListVoucherBatches lists batches, the soonest to close first. Members see
// published batches of their chain; admins every batch of their subtree.
// Codes: VALIDATION_FAILED, FORBIDDEN.
func (s *Service) ListVoucherBatches(ctx context.Context, f BatchFilter, first *int, after *string) (page.Page[*models.VoucherBatch], error) {
	var empty page.Page[*models.VoucherBatch]
	p, err := auth.Require(ctx)
	if err != nil {
		return empty, err
	}
	pa, err := page.Parse[core.CursorKey](first, after)
	if err != nil {
		return empty, err
	}
	var rows []*models.VoucherBatch
	err = s.ReadLagged(ctx, func(db *gorm.DB) error { // a list: a replica's lag is fine
		q, none, err := s.VisibleOfferings(ctx, db.Model(&models.VoucherBatch{}), f.UnionID, f.Status)
		if err != nil || none {
			return err
		}
		if f.Claimable && p.IsMember() {
			q = q.Where("status = ? AND claim_closes_at > ? AND confirmed_count < capacity", models.OfferingPublished, s.Clock().Now())
		}
		if f.Kind != nil {
			q = q.Where("kind = ?", *f.Kind)
		}
		if pa.HasKey {
			q = q.Where("claim_closes_at > ? OR (claim_closes_at = ? AND id > ?)", pa.Key.T, pa.Key.T, pa.Key.I)
		}
		return q.Order("claim_closes_at, id").Limit(pa.Size + 1).Find(&rows).Error
	})
	if err != nil {
		return empty, err
	}
	return page.Trim(rows, pa.Size), nil
}

// BatchCursor is a batch's cursor in a list.
func BatchCursor(b *models.VoucherBatch) any { return core.CursorKey{T: b.ClaimClosesAt, I: b.ID} }

// GetVoucherBatch returns a batch the caller may see (as GetTrainingClass).
func (s *Service) GetVoucherBatch(ctx context.Context, id int64) (*models.VoucherBatch, error) {
	var b models.VoucherBatch
	if err := core.GetOffering(ctx, s.Core, id, &b, func(b *models.VoucherBatch) int64 { return b.UnionID },
		func(b *models.VoucherBatch) bool { return b.Status == models.OfferingDraft }, errBatchNotFound); err != nil {
		return nil, err
	}
	return &b, nil
}

// VoucherFilter narrows a voucher list.
type VoucherFilter struct {
	Status *models.VoucherStatus
}

// statusWhere filters vouchers by the status members see at now.
func statusWhere(q *gorm.DB, st *models.VoucherStatus, now time.Time) *gorm.DB {
	if st == nil {
		return q
	}
	switch *st {
	case models.VoucherClaimed:
		return q.Where("status = ? AND valid_until > ?", models.VoucherClaimed, now)
	case models.VoucherExpired:
		return q.Where("status = ? AND valid_until <= ?", models.VoucherClaimed, now)
	}
	return q.Where("status = ?", *st)
}

// MyVouchers lists the calling member's vouchers, newest first.
func (s *Service) MyVouchers(ctx context.Context, f VoucherFilter, first *int, after *string) (page.Page[*models.Voucher], error) {
	var empty page.Page[*models.Voucher]
	p, err := core.MemberPrincipal(ctx)
	if err != nil {
		return empty, err
	}
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return empty, err
	}
	q := statusWhere(s.Q(ctx).Where("member_id = ?", p.ID), f.Status, s.Clock().Now())
	return core.ByIDPage[*models.Voucher](q, pa, true)
}

// BatchVouchers lists a batch's vouchers in claim order for admins of its
// scope; the read is audited. Codes: FORBIDDEN.
func (s *Service) BatchVouchers(ctx context.Context, batchID int64, f VoucherFilter, first *int, after *string) (page.Page[*models.Voucher], error) {
	var empty page.Page[*models.Voucher]
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return empty, err
	}
	var got page.Page[*models.Voucher]
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		var b models.VoucherBatch
		if _, err := s.batchInScope(tx, sc, batchID, &b); err != nil {
			return err
		}
		q := statusWhere(tx.Where("batch_id = ?", b.ID), f.Status, s.Clock().Now())
		if got, err = core.ByIDPage[*models.Voucher](q, pa, false); err != nil {
			return err
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "VOUCHERS_LIST", "voucher_batch", &b.ID, &b.UnionID, fmt.Sprintf("rows=%d", len(got.Items)))
	})
	if err != nil {
		return empty, err
	}
	return got, nil
}

// VoucherStats are counts and amounts (fen) of vouchers.
type VoucherStats struct {
	Batches                                    int
	Claimed, Redeemed, Expired, Revoked        int
	ClaimedFen, RedeemedFen, ExpiredFen, Stock int64
}

// VoucherStatsFor sums the vouchers of one batch (batchID) or of every batch
// in a union's subtree (unionID; nil: the caller's scope), for admins.
// Claimed counts every voucher handed out and not revoked. Codes: FORBIDDEN.
func (s *Service) VoucherStatsFor(ctx context.Context, batchID, unionID *int64) (*VoucherStats, error) {
	if !auth.PrincipalFrom(ctx).IsAdmin() {
		return nil, nil
	}
	db := s.Q(ctx)
	sc, err := s.AdminScope(ctx, db)
	if err != nil {
		return nil, err
	}
	batches := db.Model(&models.VoucherBatch{})
	if batchID != nil {
		var b models.VoucherBatch
		if _, err := s.batchInScope(db, sc, *batchID, &b); err != nil {
			return nil, err
		}
		batches = batches.Where("id = ?", b.ID)
	} else {
		root, err := s.UnionOrRoot(db, sc, unionID)
		if err != nil {
			return nil, err
		}
		batches = batches.Where("union_id IN (?)", core.SubtreeUnionIDs(db, root.Path))
	}
	var st VoucherStats
	var agg struct {
		N     int
		Stock int64
	}
	if err := batches.Session(&gorm.Session{}).Select("COUNT(*) AS n, COALESCE(SUM(capacity), 0) AS stock").Scan(&agg).Error; err != nil {
		return nil, err
	}
	st.Batches, st.Stock = agg.N, agg.Stock
	now := s.Clock().Now()
	var rows []struct {
		Status  models.VoucherStatus
		Expired bool
		N       int
		Fen     int64
	}
	if err := db.Table("vouchers AS v").
		Select("v.status, (v.status = ? AND v.valid_until <= ?) AS expired, COUNT(*) AS n, COALESCE(SUM(b.face_value_fen), 0) AS fen",
			models.VoucherClaimed, now).
		Joins("JOIN voucher_batches AS b ON b.id = v.batch_id").
		Where("v.batch_id IN (?)", batches.Session(&gorm.Session{}).Select("id")).
		Group("v.status, expired").Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		switch {
		case r.Status == models.VoucherRevoked:
			st.Revoked += r.N
			continue
		case r.Status == models.VoucherRedeemed:
			st.Redeemed += r.N
			st.RedeemedFen += r.Fen
		case r.Expired:
			st.Expired += r.N
			st.ExpiredFen += r.Fen
		}
		st.Claimed += r.N
		st.ClaimedFen += r.Fen
	}
	return &st, nil
}

// IsOwnVoucher reports whether the caller is the member holding v.
func IsOwnVoucher(ctx context.Context, v *models.Voucher) bool {
	p := auth.PrincipalFrom(ctx)
	return p.IsMember() && p.ID == v.MemberID
}

// VoucherMemberVisible reports whether the caller may see v's member: the
// member themself or an admin (who reached it through a scoped, audited
// list). Redeemers never see who holds a voucher.
func VoucherMemberVisible(ctx context.Context, v *models.Voucher) bool {
	return IsOwnVoucher(ctx, v) || auth.PrincipalFrom(ctx).IsAdmin()
}

// BatchesByIDs loads batches for a dataloader.
func (s *Service) BatchesByIDs(ctx context.Context, ids []int64) ([]*models.VoucherBatch, error) {
	var rows []*models.VoucherBatch
	if err := s.Q(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	return core.ByIDs(ids, rows, func(b *models.VoucherBatch) int64 { return b.ID }), nil
}

// MyVouchersByBatchIDs loads the calling member's vouchers of each batch,
// plus the title of the batch whose exclusive group they hold, per batch,
// for a dataloader.
func (s *Service) MyVouchersByBatchIDs(ctx context.Context, ids []int64) ([]MyBatchVouchers, error) {
	out := make([]MyBatchVouchers, len(ids))
	p := auth.PrincipalFrom(ctx)
	if !p.IsMember() {
		return out, nil
	}
	var rows []struct {
		models.Voucher `gorm:"embedded"`
		Title          string
	}
	// The member's vouchers of these batches, and of any batch sharing an
	// exclusive group with them, in one statement.
	if err := s.Q(ctx).Table("vouchers").Select("vouchers.*, b.title").
		Joins("JOIN voucher_batches AS b ON b.id = vouchers.batch_id").
		Where("vouchers.member_id = ? AND (vouchers.batch_id IN ? OR vouchers.exclusive_group IN (?))", p.ID, ids,
			s.Q(ctx).Model(&models.VoucherBatch{}).Select("exclusive_group").Where("id IN ? AND exclusive_group IS NOT NULL", ids)).
		Order("vouchers.id").Scan(&rows).Error; err != nil {
		return nil, err
	}
	var batches []*models.VoucherBatch
	if err := s.Q(ctx).Select("id, exclusive_group").Where("id IN ?", ids).Find(&batches).Error; err != nil {
		return nil, err
	}
	group := map[int64]*string{}
	for _, b := range batches {
		group[b.ID] = b.ExclusiveGroup
	}
	for i, id := range ids {
		for j := range rows {
			r := &rows[j]
			if r.BatchID == id {
				v := r.Voucher
				out[i].Mine = append(out[i].Mine, &v)
			} else if g := group[id]; g != nil && r.ExclusiveGroup != nil && *r.ExclusiveGroup == *g && out[i].GroupTitle == "" {
				out[i].GroupTitle = r.Title
			}
		}
	}
	return out, nil
}

// MyBatchVouchers is what the calling member holds that bears on a batch.
type MyBatchVouchers struct {
	Mine       []*models.Voucher
	GroupTitle string // the batch of the same exclusive group they hold, if any
}

func isASCIIToken(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}
