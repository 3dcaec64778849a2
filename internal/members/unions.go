package members

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/core"
	"unionhall/internal/page"
	"unionhall/internal/store"
	"unionhall/models"
)

// UnionFilter selects unions: children of ParentID (roots when nil), or a
// name search across the tree.
type UnionFilter struct {
	ParentID     *int64
	NameContains string
}

// ListUnions pages through the union tree, ordered by id.
func (s *Service) ListUnions(ctx context.Context, f UnionFilter, first *int, after *string) (page.Page[*models.Union], error) {
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return page.Page[*models.Union]{}, err
	}
	q := s.Q(ctx).Model(&models.Union{})
	name := strings.TrimSpace(f.NameContains)
	switch {
	case name != "":
		if utf8.RuneCountInString(name) > 50 {
			return page.Page[*models.Union]{}, apperr.Invalid("nameContains", "搜索词过长")
		}
		q = q.Where("name LIKE ? ESCAPE '!'", "%"+core.EscapeLike(name)+"%")
	case f.ParentID != nil:
		q = q.Where("parent_id = ?", *f.ParentID)
	default:
		q = q.Where("parent_id IS NULL")
	}
	if pa.HasKey {
		q = q.Where("id > ?", pa.Key.ID)
	}
	var rows []*models.Union
	if err := q.Order("id").Limit(pa.Size + 1).Find(&rows).Error; err != nil {
		return page.Page[*models.Union]{}, err
	}
	return page.Trim(rows, pa.Size), nil
}

// GetUnion returns a union or NOT_FOUND.
func (s *Service) GetUnion(ctx context.Context, id int64) (*models.Union, error) {
	var u models.Union
	if err := s.Q(ctx).Take(&u, id).Error; err != nil {
		return nil, store.Translate(err, "工会不存在", "")
	}
	return &u, nil
}

// UnionsByIDs loads unions for a dataloader, in the order of ids (nil for
// missing ones), from the short cache where it has them. Each caller gets
// its own copies.
func (s *Service) UnionsByIDs(ctx context.Context, ids []int64) ([]*models.Union, error) {
	out := make([]*models.Union, len(ids))
	var missing []int64
	for i, id := range ids {
		if u, ok := s.unions.Get(id); ok {
			out[i] = &u
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	var rows []*models.Union
	if err := s.Q(ctx).Where("id IN ?", missing).Find(&rows).Error; err != nil {
		return nil, err
	}
	byID := make(map[int64]*models.Union, len(rows))
	for _, u := range rows {
		byID[u.ID] = u
		s.unions.Add(u.ID, *u)
	}
	for i, id := range ids {
		if out[i] == nil {
			out[i] = byID[id]
		}
	}
	return out, nil
}

// CreateUnionInput is a new union under ParentID.
type CreateUnionInput struct {
	ParentID int64
	Name     string
	Level    models.UnionLevel
	Kind     models.UnionKind
}

// CreateUnion adds a union below one in the caller's scope. The level must be
// below the parent's. Codes: VALIDATION_FAILED, FORBIDDEN, ALREADY_EXISTS.
func (s *Service) CreateUnion(ctx context.Context, in CreateUnionInput) (*models.Union, error) {
	name, err := core.CleanText("name", in.Name, 2, 100)
	if err != nil {
		return nil, err
	}
	if !in.Level.IsValid() {
		return nil, apperr.Invalid("level", "工会层级不正确")
	}
	if !in.Kind.IsValid() {
		return nil, apperr.Invalid("kind", "工会类型不正确")
	}
	var u models.Union
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		parent, err := s.UnionInScope(tx, sc, in.ParentID, "parentId")
		if err != nil {
			return err
		}
		if in.Level.Rank() <= parent.Level.Rank() {
			return apperr.Invalid("level", "下级工会的层级应低于上级工会")
		}
		u = models.Union{Name: name, Level: in.Level, Kind: in.Kind, CreatedAt: s.Clock().Now()}
		return store.Translate(InsertUnion(tx, parent, &u), "", "同一上级下已有同名工会")
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// InsertUnion stores u under parent (nil for a root) and sets its path,
// which holds the row's own id and so is known only after the insert.
func InsertUnion(tx *gorm.DB, parent *models.Union, u *models.Union) error {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	u.Path = "/pending-" + hex.EncodeToString(nonce[:]) + "/" // unique until the real one is known
	u.ParentID, u.Depth = nil, 0
	if parent != nil {
		u.ParentID, u.Depth = &parent.ID, parent.Depth+1
	}
	if err := tx.Create(u).Error; err != nil {
		return err
	}
	if parent != nil {
		u.Path = parent.ChildPath(u.ID)
	} else {
		u.Path = "/" + strconv.FormatInt(u.ID, 10) + "/"
	}
	return tx.Model(u).Update("path", u.Path).Error
}

// CreateAdminInput is a new admin account.
type CreateAdminInput struct {
	Username    string
	Password    string
	DisplayName string
	UnionID     int64
	Role        models.AdminRole
}

// CreateAdmin adds an admin account for a union in the caller's scope. Only a
// super admin creates super admins. Codes: VALIDATION_FAILED, FORBIDDEN,
// ALREADY_EXISTS.
func (s *Service) CreateAdmin(ctx context.Context, in CreateAdminInput) (*models.Admin, error) {
	username := strings.TrimSpace(in.Username)
	if !core.ValidUsername(username) {
		return nil, apperr.Invalid("username", "用户名应为 3–64 位字母、数字、下划线、点或减号")
	}
	if utf8.RuneCountInString(in.Password) < 10 || len(in.Password) > 72 {
		return nil, apperr.Invalid("password", "密码长度应为 10–72 个字符")
	}
	display, err := core.CleanText("displayName", in.DisplayName, 1, 50)
	if err != nil {
		return nil, err
	}
	if !in.Role.IsValid() {
		return nil, apperr.Invalid("role", "角色不正确")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), bcrypt.DefaultCost)
	if err != nil {
		return nil, err
	}
	var a models.Admin
	err = s.Tx(ctx, func(tx *gorm.DB) error {
		sc, err := s.AdminScope(ctx, tx)
		if err != nil {
			return err
		}
		if in.Role == models.RoleSuperAdmin && !sc.Admin.IsSuperAdmin() {
			return apperr.New(apperr.Forbidden, "只有超级管理员可以创建超级管理员")
		}
		u, err := s.UnionInScope(tx, sc, in.UnionID, "unionId")
		if err != nil {
			return err
		}
		now := s.Clock().Now()
		creator := sc.Admin.ID
		a = models.Admin{Username: username, PasswordHash: string(hash), DisplayName: display, Role: in.Role,
			UnionID: u.ID, CreatedBy: &creator, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&a).Error; err != nil {
			return store.Translate(err, "", "用户名已被使用")
		}
		return s.Audit(ctx, tx, sc.Admin.ID, "ADMIN_CREATE", "admin", &a.ID, &u.ID, "role="+string(a.Role))
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// ListAdmins pages through admin accounts in the caller's scope.
func (s *Service) ListAdmins(ctx context.Context, first *int, after *string) (page.Page[*models.Admin], error) {
	pa, err := page.Parse[page.IDKey](first, after)
	if err != nil {
		return page.Page[*models.Admin]{}, err
	}
	sc, err := s.AdminScope(ctx, s.Q(ctx))
	if err != nil {
		return page.Page[*models.Admin]{}, err
	}
	q := s.Q(ctx).Where("union_id IN (?)", core.SubtreeUnionIDs(s.Q(ctx), sc.Root.Path))
	if pa.HasKey {
		q = q.Where("id > ?", pa.Key.ID)
	}
	var rows []*models.Admin
	if err := q.Order("id").Limit(pa.Size + 1).Find(&rows).Error; err != nil {
		return page.Page[*models.Admin]{}, err
	}
	return page.Trim(rows, pa.Size), nil
}

// AdminsByIDs loads admins for a dataloader, in the order of ids.
func (s *Service) AdminsByIDs(ctx context.Context, ids []int64) ([]*models.Admin, error) {
	var rows []*models.Admin
	if err := s.Q(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	byID := make(map[int64]*models.Admin, len(rows))
	for _, a := range rows {
		byID[a.ID] = a
	}
	out := make([]*models.Admin, len(ids))
	for i, id := range ids {
		out[i] = byID[id]
	}
	return out, nil
}
