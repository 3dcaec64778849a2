package members

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"unionhall/internal/auth"
	"unionhall/internal/clock"
	"unionhall/models"
)

// sessionCacheSize bounds the sessions an instance remembers as live: at a
// 5 s TTL, 50 000 is ten thousand distinct callers a second before entries
// are evicted early (which costs only a database read), in a few MB.
const sessionCacheSize = 50_000

// sessionCache remembers for a short TTL that a session was live when this
// instance last read it, so that re-checking the session on every request
// (queries too, not only mutations) costs one database read per session
// per TTL rather than per request. A revocation on this instance drops the
// entry at once; one on another instance is seen here within the TTL.
type sessionCache struct {
	clock clock.Clock
	ttl   time.Duration

	mu sync.Mutex
	// gen counts revocations on this instance. A read that began before
	// one may have seen the session live just before it was revoked, so it
	// is not remembered (see remember).
	gen uint64
	lru *simplelru.LRU[int64, liveSession]
}

type liveSession struct {
	kind    models.SubjectKind
	subject int64
	until   time.Time
}

// sessionRead marks when a read of a session from the database began.
type sessionRead struct {
	gen uint64
	at  time.Time
}

func newSessionCache(clk clock.Clock, ttl time.Duration) *sessionCache {
	lru, err := simplelru.NewLRU[int64, liveSession](sessionCacheSize, nil)
	if err != nil {
		panic(err) // only for a size below one
	}
	return &sessionCache{clock: clk, ttl: ttl, lru: lru}
}

// live reports whether p's session is known live (and p's, not another
// subject's).
func (c *sessionCache) live(p *auth.Principal) bool {
	if c.ttl <= 0 {
		return false
	}
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(p.SessionID)
	if !ok {
		return false
	}
	if !now.Before(e.until) {
		c.lru.Remove(p.SessionID)
		return false
	}
	return e.kind == p.Kind && e.subject == p.ID
}

// begin is called before reading a session from the database; its result
// goes to remember.
func (c *sessionCache) begin() sessionRead {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	return sessionRead{gen: c.gen, at: now}
}

// remember records that p's session was read live, for the TTL counted
// from when the read began, unless a revocation on this instance happened
// since: the read may have come before it.
func (c *sessionCache) remember(p *auth.Principal, r sessionRead) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != r.gen {
		return
	}
	c.lru.Add(p.SessionID, liveSession{kind: p.Kind, subject: p.ID, until: r.at.Add(c.ttl)})
}

// Forget drops session id, just revoked.
func (c *sessionCache) Forget(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.lru.Remove(id)
}
