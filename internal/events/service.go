// Package events is inclusive-benefit (普惠) events: posts an admin
// publishes (now or at a time) to a subtree or chosen unions, a feed
// members read, view counts, and sign-ups with seats, a waitlist and
// check-in.
package events

import (
	"unionhall/internal/service"
)

// Service is the events module over the shared core.
type Service struct {
	*service.Service
	posts *service.OfferingCache[cachedPost]
	views *viewCounter
}

// New builds the module on core.
func New(core *service.Service) *Service {
	return &Service{Service: core, posts: newPostCache(core.DB()), views: newViewCounter()}
}
