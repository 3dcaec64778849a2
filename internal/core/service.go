// Package service holds the domain operations. Each exported method is one
// use case and, where it writes, one transaction; it checks the caller's
// object and union scope itself, so a resolver, an HTTP export or a job that
// calls it gets the same rules. Methods return *apperr.Error for anything the
// client should see.
package core

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/auth"
	"unionhall/internal/clock"
	"unionhall/internal/pii"
	"unionhall/internal/store"
	"unionhall/internal/upload"
	"unionhall/internal/wechat"
)

// Settings are the tunables the domain needs from configuration.
type Settings struct {
	RefreshTTL     time.Duration
	MaxUploadBytes int64
	NoShowLimit    int
	NoShowBanDays  int
	// PublicBaseURL is where clients reach this server (no trailing "/"):
	// file links are absolute under it. Empty: links stay relative.
	PublicBaseURL string
	// RefreshReuseGrace: a refresh token presented again this soon after
	// its first use gets the same successor (see Refresh). Zero: never.
	RefreshReuseGrace time.Duration
	// SessionCacheTTL is how long this instance trusts that a session it
	// read was live (see sessionCache). Zero: it always asks the database.
	SessionCacheTTL time.Duration
	// UnusedUploadTTL: an upload attached to nothing this long is deleted
	// (see SweepFiles). Zero: a day.
	UnusedUploadTTL time.Duration
}

// Core is every domain operation, sharing one set of dependencies.
type Core struct {
	db       *store.DB
	clock    clock.Clock
	tokens   *auth.Tokens
	wechat   wechat.Client
	sealer   *pii.Sealer
	files    upload.Store
	log      *slog.Logger
	settings Settings
	// fileUses are the columns that attach an upload to something (see
	// UsesFiles); an upload no column names is unused.
	fileUses []fileUse
	instance string
	// grants queues grant requests per pool (see coalesce.go).
	grants sync.Map
	// GrantStats counts coalesced batches.
	GrantStats GrantStats
	grantHook  atomic.Pointer[func()]
}

// Deps are what New needs.
type Deps struct {
	DB       *store.DB
	Clock    clock.Clock
	Tokens   *auth.Tokens
	WeChat   wechat.Client
	Sealer   *pii.Sealer
	Files    upload.Store
	Log      *slog.Logger
	Settings Settings
}

// New wires a Core.
func New(d Deps) *Core {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Core{
		db: d.DB, clock: d.Clock, tokens: d.Tokens, wechat: d.WeChat, sealer: d.Sealer,
		files: d.Files, log: d.Log, settings: d.Settings, instance: NewCode(12),
	}
}

// DB exposes the database to the app layer (health checks, dataloaders).
func (s *Core) DB() *store.DB { return s.db }

// Clock is the service's clock.
func (s *Core) Clock() clock.Clock { return s.clock }

// Settings are the tunables from configuration.
func (s *Core) Settings() Settings { return s.settings }

// Tokens signs and verifies access tokens.
func (s *Core) Tokens() *auth.Tokens { return s.tokens }

// WeChat is the WeChat API client (code to session).
func (s *Core) WeChat() wechat.Client { return s.wechat }

// Files is where uploaded files are kept.
func (s *Core) Files() upload.Store { return s.files }

// Log is the service's logger.
func (s *Core) Log() *slog.Logger { return s.log }

// Sealer opens sealed personal data for the member themself.
func (s *Core) Sealer() *pii.Sealer { return s.sealer }

// Tx runs fn in one transaction bound to ctx. A transaction MySQL picked
// as a deadlock victim was rolled back whole, so it runs again (fn must not
// keep state across tries).
func (s *Core) Tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	wait := 2 * time.Millisecond
	for try := 1; ; try++ {
		err := s.db.WithContext(ctx).Transaction(fn)
		if err == nil || try == maxTxTries || !store.IsRetryable(err) || ctx.Err() != nil {
			return err
		}
		// Jittered exponential backoff: transactions that collided do not
		// collide again in step, and a retry never outlives the request.
		d := wait/2 + time.Duration(rand.Int64N(int64(wait)))
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
			return err
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// maxTxTries bounds a transaction's retries after deadlocks (and, on
// Galera, certification conflicts, which it reports as deadlocks): about a
// second of backoff in all.
const maxTxTries = 8

// PublicURL is the link to path (which starts with "/") as clients must
// use it: absolute under the configured base, relative without one.
func (s *Core) PublicURL(path string) string { return s.settings.PublicBaseURL + path }

// q is a plain session bound to ctx, for reads and single statements.
func (s *Core) Q(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }

// ReadLagged runs fn, a read that tolerates a replica's lag of a few
// seconds, on a read replica where there is one (store.DB.ReadLagged):
// the feed, offering lists, statistics, exports. Anything that must see
// the caller's own latest write (sessions, the re-check before a
// mutation, a member's own records) reads through Q, the primary.
func (s *Core) ReadLagged(ctx context.Context, fn func(q *gorm.DB) error) error {
	return s.db.ReadLagged(ctx, fn)
}
