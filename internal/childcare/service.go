// Package childcare is holiday childcare (职工子女托管): programmes a union
// hosts with dates, daily hours, ages and seats; parents register their
// children and sign them up; admission by priority or lottery at close, a
// waitlist, guardians, and check-in at the door. A child holds at most one
// admitted place at any hour.
package childcare

import "unionhall/internal/core"

// Service is the childcare module over the shared core.
type Service struct{ *core.Core }

// New builds the module on core.
func New(c *core.Core) *Service { return &Service{Core: c} }
