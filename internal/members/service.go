// Package members is who uses the service: members logging in with WeChat
// and binding their identity, admins and their sessions, unions and their
// tree, rosters, and member review.
package members

import "unionhall/internal/service"

// Service is the members module over the shared core.
type Service struct {
	*service.Service
	logins   *loginLimits
	sessions *sessionCache
}

// New builds the module on core.
func New(core *service.Service) *Service {
	return &Service{Service: core, logins: newLoginLimits(),
		sessions: newSessionCache(core.Clock(), core.Settings().SessionCacheTTL)}
}
