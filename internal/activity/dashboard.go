package activity

import (
	"context"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/models"
)

// Dashboard is an admin's figures for a union subtree over [From, To).
type Dashboard struct {
	UnionID  int64
	From, To time.Time

	PostsPublished   int // posts first published in the range
	PostViews        int64
	SignUps          int // event sign-ups made in the range
	Attended         int // event check-ins in the range
	ClassBookings    int // class bookings made in the range
	NoShows          int // no-shows of classes that ended in the range
	VouchersClaimed  int
	VouchersRedeemed int
	RedeemedFen      int64
}

// maxDashboardDays bounds a dashboard's range (a year and a day).
const maxDashboardDays = 367

// DashboardFor computes the dashboard of unionID's subtree (the admin's own
// when nil) for [from, to), in one statement. Views are those of the posts
// published in the range, as flushed to the database.
// Codes: FORBIDDEN, VALIDATION_FAILED.
func (s *Service) DashboardFor(ctx context.Context, unionID *int64, from, to time.Time) (*Dashboard, error) {
	if !to.After(from) {
		return nil, apperr.Invalid("to", "结束时间应晚于开始时间")
	}
	if to.Sub(from) > maxDashboardDays*24*time.Hour {
		return nil, apperr.Invalid("to", "统计区间最长一年")
	}
	db := s.Q(ctx)
	sc, err := s.AdminScope(ctx, db)
	if err != nil {
		return nil, err
	}
	root, err := s.UnionOrRoot(db, sc, unionID)
	if err != nil {
		return nil, err
	}
	lo, hi := models.SubtreeRange(root.Path)
	// Every figure is a scalar sub-query over the subtree's unions, found
	// by the path range of the union index.
	const sub = "SELECT id FROM unions WHERE path >= @lo AND path < @hi"
	var d Dashboard
	err = s.ReadLagged(ctx, func(db *gorm.DB) error { // statistics: a replica's lag is fine
		return db.Raw(`SELECT
  (SELECT COUNT(*) FROM event_posts WHERE union_id IN (`+sub+`) AND published_at >= @from AND published_at < @to) AS posts_published,
  (SELECT COALESCE(SUM(view_count), 0) FROM event_posts WHERE union_id IN (`+sub+`) AND published_at >= @from AND published_at < @to) AS post_views,
  (SELECT COUNT(*) FROM event_signups AS b JOIN event_posts AS p ON p.id = b.post_id
     WHERE p.union_id IN (`+sub+`) AND b.created_at >= @from AND b.created_at < @to) AS sign_ups,
  (SELECT COUNT(*) FROM event_signups AS b JOIN event_posts AS p ON p.id = b.post_id
     WHERE p.union_id IN (`+sub+`) AND b.checked_in_at >= @from AND b.checked_in_at < @to) AS attended,
  (SELECT COUNT(*) FROM training_bookings AS b JOIN training_classes AS c ON c.id = b.class_id
     WHERE c.union_id IN (`+sub+`) AND b.created_at >= @from AND b.created_at < @to) AS class_bookings,
  (SELECT COUNT(*) FROM training_bookings AS b JOIN training_classes AS c ON c.id = b.class_id
     WHERE c.union_id IN (`+sub+`) AND b.status = @noShow AND c.ends_at >= @from AND c.ends_at < @to) AS no_shows,
  (SELECT COUNT(*) FROM vouchers AS v JOIN voucher_batches AS vb ON vb.id = v.batch_id
     WHERE vb.union_id IN (`+sub+`) AND v.created_at >= @from AND v.created_at < @to) AS vouchers_claimed,
  (SELECT COUNT(*) FROM vouchers AS v JOIN voucher_batches AS vb ON vb.id = v.batch_id
     WHERE vb.union_id IN (`+sub+`) AND v.redeemed_at >= @from AND v.redeemed_at < @to) AS vouchers_redeemed,
  (SELECT COALESCE(SUM(vb.face_value_fen), 0) FROM vouchers AS v JOIN voucher_batches AS vb ON vb.id = v.batch_id
     WHERE vb.union_id IN (`+sub+`) AND v.redeemed_at >= @from AND v.redeemed_at < @to) AS redeemed_fen`,
			map[string]any{"lo": lo, "hi": hi, "from": from.UTC(), "to": to.UTC(), "noShow": models.BookingNoShow}).
			Scan(&d).Error
	})
	if err != nil {
		return nil, err
	}
	d.UnionID, d.From, d.To = root.ID, from, to
	return &d, nil
}
