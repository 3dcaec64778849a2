package core

import (
	"context"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/store"
	"unionhall/models"
)

// Viewer is the calling member with their union's path: what visibility and
// eligibility checks read. A request loads it once (see WithRequestMemo).
type Viewer struct {
	Member    *models.Member
	UnionPath string
}

// Chain is the ids of the unions from the member's union up to the root:
// whatever those publish is published to the member.
func (v *Viewer) Chain() []int64 { return models.PathIDs(v.UnionPath) }

// OnChain reports whether union id is on the member's chain.
func (v *Viewer) OnChain(id int64) bool { return slices.Contains(v.Chain(), id) }

// Ineligibility applies an offering's eligibility to the viewer on day now:
// "" when eligible, else the reason to show.
func (v *Viewer) Ineligibility(e *models.Eligibility, now time.Time) string {
	return e.Check(v.Member, v.UnionPath, now)
}

// loadViewer reads member id and their union's path in one statement.
func (s *Core) loadViewer(db *gorm.DB, id int64) (*Viewer, error) {
	var row struct {
		models.Member `gorm:"embedded"`
		UnionPath     *string
	}
	err := db.Table("members").Select("members.*, unions.path AS union_path").
		Joins("LEFT JOIN unions ON unions.id = members.union_id").Where("members.id = ?", id).Take(&row).Error
	if err != nil {
		if store.IsNotFound(err) {
			return nil, ErrSessionEnded
		}
		return nil, err
	}
	m := row.Member
	return &Viewer{Member: &m, UnionPath: Deref(row.UnionPath)}, nil
}

type viewerMemo struct {
	mu   sync.Mutex
	done bool
	v    *Viewer
	err  error
}

type viewerMemoKey struct{}

// WithRequestMemo gives a request a place to keep its viewer, so the list
// and each of its items' fields share one load.
func WithRequestMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, viewerMemoKey{}, &viewerMemo{})
}

// Viewer returns the calling member, loaded once per request.
// Codes: UNAUTHENTICATED, FORBIDDEN (not a member).
func (s *Core) Viewer(ctx context.Context) (*Viewer, error) {
	p, err := MemberPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	memo, ok := ctx.Value(viewerMemoKey{}).(*viewerMemo)
	if !ok {
		return s.loadViewer(s.Q(ctx), p.ID)
	}
	memo.mu.Lock()
	defer memo.mu.Unlock()
	if !memo.done {
		memo.v, memo.err = s.loadViewer(s.Q(ctx), p.ID)
		memo.done = true
	}
	return memo.v, memo.err
}

// RememberViewer keeps v as the request's viewer (when the request has a
// memo), so the operation that follows need not load it again.
func RememberViewer(ctx context.Context, v *Viewer) {
	if memo, ok := ctx.Value(viewerMemoKey{}).(*viewerMemo); ok {
		memo.mu.Lock()
		memo.v, memo.err, memo.done = v, nil, true
		memo.mu.Unlock()
	}
}

// ErrSessionEnded is a token whose login was logged out, revoked or
// replaced, or whose member or admin is gone.
var ErrSessionEnded = apperr.New(apperr.Unauthenticated, "登录已失效，请重新登录")
