package resolvers

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"unionhall/graph/model"
	"unionhall/internal/loader"
	"unionhall/internal/members"
	"unionhall/internal/page"
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

func authPayload(r *members.AuthResult) *model.AuthPayload {
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

func rosterPayload(r *members.RosterResult) *model.ImportRosterPayload {
	out := &model.ImportRosterPayload{Imported: r.Imported, Matched: r.Matched, Failed: r.Failed}
	for _, row := range r.Rows {
		out.Rows = append(out.Rows, &model.RosterRowResult{Row: row.Row, Status: model.RosterRowStatus(row.Status), Name: row.Name, Message: row.Message})
	}
	return out
}

// requested reports whether the current field's selection asks for the
// nested field at path (fragments included), so a list resolver can prime
// the loaders of just the fields the client wants.
func requested(ctx context.Context, path ...string) bool {
	oc := graphql.GetOperationContext(ctx)
	fields := graphql.CollectFieldsCtx(ctx, nil)
	for i, name := range path {
		var next []graphql.CollectedField
		found := false
		for _, f := range fields {
			if f.Name != name {
				continue
			}
			found = true
			if i < len(path)-1 {
				next = append(next, graphql.CollectFields(oc, f.Selections, nil)...)
			}
		}
		if !found {
			return false
		}
		fields = next
	}
	return true
}

// primeClassPage loads, once for the whole page, the nested fields of
// classes the query asks for.
func primeClassPage(ctx context.Context, classes []*models.TrainingClass) error {
	if len(classes) == 0 {
		return nil
	}
	ids, unions := make([]int64, len(classes)), make([]int64, len(classes))
	for i, c := range classes {
		ids[i], unions[i] = c.ID, c.UnionID
	}
	if requested(ctx, "edges", "node", "union") {
		if err := loader.PrimeUnions(ctx, unions); err != nil {
			return err
		}
	}
	if requested(ctx, "edges", "node", "myBooking") || requested(ctx, "edges", "node", "ineligibleReason") {
		return loader.PrimeMyBookings(ctx, ids)
	}
	return nil
}

// reason is a service's "why you may not" as the schema's nullable
// ineligibleReason/claimReason: null when there is none.
func reason(why string, err error) (*string, error) {
	if err != nil || why == "" {
		return nil, err
	}
	return &why, nil
}

// unionsByID loads unions through the request's batched loader, in order.
func unionsByID(ctx context.Context, ids []int64) ([]*models.Union, error) {
	out := make([]*models.Union, 0, len(ids))
	for _, id := range ids {
		u, err := loader.Union(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}
