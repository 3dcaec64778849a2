// Package activity is what reads across modules: a member's own activity
// (bookings, vouchers, sign-ups in one timeline) and an admin's dashboard
// of a subtree. It reads the modules' tables and imports none of them.
package activity

import "unionhall/internal/core"

// Service is the cross-module reader over the shared core.
type Service struct{ *core.Core }

// New builds it on core.
func New(c *core.Core) *Service { return &Service{Core: c} }
