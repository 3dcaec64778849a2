// Package matchmaking is matchmaking events (单身联谊): events with quotas
// by gender, single members' declarations and profiles (a photo behind a
// signed link), sign-ups chosen first come, by lottery or by an admin,
// mutual picks that make a match, and blocks and reports.
package matchmaking

import "unionhall/internal/core"

// Service is the matchmaking module over the shared core.
type Service struct{ *core.Core }

// New builds the module on core.
func New(c *core.Core) *Service {
	c.UsesFiles("match_profiles", "photo_file_id") // its uploads are in use while attached
	return &Service{Core: c}
}
