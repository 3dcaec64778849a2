// Package training is free skill-training classes: an admin publishes a
// class with sessions and seats, members book (popular ones sell out in
// minutes) and wait on a waitlist, check in by code, and no-shows are
// counted against future bookings.
package training

import (
	"unionhall/internal/core"
	"unionhall/models"
)

// Service is the training module over the shared core.
type Service struct {
	*core.Core
	classes *core.OfferingCache[models.TrainingClass]
}

// New builds the module on core.
func New(c *core.Core) *Service {
	return &Service{Core: c,
		classes: core.NewOfferingCache(c.DB(), func(c models.TrainingClass) int64 { return c.ID })}
}
