// Package resolvers is the GraphQL layer: authenticate, authorize by role,
// map input, call one service method, map the result. Rules live in the
// module services (internal/<module>) and their shared core
// (internal/service), not here.
package resolvers

import (
	"unionhall/internal/activity"
	"unionhall/internal/childcare"
	"unionhall/internal/events"
	"unionhall/internal/matchmaking"
	"unionhall/internal/members"
	"unionhall/internal/service"
	"unionhall/internal/subsidies"
	"unionhall/internal/training"
	"unionhall/internal/vouchers"
)

// Resolver is the one place dependencies are wired into the API: one field
// per module service. Svc is the shared core and the modules not yet moved
// into packages of their own.
type Resolver struct {
	Svc         *service.Service
	Training    *training.Service
	Vouchers    *vouchers.Service
	Posts       *events.Service // events; not Events or Event, query fields that would shadow it
	Childcare   *childcare.Service
	Matchmaking *matchmaking.Service
	Subsidies   *subsidies.Service
	Membership  *members.Service
	Activity    *activity.Service
}
