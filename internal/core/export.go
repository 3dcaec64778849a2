package core

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
	"gorm.io/gorm"

	"unionhall/internal/clock"
	"unionhall/internal/pii"
	"unionhall/models"
)

// Export is a spreadsheet ready to stream to an admin.
type Export struct {
	FileName string
	Stream   func(w io.Writer) error // writes the .xlsx
}

// Write streams the .xlsx to w.
func (e *Export) Write(w io.Writer) error { return e.Stream(w) }

// xlsxCell keeps a value from being read as a formula when the sheet is
// opened (or re-saved as CSV): text starting with = + - @ gets a quote.
func xlsxCell(v any) any {
	s, ok := v.(string)
	if ok && s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return v
}

// WriteXLSX streams one sheet: the header, then whatever rows yields, with
// excelize's stream writer (rows go to a temporary file, not memory).
func WriteXLSX(w io.Writer, sheet string, header []string, rows func(emit func([]any) error) error) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	head := make([]any, len(header))
	for i, h := range header {
		head[i] = h
	}
	if err := sw.SetRow("A1", head); err != nil {
		return err
	}
	n := 1
	err = rows(func(vals []any) error {
		n++
		for i := range vals {
			vals[i] = xlsxCell(vals[i])
		}
		cell, _ := excelize.CoordinatesToCellName(1, n)
		return sw.SetRow(cell, vals)
	})
	if err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.Write(w)
}

// ExportBatch is how many rows an export reads at a time.
const ExportBatch = 500

// InBatches reads rows in keyset batches (fetch returns those after the id
// given) and hands each to each, so an export of any length holds one
// batch in memory.
func InBatches[T any](fetch func(after int64) ([]T, error), id func(T) int64, each func(T) error) error {
	var after int64
	for {
		rows, err := fetch(after)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := each(r); err != nil {
				return err
			}
			after = id(r)
		}
		if len(rows) < ExportBatch {
			return nil
		}
	}
}

// ExportPhone masks a phone unless the admin asked for whole numbers.
func ExportPhone(phone string, full bool) string {
	if full {
		return phone
	}
	return pii.MaskPhone(phone)
}

func ExportDetail(fullPhones bool) string {
	if fullPhones {
		return "phones=full"
	}
	return "phones=masked"
}

func ExportTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return clock.Seconds(*t)
}

// HoldsExport streams the holds (bookings, sign-ups) of one seat pool with
// their members, in sign-up order.
func (s *Core) HoldsExport(ctx context.Context, fileName, table, fk string, poolID int64, fullPhones bool) *Export {
	header := []string{"序号", "姓名", "手机号", "身份证号", "就业形态", "所在工会", "状态", "报名时间", "签到时间", "取消原因"}
	return &Export{
		FileName: fileName,
		Stream: func(w io.Writer) error {
			return WriteXLSX(w, "报名名单", header, func(emit func([]any) error) error {
				type row struct {
					ID                      int64
					Status                  models.BookingStatus
					CreatedAt               time.Time
					CheckedInAt             *time.Time
					CancelReason            string
					RealName, Phone, IDMask string
					EmploymentForm          models.EmploymentForm
					UnionName               *string
				}
				n := 0
				return InBatches(func(after int64) ([]row, error) {
					var rows []row
					err := s.ReadLagged(ctx, func(q *gorm.DB) error { // an export: a replica's lag is fine
						return q.Table(table+" AS b").
							Select("b.id, b.status, b.created_at, b.checked_in_at, b.cancel_reason, m.real_name, m.phone, m.id_mask, m.employment_form, u.name AS union_name").
							Joins("JOIN members AS m ON m.id = b.member_id").Joins("LEFT JOIN unions AS u ON u.id = m.union_id").
							Where("b."+fk+" = ? AND b.id > ?", poolID, after).Order("b.id").Limit(ExportBatch).Scan(&rows).Error
					})
					return rows, err
				}, func(r row) int64 { return r.ID }, func(r row) error {
					n++
					return emit([]any{n, r.RealName, ExportPhone(r.Phone, fullPhones), r.IDMask, r.EmploymentForm.Label(),
						Deref(r.UnionName), BookingLabel(r.Status), ExportTime(&r.CreatedAt), ExportTime(r.CheckedInAt), r.CancelReason})
				})
			})
		},
	}
}

func YesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

func GenderLabel(g models.Gender) string {
	if g == models.GenderFemale {
		return "女"
	}
	return "男"
}
