// Package resolvers is the GraphQL layer: authenticate, authorize by role,
// map input, call one service method, map the result. Rules live in the
// module services (internal/<module>) and their shared core
// (internal/core), not here.
package resolvers

import (
	"unionhall/internal/activity"
	"unionhall/internal/childcare"
	"unionhall/internal/core"
	"unionhall/internal/events"
	"unionhall/internal/matchmaking"
	"unionhall/internal/members"
	"unionhall/internal/subsidies"
	"unionhall/internal/training"
	"unionhall/internal/vouchers"
)

// Resolver is the one place dependencies are wired into the API: one field
// per module service, and the shared core for what belongs to no module
// (the audit log).
type Resolver struct {
	Core        *core.Core
	Training    *training.Service
	Vouchers    *vouchers.Service
	Posts       *events.Service // events; not Events or Event, query fields that would shadow it
	Childcare   *childcare.Service
	Matchmaking *matchmaking.Service
	Subsidies   *subsidies.Service
	Membership  *members.Service
	Activity    *activity.Service
}
