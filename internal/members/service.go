// Package members is who uses the service: members logging in with WeChat
// and binding their identity, admins and their sessions, unions and their
// tree, rosters, and member review.
package members

import (
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"unionhall/internal/core"
	"unionhall/models"
)

// Service is the members module over the shared core.
type Service struct {
	*core.Core
	logins   *loginLimits
	sessions *sessionCache
	// unions are union rows as the dataloaders read them (names and
	// paths beside every post, class and programme), kept a few seconds:
	// they change rarely, and the feed would read them on every request.
	unions *expirable.LRU[int64, models.Union]
}

// unionCacheTTL is how stale a union's name can be on a page: an edit
// shows on every instance within it.
const unionCacheTTL = 5 * time.Second

// New builds the module on core.
func New(c *core.Core) *Service {
	return &Service{Core: c, logins: newLoginLimits(),
		sessions: newSessionCache(c.Clock(), c.Settings().SessionCacheTTL),
		unions:   expirable.NewLRU[int64, models.Union](8192, nil, unionCacheTTL)}
}
