package resolvers

import (
	"unionhall/graph"
	"unionhall/graph/model"
	"unionhall/internal/matchmaking"
	"unionhall/models"
)

// listCost makes a connection cost its page size times its children, so
// nesting lists (unions → children → children …) is priced as the rows it
// can return, and the complexity limit bounds the work of a query.
func listCost(child int, first *int) int {
	n := 20
	if first != nil && *first > 0 {
		n = *first
	}
	return 1 + n*child
}

// Complexity returns the cost functions for list fields; other fields cost 1
// plus their children.
func Complexity() graph.ComplexityRoot {
	var c graph.ComplexityRoot
	c.Query.Unions = func(child int, _ *model.UnionFilter, first *int, _ *string) int { return listCost(child, first) }
	c.Query.Members = func(child int, _ *model.MemberFilter, first *int, _ *string) int { return listCost(child, first) }
	c.Query.Admins = func(child int, first *int, _ *string) int { return listCost(child, first) }
	c.Query.AuditLogs = func(child int, _ *model.AuditLogFilter, first *int, _ *string) int { return listCost(child, first) }
	c.Query.TrainingClasses = func(child int, _ *model.TrainingClassFilter, first *int, _ *string) int {
		return listCost(child, first)
	}
	c.Query.MyBookings = func(child int, _ *model.BookingFilter, first *int, _ *string) int { return listCost(child, first) }
	c.Query.ClassBookings = func(child int, _ int64, _ *model.BookingFilter, first *int, _ *string) int {
		return listCost(child, first)
	}
	c.Query.VoucherBatches = func(child int, _ *model.VoucherBatchFilter, first *int, _ *string) int { return listCost(child, first) }
	c.Query.MyVouchers = func(child int, _ *model.VoucherFilter, first *int, _ *string) int { return listCost(child, first) }
	c.Query.BatchVouchers = func(child int, _ int64, _ *model.VoucherFilter, first *int, _ *string) int {
		return listCost(child, first)
	}
	c.Query.Events = func(child int, _ *model.EventFilter, first *int, _ *string) int { return listCost(child, first) }
	c.Query.MySignUps = func(child int, _ *model.BookingFilter, first *int, _ *string) int { return listCost(child, first) }
	c.Query.EventSignUps = func(child int, _ int64, _ *model.BookingFilter, first *int, _ *string) int {
		return listCost(child, first)
	}
	c.Query.MyActivity = func(child int, first *int, _ *string) int { return listCost(child, first) }
	c.Query.ChildcarePrograms = func(child int, _ *model.ChildcareProgramFilter, first *int, _ *string) int {
		return listCost(child, first)
	}
	c.Query.MyChildren = func(child int, first *int, _ *string) int { return listCost(child, first) }
	c.Query.MyChildSignUps = func(child int, _ *model.MyChildSignUpFilter, first *int, _ *string) int {
		return listCost(child, first)
	}
	c.Query.ChildcareSignUps = func(child int, _ int64, _ *model.ChildSignUpFilter, first *int, _ *string) int {
		return listCost(child, first)
	}
	c.Query.SubsidyPrograms = func(child int, _ *model.SubsidyProgramFilter, first *int, _ *string) int {
		return listCost(child, first)
	}
	c.Query.MySubsidyApplications = func(child int, first *int, _ *string) int { return listCost(child, first) }
	c.Query.SubsidyApplications = func(child int, _ model.SubsidyApplicationFilter, first *int, _ *string) int {
		return listCost(child, first)
	}
	// At most maxProofFiles (10) proofs an application; a trail is three
	// stages per round, a handful of rounds.
	c.SubsidyApplication.Proofs = func(child int) int { return 1 + 10*child }
	c.SubsidyApplication.Reviews = func(child int) int { return 1 + 10*child }
	// A programme lasts at most 92 days: one attendance row a day.
	c.ChildSignUp.Attendance = func(child int) int { return 1 + 92*child }
	c.Query.MatchEvents = func(child int, _ *int64, _ *models.OfferingStatus, first *int, _ *string) int {
		return listCost(child, first)
	}
	c.Query.MyMatchSignUps = func(child int, first *int, _ *string) int { return listCost(child, first) }
	c.Query.MatchSignUps = func(child int, _ int64, _ *models.MatchSignUpStatus, first *int, _ *string) int {
		return listCost(child, first)
	}
	// Not connections: participants are one gender's quota at most (priced
	// as a full one); matches, maxPicks per event.
	c.Query.MatchEventParticipants = func(child int, _ int64) int { return 1 + matchmaking.MaxMatchQuota*child }
	c.Query.MyMatches = func(child int) int { return 1 + 100*child }
	c.MatchEvent.Quotas = func(child int) int { return 1 + 2*child }
	c.SelectMatchParticipantsPayload.SignUps = func(child int) int { return 1 + 500*child }
	c.Union.Children = func(child int, first *int, _ *string) int { return listCost(child, first) }
	return c
}
