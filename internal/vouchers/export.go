package vouchers

import (
	"context"
	"fmt"
	"io"

	"gorm.io/gorm"

	"unionhall/internal/core"
	"unionhall/models"
)

// ExportVouchers is a batch's claims and redemptions as .xlsx for admins of
// its scope, masked as ExportClassBookings. Codes: FORBIDDEN.
func (s *Service) ExportVouchers(ctx context.Context, batchID int64, fullPhones bool) (*core.Export, error) {
	var b models.VoucherBatch
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := s.batchInScope(tx, sc, batchID, &b); err != nil {
			return err
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "VOUCHERS_EXPORT", "voucher_batch", &b.ID, &b.UnionID, core.ExportDetail(fullPhones))
	})
	if err != nil {
		return nil, err
	}
	header := []string{"序号", "姓名", "手机号", "所在工会", "状态", "面值（元）", "领取时间", "有效期至", "核销时间", "核销人", "作废原因"}
	now := s.Clock().Now()
	return &core.Export{
		FileName: fmt.Sprintf("%s-领取核销明细.xlsx", b.Title),
		Stream: func(w io.Writer) error {
			return core.WriteXLSX(w, "领取核销明细", header, func(emit func([]any) error) error {
				type row struct {
					models.Voucher  `gorm:"embedded"`
					RealName, Phone string
					UnionName       *string
					RedeemerName    *string
				}
				n := 0
				return core.InBatches(func(after int64) ([]row, error) {
					var rows []row
					err := s.ReadLagged(ctx, func(q *gorm.DB) error { // an export: a replica's lag is fine
						return q.Table("vouchers").
							Select("vouchers.*, m.real_name, m.phone, u.name AS union_name, a.display_name AS redeemer_name").
							Joins("JOIN members AS m ON m.id = vouchers.member_id").Joins("LEFT JOIN unions AS u ON u.id = m.union_id").
							Joins("LEFT JOIN admins AS a ON a.id = vouchers.redeemed_by").
							Where("vouchers.batch_id = ? AND vouchers.id > ?", b.ID, after).Order("vouchers.id").Limit(core.ExportBatch).Scan(&rows).Error
					})
					return rows, err
				}, func(r row) int64 { return r.ID }, func(r row) error {
					n++
					return emit([]any{n, r.RealName, core.ExportPhone(r.Phone, fullPhones), core.Deref(r.UnionName), voucherLabel(r.StatusAt(now)),
						float64(b.FaceValueFen) / 100, core.ExportTime(&r.CreatedAt), core.ExportTime(&r.ValidUntil),
						core.ExportTime(r.RedeemedAt), core.Deref(r.RedeemerName), r.RevokeReason})
				})
			})
		},
	}, nil
}

func voucherLabel(st models.VoucherStatus) string {
	return map[models.VoucherStatus]string{models.VoucherClaimed: "已领取", models.VoucherRedeemed: "已核销",
		models.VoucherExpired: "已过期", models.VoucherRevoked: "已作废"}[st]
}
