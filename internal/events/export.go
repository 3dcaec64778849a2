package events

import (
	"context"

	"gorm.io/gorm"

	"unionhall/internal/core"
	"unionhall/models"
)

// ExportEventSignUps is a post's sign-ups as .xlsx for admins of its
// scope, masked as ExportClassBookings. Codes: FORBIDDEN.
func (s *Service) ExportEventSignUps(ctx context.Context, postID int64, fullPhones bool) (*core.Export, error) {
	var p models.EventPost
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := s.eventInScope(tx, sc, postID, &p, false); err != nil {
			return err
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "EVENT_SIGNUPS_EXPORT", "event_post", &p.ID, &p.UnionID, core.ExportDetail(fullPhones))
	})
	if err != nil {
		return nil, err
	}
	return s.HoldsExport(ctx, p.Title+"-报名名单.xlsx", "event_signups", "post_id", p.ID, fullPhones), nil
}
