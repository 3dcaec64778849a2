package core

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/seats"
	"unionhall/internal/store"
)

// Coalesced grants. Under a rush every grant on one pool waits for the
// pool's row lock, so the pool's throughput is the inverse of how long each
// transaction holds it. Requests for a pool that arrive on this instance
// while a grant transaction for it is in flight wait for it to end and then
// go together in the next one: one locking read, one UPDATE of the
// counters (seats.TakeMany), one INSERT of the holds, one commit; each request
// gets its own outcome. A request that finds no transaction in flight runs
// alone at once, exactly as before (seats.Take), so an idle server adds no
// wait. A batch holds at most MaxGrantBatch requests; a busy pool's queue
// is drained by a goroutine of its own, so no request waits for more than
// the transactions ahead of it.
//
// Every rule holds as in a lone grant: the counters move only by a
// conditional UPDATE under the pool's lock; the holds' unique key still
// allows one active hold per member, and a member who already holds one,
// or appears twice in a batch, is answered with it (a fresh read); an
// offering's own rule under the pool's lock (SeatRush.Check) is asked of
// each request, and one it refuses takes no seat and gets its refusal; a pool
// that closed grants nothing; if the batch's transaction fails, every
// request in it gets the error and nothing of it is written.

// MaxGrantBatch bounds one coalesced transaction.
const MaxGrantBatch = 64

// grantQueue is one pool's requests waiting for the transaction in flight.
type grantQueue struct {
	mu      sync.Mutex
	running bool
	waiting []*grantReq
}

// grantReq is one request in a queue. check (optional) is its own rule
// under the pool's lock; insertAll stores a batch's holds (of one pool,
// so of one type) in tx with one multi-row INSERT; alone runs it by
// itself (the lone path); done receives its outcome.
type grantReq struct {
	holder    int64
	check     func(tx *gorm.DB) error
	hold      func(seats.Grant) any
	insertAll func(tx *gorm.DB, holds []any) error
	alone     func(ctx context.Context) (any, error)
	done      chan grantOutcome
}

type grantOutcome struct {
	hold any   // nil with err == nil: ask the fresh read (full, closed, or a retry)
	err  error // the transaction's error
}

// GrantStats counts coalesced grants, for the benchmarks' batch sizes.
type GrantStats struct{ Batches, Requests atomic.Int64 }

// errFallBack: a hold's insert met the unique key despite the check (a
// hold written outside the pool's lock); the batch is undone and each
// request runs alone.
var errFallBack = errors.New("a batch hold raced")

func (s *Core) grantQueue(key string) *grantQueue {
	if q, ok := s.grants.Load(key); ok {
		return q.(*grantQueue)
	}
	q, _ := s.grants.LoadOrStore(key, &grantQueue{})
	return q.(*grantQueue)
}

// coalesce runs req on pool (sp, id) with the requests that join it.
func (s *Core) coalesce(ctx context.Context, sp seats.Spec, id int64, open seats.Open, req *grantReq) grantOutcome {
	key := sp.Pools + ":" + strconv.FormatInt(id, 10)
	q := s.grantQueue(key)
	q.mu.Lock()
	if !q.running {
		q.running = true
		q.mu.Unlock()
		if hook := s.grantHook.Load(); hook != nil {
			(*hook)()
		}
		h, err := req.alone(ctx)              // alone: no added wait
		go s.drain(ctx, key, q, sp, id, open) // those who came meanwhile; this request answers now
		return grantOutcome{hold: h, err: err}
	}
	q.waiting = append(q.waiting, req)
	q.mu.Unlock()
	select {
	case out := <-req.done:
		return out
	case <-ctx.Done():
		q.mu.Lock()
		for i, r := range q.waiting {
			if r == req { // not taken into a batch yet: leave
				q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
				q.mu.Unlock()
				return grantOutcome{err: ctx.Err()}
			}
		}
		q.mu.Unlock()
		return <-req.done // its batch is running: its outcome comes
	}
}

// drain runs the queue's waiting requests in batches until it is empty,
// then marks the pool idle. It runs on a goroutine of its own, on a context
// of its own (a batch belongs to all its requests).
func (s *Core) drain(ctx context.Context, key string, q *grantQueue, sp seats.Spec, id int64, open seats.Open) {
	base := context.WithoutCancel(ctx)
	for {
		q.mu.Lock()
		n := min(len(q.waiting), MaxGrantBatch)
		if n == 0 {
			q.running = false
			q.mu.Unlock()
			// An idle pool's queue goes, so the map holds only pools in a
			// rush. A request that already holds q still works: at worst
			// two transactions of this instance queue on the pool's lock.
			s.grants.CompareAndDelete(key, q)
			return
		}
		batch := append([]*grantReq(nil), q.waiting[:n]...)
		q.waiting = q.waiting[n:]
		q.mu.Unlock()
		// Each batch has its own deadline: a long rush keeps this
		// goroutine draining for longer than any one request may take.
		bctx, cancel := context.WithTimeout(base, 15*time.Second)
		s.runBatch(bctx, batch, sp, id, open)
		cancel()
	}
}

// runBatch grants batch in one transaction and answers every request.
func (s *Core) runBatch(ctx context.Context, batch []*grantReq, sp seats.Spec, id int64, open seats.Open) {
	if len(batch) == 1 {
		h, err := batch[0].alone(ctx)
		batch[0].done <- grantOutcome{hold: h, err: err}
		return
	}
	s.GrantStats.Batches.Add(1)
	s.GrantStats.Requests.Add(int64(len(batch)))
	holds := make([]any, len(batch))
	refused := make([]error, len(batch)) // a request's own check said no
	first := make([]int, len(batch))     // the first request of the same holder in the batch
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		clear(holds) // a deadlock retry starts over
		clear(refused)
		holders := make([]int64, len(batch))
		for i, r := range batch {
			holders[i] = r.holder
		}
		// Who holds already is read before the pool is locked (a hold made
		// in between meets the unique key, and the batch falls back).
		var takers []int
		held, err := seats.Holding(tx, sp, id, holders)
		if err != nil {
			return err
		}
		seen := make(map[int64]int, len(batch))
		checks := false
		for i, r := range batch {
			first[i] = i
			if j, ok := seen[r.holder]; ok {
				first[i] = j // twice in the batch: answered as the first was
				continue
			}
			seen[r.holder] = i
			if held[r.holder] {
				continue // a retry: the fresh read answers with the hold
			}
			takers = append(takers, i)
			checks = checks || r.check != nil
		}
		if checks {
			// Each request's own rule, under the pool's lock as on the
			// lone path; one that refuses takes no seat.
			if _, err := seats.Lock(tx, sp, id); err != nil {
				return err
			}
			kept := takers[:0]
			for _, i := range takers {
				if c := batch[i].check; c != nil {
					if err := c(tx); err != nil {
						if apperr.CodeOf(err) == apperr.Internal {
							return err // the database's, not a refusal: the batch fails
						}
						refused[i] = err
						continue
					}
				}
				kept = append(kept, i)
			}
			takers = kept
		}
		if len(takers) == 0 {
			return nil
		}
		grants, err := seats.TakeMany(tx, sp, id, open, len(takers))
		if err != nil {
			return err
		}
		if len(grants) == 0 {
			return nil // full, or closed: the fresh reads say which
		}
		rows := make([]any, len(grants))
		for k, g := range grants {
			i := takers[k]
			holds[i] = batch[i].hold(g)
			rows[k] = holds[i]
		}
		// One INSERT for the batch where the ids come back row for row
		// (store.ReturnsIDs), else one per hold.
		if err := batch[takers[0]].insertAll(tx, rows); err != nil {
			if store.IsDuplicate(err) {
				return errFallBack
			}
			return err
		}
		return nil
	})
	for i, r := range batch {
		switch {
		case errors.Is(err, errFallBack):
			h, err := r.alone(ctx)
			r.done <- grantOutcome{hold: h, err: err}
		case err != nil:
			r.done <- grantOutcome{err: err}
		case refused[first[i]] != nil:
			r.done <- grantOutcome{err: refused[first[i]]}
		default:
			r.done <- grantOutcome{hold: holds[i]}
		}
	}
}

// SetGrantHook makes every lone grant call f first (nil: none). Tests use
// it to hold a grant in flight while others queue behind it, so a batch's
// members and order are known.
func (s *Core) SetGrantHook(f func()) {
	if f == nil {
		s.grantHook.Store(nil)
		return
	}
	s.grantHook.Store(&f)
}

// GrantQueueLen is how many requests wait behind the grant in flight on
// pool (pools, id), for tests.
func (s *Core) GrantQueueLen(pools string, id int64) int {
	v, ok := s.grants.Load(pools + ":" + strconv.FormatInt(id, 10))
	if !ok {
		return 0
	}
	q := v.(*grantQueue)
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting)
}
