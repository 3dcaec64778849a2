// Package ratelimit keeps per-key token buckets (golang.org/x/time/rate) in
// memory. It is per instance; with several instances each enforces its own
// share, which bounds brute force by the instance count.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed hands out one limiter per key and forgets idle ones.
type Keyed struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	entries map[string]*entry
	sweepAt time.Time
}

type entry struct {
	lim  *rate.Limiter
	seen time.Time
}

// New allows burst events at once, then one per interval, per key.
func New(interval time.Duration, burst int) *Keyed {
	return &Keyed{every: rate.Every(interval), burst: burst, entries: map[string]*entry{}}
}

// Allow reports whether one event for key may happen now.
func (k *Keyed) Allow(key string) bool {
	now := time.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.After(k.sweepAt) {
		for key, e := range k.entries {
			if now.Sub(e.seen) > 10*time.Minute {
				delete(k.entries, key)
			}
		}
		k.sweepAt = now.Add(time.Minute)
	}
	e, ok := k.entries[key]
	if !ok {
		e = &entry{lim: rate.NewLimiter(k.every, k.burst)}
		k.entries[key] = e
	}
	e.seen = now
	return e.lim.AllowN(now, 1)
}

// Exhausted reports whether key has no event left now, without spending
// one: for limits on failures, checked before an attempt and spent (Spend)
// only when it fails.
func (k *Keyed) Exhausted(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.entries[key]
	return ok && e.lim.TokensAt(time.Now()) < 1
}

// Spend records one event for key (see Exhausted).
func (k *Keyed) Spend(key string) { k.Allow(key) }
