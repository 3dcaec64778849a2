package training

import (
	"context"

	"gorm.io/gorm"

	"unionhall/internal/core"
	"unionhall/models"
)

// ExportClassBookings is the sign-up list of a class as .xlsx for admins of
// its scope. Phones and ID numbers are masked unless fullPhones asks for
// whole phone numbers (for calling members), which the audit log records.
// Codes: FORBIDDEN.
func (s *Service) ExportClassBookings(ctx context.Context, classID int64, fullPhones bool) (*core.Export, error) {
	var c models.TrainingClass
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := s.classInScope(tx, sc, classID, &c, false); err != nil {
			return err
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "TRAINING_BOOKINGS_EXPORT", "training_class", &c.ID, &c.UnionID, core.ExportDetail(fullPhones))
	})
	if err != nil {
		return nil, err
	}
	return s.HoldsExport(ctx, c.Title+"-报名名单.xlsx", "training_bookings", "class_id", c.ID, fullPhones), nil
}
