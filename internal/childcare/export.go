package childcare

import (
	"context"
	"fmt"
	"io"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/core"
	"unionhall/models"
)

// ExportChildcareSignUps is a programme's sign-up list as .xlsx for admins
// of its host union's chain: children, their parents, admission and days
// attended. Phones and ID numbers are masked unless fullPhones asks for
// whole phone numbers (parents' and emergency contacts', for calling them),
// which the audit log records with the read. Codes: FORBIDDEN.
func (s *Service) ExportChildcareSignUps(ctx context.Context, programID int64, fullPhones bool) (*core.Export, error) {
	var p models.ChildcareProgram
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := s.programInScope(tx, sc, programID, &p, false); err != nil {
			return err
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "CHILDCARE_SIGNUPS_EXPORT", "childcare_program", &p.ID, &p.UnionID, core.ExportDetail(fullPhones))
	})
	if err != nil {
		return nil, err
	}
	header := []string{"序号", "孩子姓名", "性别", "出生日期", "年级", "身份证号", "过敏史", "健康状况", "紧急联系人", "紧急联系电话",
		"家长姓名", "家长手机号", "就业形态", "双职工", "优先", "状态", "未录取原因", "报名时间", "出勤天数"}
	return &core.Export{
		FileName: fmt.Sprintf("%s-托管报名名单.xlsx", p.Title),
		Stream: func(w io.Writer) error {
			return core.WriteXLSX(w, "托管报名名单", header, func(emit func([]any) error) error {
				type row struct {
					ID                                       int64
					Status                                   models.ChildSignUpStatus
					PriorityRank                             int
					DoubleWorker                             bool
					RejectReason                             string
					CreatedAt                                time.Time
					ChildName                                string
					Gender                                   models.Gender
					BirthDate                                time.Time
					SchoolGrade, IDMask, Allergies           string
					HealthNotes, EmergencyContactName        string
					EmergencyContactPhone, ParentName, Phone string
					EmploymentForm                           models.EmploymentForm
					Days                                     int
				}
				n := 0
				return core.InBatches(func(after int64) ([]row, error) {
					var rows []row
					err := s.ReadLagged(ctx, func(q *gorm.DB) error { // an export: a replica's lag is fine
						return q.Table("child_sign_ups AS su").
							Select("su.id, su.status, su.priority_rank, su.double_worker, su.reject_reason, su.created_at, "+
								"c.name AS child_name, c.gender, c.birth_date, c.school_grade, c.id_mask, c.allergies, c.health_notes, "+
								"c.emergency_contact_name, c.emergency_contact_phone, m.real_name AS parent_name, m.phone, m.employment_form, "+
								"(SELECT COUNT(*) FROM child_attendance AS a WHERE a.sign_up_id = su.id) AS days").
							Joins("JOIN children AS c ON c.id = su.child_id").Joins("JOIN members AS m ON m.id = su.member_id").
							Where("su.program_id = ? AND su.id > ?", p.ID, after).Order("su.id").Limit(core.ExportBatch).Scan(&rows).Error
					})
					return rows, err
				}, func(r row) int64 { return r.ID }, func(r row) error {
					n++
					gender := "男"
					if r.Gender == models.GenderFemale {
						gender = "女"
					}
					return emit([]any{n, r.ChildName, gender, r.BirthDate.Format(time.DateOnly), r.SchoolGrade, r.IDMask,
						r.Allergies, r.HealthNotes, r.EmergencyContactName, core.ExportPhone(r.EmergencyContactPhone, fullPhones),
						r.ParentName, core.ExportPhone(r.Phone, fullPhones), r.EmploymentForm.Label(), core.YesNo(r.DoubleWorker),
						core.YesNo(r.PriorityRank == 0), r.Status.Label(), r.RejectReason, core.ExportTime(&r.CreatedAt), r.Days})
				})
			})
		},
	}, nil
}
