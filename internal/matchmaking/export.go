package matchmaking

import (
	"context"
	"io"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/core"
	"unionhall/models"
)

// ExportMatchSignUps is a matchmaking event's sign-ups as .xlsx for admins
// of its scope, masked as ExportClassBookings. It lists who signed up (so,
// who declared themselves single): the read is audited. Profiles, picks and
// matches are not in it. Codes: FORBIDDEN.
func (s *Service) ExportMatchSignUps(ctx context.Context, eventID int64, fullPhones bool) (*core.Export, error) {
	var e models.MatchEvent
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := core.OfferingInScope(tx, sc, eventID, &e, func(e *models.MatchEvent) int64 { return e.UnionID }, errMatchEventNotFound, false); err != nil {
			return err
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "MATCH_SIGNUPS_EXPORT", "match_event", &e.ID, &e.UnionID, core.ExportDetail(fullPhones))
	})
	if err != nil {
		return nil, err
	}
	header := []string{"序号", "姓名", "手机号", "性别", "所在工会", "状态", "报名时间", "签到时间"}
	return &core.Export{
		FileName: e.Title + "-报名名单.xlsx",
		Stream: func(w io.Writer) error {
			return core.WriteXLSX(w, "报名名单", header, func(emit func([]any) error) error {
				type row struct {
					ID              int64
					Status          models.MatchSignUpStatus
					CreatedAt       time.Time
					CheckedInAt     *time.Time
					RealName, Phone string
					Gender          models.Gender
					UnionName       *string
				}
				n := 0
				return core.InBatches(func(after int64) ([]row, error) {
					var rows []row
					err := s.ReadLagged(ctx, func(q *gorm.DB) error { // an export: a replica's lag is fine
						return q.Table("match_sign_ups AS b").
							Select("b.id, b.status, b.created_at, b.checked_in_at, m.real_name, m.phone, m.gender, u.name AS union_name").
							Joins("JOIN members AS m ON m.id = b.member_id").Joins("LEFT JOIN unions AS u ON u.id = m.union_id").
							Where("b.event_id = ? AND b.id > ?", e.ID, after).Order("b.id").Limit(core.ExportBatch).Scan(&rows).Error
					})
					return rows, err
				}, func(r row) int64 { return r.ID }, func(r row) error {
					n++
					return emit([]any{n, r.RealName, core.ExportPhone(r.Phone, fullPhones), core.GenderLabel(r.Gender), core.Deref(r.UnionName),
						r.Status.Label(), core.ExportTime(&r.CreatedAt), core.ExportTime(r.CheckedInAt)})
				})
			})
		},
	}, nil
}
