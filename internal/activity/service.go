// Package activity is what reads across modules: a member's own activity
// (bookings, vouchers, sign-ups in one timeline) and an admin's dashboard
// of a subtree. It reads the modules' tables and imports none of them.
package activity

import "unionhall/internal/service"

// Service is the cross-module reader over the shared core.
type Service struct{ *service.Service }

// New builds it on core.
func New(core *service.Service) *Service { return &Service{Service: core} }
