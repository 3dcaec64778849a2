// Package events is inclusive-benefit (普惠) events: posts an admin
// publishes (now or at a time) to a subtree or chosen unions, a feed
// members read, view counts, and sign-ups with seats, a waitlist and
// check-in.
package events

import (
	"unionhall/internal/core"
)

// Service is the events module over the shared core.
type Service struct {
	*core.Core
	posts *core.OfferingCache[cachedPost]
	views *viewCounter
}

// New builds the module on core.
func New(c *core.Core) *Service {
	return &Service{Core: c, posts: newPostCache(c.DB()), views: newViewCounter()}
}
