package resolvers

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"unionhall/graph/model"
	"unionhall/internal/apperr"
	"unionhall/internal/auth"
	"unionhall/internal/members"
)

// AuthDirective implements @auth on root fields: a login is required, the
// role must match, and the token is re-checked against the database (session
// live, admin enabled, admin role and scope as stored) for every field, query
// or mutation, member or admin: a logout or a revoked login stops the access
// token at once, not when it expires. svc.Authorize runs once per request and
// trusts a session it read live for a few seconds, so this costs no more than
// one check per request, and often none.
func AuthDirective(svc *members.Service) func(ctx context.Context, obj any, next graphql.Resolver, requires model.Role) (any, error) {
	return func(ctx context.Context, obj any, next graphql.Resolver, requires model.Role) (any, error) {
		p, err := auth.Require(ctx)
		if err != nil {
			return nil, err
		}
		if p, err = svc.Authorize(ctx, p); err != nil {
			return nil, err
		}
		ctx = auth.WithPrincipal(ctx, p)
		if !hasRole(p, requires) {
			return nil, apperr.New(apperr.Forbidden, "没有权限执行此操作")
		}
		return next(ctx)
	}
}

func hasRole(p *auth.Principal, r model.Role) bool {
	switch r {
	case model.RoleAny:
		return true
	case model.RoleMember:
		return p.IsMember()
	case model.RoleAdmin:
		return p.IsAdmin()
	case model.RoleSuperAdmin:
		return p.IsSuperAdmin()
	case model.RoleRedeemer:
		return p.IsAdmin() || p.IsRedeemer()
	}
	return false
}
