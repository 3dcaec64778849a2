// Package resolvers is the GraphQL layer: authenticate, authorize by role,
// map input, call one service method, map the result. Rules live in
// internal/service, not here.
package resolvers

import "unionhall/internal/service"

// Resolver is the one place dependencies are wired into the API.
type Resolver struct {
	Svc *service.Service
}
