package core

import (
	"context"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/obs"
	"unionhall/internal/page"
	"unionhall/models"
)

// Audit records an admin's read or change of personal data inside the
// transaction that did it. detail holds ids and counts, never personal data.
func (s *Core) Audit(ctx context.Context, tx *gorm.DB, adminID int64, action, targetKind string, targetID, unionID *int64, detail string) error {
	return tx.Create(&models.AuditLog{
		AdminID: adminID, Action: action, TargetKind: targetKind, TargetID: targetID, UnionID: unionID,
		Detail: detail, RequestID: obs.RequestID(ctx), CreatedAt: s.clock.Now(),
	}).Error
}

// AuditFilter narrows the audit log.
type AuditFilter struct {
	AdminID      *int64
	Action       string
	Since, Until *time.Time
}

// ListAuditLogs pages through the audit log, newest first. Super admins only
// (the resolver's role gate; checked here too).
func (s *Core) ListAuditLogs(ctx context.Context, f AuditFilter, first *int, after *string) (page.Page[*models.AuditLog], error) {
	var empty page.Page[*models.AuditLog]
	sc, err := s.AdminScope(ctx, s.Q(ctx))
	if err != nil {
		return empty, err
	}
	if !sc.Admin.IsSuperAdmin() {
		return empty, ErrOutOfScope
	}
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return empty, err
	}
	q := s.Q(ctx).Model(&models.AuditLog{})
	if f.AdminID != nil {
		q = q.Where("admin_id = ?", *f.AdminID)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.Since != nil {
		q = q.Where("created_at >= ?", f.Since.UTC())
	}
	if f.Until != nil {
		q = q.Where("created_at < ?", f.Until.UTC())
	}
	if pa.HasKey {
		q = q.Where("id < ?", pa.Key.ID)
	}
	var rows []*models.AuditLog
	if err := q.Order("id DESC").Limit(pa.Size + 1).Find(&rows).Error; err != nil {
		return empty, err
	}
	return page.Trim(rows, pa.Size), nil
}
