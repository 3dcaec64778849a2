// Package events is inclusive-benefit (普惠) events: posts an admin
// publishes (now or at a time) to a subtree or chosen unions, a feed
// members read, view counts, and sign-ups with seats, a waitlist and
// check-in.
package events

import (
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"unionhall/internal/core"
	"unionhall/models"
)

// Service is the events module over the shared core.
type Service struct {
	*core.Core
	posts *core.OfferingCache[cachedPost]
	views *viewCounter
	// feedPages are feed pages as every member of one union chain sees
	// them (see memberFeed), kept for the second they were read in.
	feedPages *expirable.LRU[string, []models.EventPost]
}

// New builds the module on core.
func New(c *core.Core) *Service {
	return &Service{Core: c, posts: newPostCache(c.DB()), views: newViewCounter(),
		feedPages: expirable.NewLRU[string, []models.EventPost](2048, nil, time.Second)}
}

// postChanged drops what this instance keeps of post id after an admin
// changed it: its cached row, and every feed page (a post can move into or
// out of any of them). Other instances see the change within a second.
func (s *Service) postChanged(id int64) {
	s.posts.Forget(id)
	s.feedPages.Purge()
}
