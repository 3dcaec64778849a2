// Package vouchers is limited-stock benefit vouchers: batches an admin
// publishes to a union's subtree, claims that race for the stock, codes a
// merchant's redeemer account redeems, and the batch's figures and export.
package vouchers

import (
	"time"

	"unionhall/internal/core"
	"unionhall/internal/ratelimit"
	"unionhall/models"
)

// Service is the vouchers module over the shared core.
type Service struct {
	*core.Core
	batches *core.OfferingCache[models.VoucherBatch]
	// redeemerFailures: 10 wrong codes, then one more every 6 s: typos
	// pass, guessing a 100-bit code does not.
	redeemerFailures *ratelimit.Keyed
}

// New builds the module on core.
func New(c *core.Core) *Service {
	return &Service{
		Core:             c,
		batches:          core.NewOfferingCache(c.DB(), func(b models.VoucherBatch) int64 { return b.ID }),
		redeemerFailures: ratelimit.New(6*time.Second, 10),
	}
}
