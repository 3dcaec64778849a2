package activity

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"unionhall/internal/core"
	"unionhall/internal/page"
	"unionhall/models"
)

// ActivityKind says what an activity item is.
type ActivityKind string

const (
	ActivityClassBooking ActivityKind = "CLASS_BOOKING"
	ActivityVoucher      ActivityKind = "VOUCHER"
	ActivityEventSignUp  ActivityKind = "EVENT_SIGN_UP"
)

// MarshalGQL writes the kind as its GraphQL enum value.
func (k ActivityKind) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(k))) }

// UnmarshalGQL is required of a GraphQL enum; the kind is output only.
func (k *ActivityKind) UnmarshalGQL(v any) error {
	s, _ := v.(string)
	switch ActivityKind(s) {
	case ActivityClassBooking, ActivityVoucher, ActivityEventSignUp:
		*k = ActivityKind(s)
		return nil
	}
	return fmt.Errorf("%q is not an ActivityKind", s)
}

// Activity is one item of a member's activity: exactly one of its pointers
// is set, by Kind.
type Activity struct {
	Kind    ActivityKind
	ID      int64
	At      time.Time
	Booking *models.TrainingBooking
	Voucher *models.Voucher
	SignUp  *models.EventSignUp
}

type activityKey struct {
	T time.Time `json:"t"`
	K string    `json:"k"`
	I int64     `json:"i"`
}

// ActivityCursor is an item's cursor in myActivity.
func ActivityCursor(a *Activity) any { return activityKey{T: a.At, K: string(a.Kind), I: a.ID} }

// activitySources are the tables myActivity merges.
var activitySources = []struct {
	kind  ActivityKind
	table string
}{{ActivityClassBooking, "training_bookings"}, {ActivityVoucher, "vouchers"}, {ActivityEventSignUp, "event_signups"}}

// MyActivity is one list, newest first, across the calling member's class
// bookings, vouchers and event sign-ups. Each table gives its first
// size+1 rows after the cursor off its (member_id, created_at) index, and
// the merge of those few rows is the page; then one query per kind loads
// the page's rows.
func (s *Service) MyActivity(ctx context.Context, first *int, after *string) (page.Page[*Activity], error) {
	var empty page.Page[*Activity]
	pr, err := core.MemberPrincipal(ctx)
	if err != nil {
		return empty, err
	}
	pa, err := page.Parse[activityKey](first, after)
	if err != nil {
		return empty, err
	}
	sql, args := "SELECT kind, id, at FROM (", []any{}
	for i, src := range activitySources {
		if i > 0 {
			sql += " UNION ALL "
		}
		sql += fmt.Sprintf("SELECT kind, id, at FROM (SELECT '%s' AS kind, id, created_at AS at FROM %s WHERE member_id = ?", src.kind, src.table)
		args = append(args, pr.ID)
		if pa.HasKey {
			// (at, kind, id) < cursor, in the list's order.
			sql += " AND created_at <= ? AND (created_at < ? OR ? > ? OR (? = ? AND id < ?))"
			k := string(src.kind)
			args = append(args, pa.Key.T, pa.Key.T, pa.Key.K, k, pa.Key.K, k, pa.Key.I)
		}
		sql += fmt.Sprintf(" ORDER BY created_at DESC, id DESC LIMIT %d) AS a%d", pa.Size+1, i)
	}
	sql += fmt.Sprintf(") AS m ORDER BY at DESC, kind DESC, id DESC LIMIT %d", pa.Size+1)
	var found []struct {
		Kind ActivityKind
		ID   int64
		At   time.Time
	}
	if err := s.Q(ctx).Raw(sql, args...).Scan(&found).Error; err != nil {
		return empty, err
	}
	rows := make([]*Activity, len(found))
	for i, f := range found {
		rows[i] = &Activity{Kind: f.Kind, ID: f.ID, At: f.At}
	}
	out := page.Trim(rows, pa.Size)
	if err := s.loadActivity(ctx, out.Items); err != nil {
		return empty, err
	}
	return out, nil
}

// loadActivity fills each item's row, one query per kind on the page.
func (s *Service) loadActivity(ctx context.Context, items []*Activity) error {
	ids := map[ActivityKind][]int64{}
	for _, a := range items {
		ids[a.Kind] = append(ids[a.Kind], a.ID)
	}
	var bookings []*models.TrainingBooking
	var vouchers []*models.Voucher
	var signUps []*models.EventSignUp
	for kind, dst := range map[ActivityKind]any{ActivityClassBooking: &bookings, ActivityVoucher: &vouchers, ActivityEventSignUp: &signUps} {
		if len(ids[kind]) > 0 {
			if err := s.Q(ctx).Where("id IN ?", ids[kind]).Find(dst).Error; err != nil {
				return err
			}
		}
	}
	b := core.ByIDs(ids[ActivityClassBooking], bookings, func(x *models.TrainingBooking) int64 { return x.ID })
	v := core.ByIDs(ids[ActivityVoucher], vouchers, func(x *models.Voucher) int64 { return x.ID })
	e := core.ByIDs(ids[ActivityEventSignUp], signUps, func(x *models.EventSignUp) int64 { return x.ID })
	var bi, vi, ei int
	for _, a := range items {
		switch a.Kind {
		case ActivityClassBooking:
			a.Booking, bi = b[bi], bi+1
		case ActivityVoucher:
			a.Voucher, vi = v[vi], vi+1
		case ActivityEventSignUp:
			a.SignUp, ei = e[ei], ei+1
		}
	}
	return nil
}
