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
	lim     *rate.Limiter
	seen    time.Time
	pending int // attempts begun (Begin) and not yet ended
}

// New allows burst events at once, then one per interval, per key.
func New(interval time.Duration, burst int) *Keyed {
	return &Keyed{every: rate.Every(interval), burst: burst, entries: map[string]*entry{}}
}

// entry returns key's entry, sweeping idle ones first. k.mu must be held.
func (k *Keyed) entry(key string, now time.Time) *entry {
	if now.After(k.sweepAt) {
		for key, e := range k.entries {
			if e.pending == 0 && now.Sub(e.seen) > 10*time.Minute {
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
	return e
}

// Allow reports whether one event for key may happen now.
func (k *Keyed) Allow(key string) bool {
	now := time.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.entry(key, now).lim.AllowN(now, 1)
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

// Begin starts an attempt for key if one is left, and returns end to call
// when the attempt is over: end(true) spends the event (the attempt
// failed), end(false) gives it back. It is Exhausted and Spend for limits
// on failures that must hold under concurrency: attempts still in flight
// count as spent, so two hundred parallel requests cannot all pass the
// check before the first of them fails. When ok is false, end is a no-op.
func (k *Keyed) Begin(key string) (end func(failed bool), ok bool) {
	now := time.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.entry(key, now)
	if e.lim.TokensAt(now)-float64(e.pending) < 1 {
		return func(bool) {}, false
	}
	e.pending++
	var once sync.Once
	return func(failed bool) {
		once.Do(func() {
			now := time.Now()
			k.mu.Lock()
			defer k.mu.Unlock()
			e.pending--
			e.seen = now
			if failed {
				// The reservation above guarantees the token is there.
				e.lim.AllowN(now, 1)
			}
		})
	}, true
}
