// Package subsidies is education subsidies (求学圆梦): yearly programmes
// with caps by degree level and a budget shared by province, city and
// district; members apply with proof files behind signed links; reviewers
// down the applicant's chain approve in turn; payments are exported.
package subsidies

import "unionhall/internal/core"

// Service is the subsidies module over the shared core.
type Service struct{ *core.Core }

// New builds the module on core.
func New(c *core.Core) *Service {
	c.UsesFiles("subsidy_proofs", "file_id") // its uploads are in use while attached
	return &Service{Core: c}
}
