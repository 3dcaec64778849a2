package resolvers

import (
	"unionhall/graph/model"
	"unionhall/internal/page"
	"unionhall/internal/service"
	"unionhall/models"
)

// edges maps a page to connection edges and page info; every list in the
// API goes through here.
func edges[T, E any](p page.Page[T], key func(T) any, edge func(cursor string, node T) E) ([]E, *model.PageInfo) {
	out := make([]E, len(p.Items))
	info := &model.PageInfo{HasNextPage: p.HasNext}
	for i, it := range p.Items {
		c := page.Encode(key(it))
		out[i] = edge(c, it)
		info.EndCursor = &c
	}
	return out, info
}

func unionKey(u *models.Union) any    { return page.IDKey{ID: u.ID} }
func memberKey(m *models.Member) any  { return page.IDKey{ID: m.ID} }
func adminKey(a *models.Admin) any    { return page.IDKey{ID: a.ID} }
func auditKey(a *models.AuditLog) any { return page.IDKey{ID: a.ID} }

func unionConnection(p page.Page[*models.Union]) *model.UnionConnection {
	e, info := edges(p, unionKey, func(c string, n *models.Union) *model.UnionEdge { return &model.UnionEdge{Cursor: c, Node: n} })
	return &model.UnionConnection{Edges: e, PageInfo: info}
}

func authPayload(r *service.AuthResult) *model.AuthPayload {
	return &model.AuthPayload{
		AccessToken: r.AccessToken, AccessTokenExpiresAt: r.AccessExpiresAt,
		RefreshToken: r.RefreshToken, RefreshTokenExpiresAt: r.RefreshExpiresAt,
		Member: r.Member, Admin: r.Admin,
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func rosterPayload(r *service.RosterResult) *model.ImportRosterPayload {
	out := &model.ImportRosterPayload{Imported: r.Imported, Matched: r.Matched, Failed: r.Failed}
	for _, row := range r.Rows {
		out.Rows = append(out.Rows, &model.RosterRowResult{Row: row.Row, Status: model.RosterRowStatus(row.Status), Name: row.Name, Message: row.Message})
	}
	return out
}
