// Package members is who uses the service: members logging in with WeChat
// and binding their identity, admins and their sessions, unions and their
// tree, rosters, and member review.
package members

import "unionhall/internal/core"

// Service is the members module over the shared core.
type Service struct {
	*core.Core
	logins   *loginLimits
	sessions *sessionCache
}

// New builds the module on core.
func New(c *core.Core) *Service {
	return &Service{Core: c, logins: newLoginLimits(),
		sessions: newSessionCache(c.Clock(), c.Settings().SessionCacheTTL)}
}
