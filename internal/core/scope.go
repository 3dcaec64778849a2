package core

import (
	"context"

	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/store"
	"unionhall/models"
)

// Scope is an admin's reach: the union at the root of their subtree.
type Scope struct {
	Admin *auth.Principal
	Root  *models.Union
}

// Covers reports whether union u is inside the scope.
func (sc *Scope) Covers(u *models.Union) bool { return sc.Root.Contains(u) }

// CoversPath reports whether a union path is inside the scope.
func (sc *Scope) CoversPath(path string) bool { return models.PathContains(sc.Root.Path, path) }

var ErrOutOfScope = apperr.New(apperr.Forbidden, "无权操作其他工会的数据")

// AdminScope loads the calling admin's scope. Codes: UNAUTHENTICATED,
// FORBIDDEN (not an admin).
func (s *Core) AdminScope(ctx context.Context, db *gorm.DB) (*Scope, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsAdmin() {
		return nil, apperr.New(apperr.Forbidden, "仅管理员可以操作")
	}
	var root models.Union
	if err := db.Take(&root, p.UnionID).Error; err != nil {
		return nil, err
	}
	return &Scope{Admin: p, Root: &root}, nil
}

// UnionInScope loads union id and checks it lies in the scope.
// Codes: NOT_FOUND (as field), FORBIDDEN.
func (s *Core) UnionInScope(db *gorm.DB, sc *Scope, id int64, field string) (*models.Union, error) {
	var u models.Union
	if err := db.Take(&u, id).Error; err != nil {
		if store.IsNotFound(err) {
			return nil, apperr.Invalid(field, "所选工会不存在")
		}
		return nil, err
	}
	if !sc.Covers(&u) {
		return nil, ErrOutOfScope
	}
	return &u, nil
}

// MemberPrincipal returns the calling member. Codes: UNAUTHENTICATED, FORBIDDEN.
func MemberPrincipal(ctx context.Context) (*auth.Principal, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsMember() {
		return nil, apperr.New(apperr.Forbidden, "仅会员可以操作")
	}
	return p, nil
}

// SubtreeUnionIDs is the sub-select of union ids under path, for IN (…).
func SubtreeUnionIDs(db *gorm.DB, path string) *gorm.DB {
	return db.Session(&gorm.Session{NewDB: true}).Model(&models.Union{}).Select("id").
		Scopes(UnderPath("path", path))
}

// UnderPath keeps the rows whose column (a union path, or a copy of one
// such as subsidy_applications.union_path) lies in the subtree at path: a
// range on the column's index, never LIKE. The one place the range is
// written, but for the dashboard's raw SQL, which names it @lo/@hi.
func UnderPath(column, path string) func(*gorm.DB) *gorm.DB {
	lo, hi := models.SubtreeRange(path)
	return func(db *gorm.DB) *gorm.DB { return db.Where(column+" >= ? AND "+column+" < ?", lo, hi) }
}

// UnionOrRoot is the union an admin names (which must be in their scope),
// or their own when they name none. Codes: FORBIDDEN, VALIDATION_FAILED.
func (s *Core) UnionOrRoot(db *gorm.DB, sc *Scope, id *int64) (*models.Union, error) {
	if id == nil {
		return sc.Root, nil
	}
	return s.UnionInScope(db, sc, *id, "unionId")
}
