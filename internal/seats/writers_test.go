package seats_test

import (
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/seats"
	"unionhall/internal/store"
	"unionhall/internal/testutil"
)

// The counter writers for modules that choose holds themselves (an admin's
// pick, a draw) rather than through Take.

func seq(t *testing.T, db *store.DB, pool int64) int64 {
	t.Helper()
	var s int64
	if err := db.Raw("SELECT waitlist_seq FROM t_pools WHERE id = ?", pool).Scan(&s).Error; err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAdmit(t *testing.T) {
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		db := setup(t, d)
		db.Exec("INSERT INTO t_pools (capacity, waitlist_limit) VALUES (2, 5)")
		const pool = 1
		for i, want := range []bool{true, true, false} {
			var ok bool
			err := db.Transaction(func(tx *gorm.DB) error {
				var err error
				ok, err = seats.Admit(tx, spec, pool)
				return err
			})
			if err != nil || ok != want {
				t.Fatalf("admit %d = %v, %v; want %v", i, ok, err, want)
			}
		}
		// No waitlist place, whatever the waitlist limit.
		if got := counters(t, db, pool); got != [3]int{2, 2, 0} {
			t.Fatalf("counters = %v", got)
		}
		if s := seq(t, db, pool); s != 0 {
			t.Fatalf("waitlist_seq = %d, want 0", s)
		}
	})
}

// TestAdmitConcurrent: admins admitting at once never give more seats than
// the pool has (the conditional UPDATE, not a read before it, decides).
func TestAdmitConcurrent(t *testing.T) {
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		db := setup(t, d)
		db.Exec("INSERT INTO t_pools (capacity, waitlist_limit) VALUES (3, 0)")
		const pool, n = 1, 10
		var wg sync.WaitGroup
		got := make(chan bool, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := db.Transaction(func(tx *gorm.DB) error {
					ok, err := seats.Admit(tx, spec, pool)
					got <- ok
					return err
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		close(got)
		admitted := 0
		for ok := range got {
			if ok {
				admitted++
			}
		}
		if admitted != 3 {
			t.Fatalf("%d admitted, want 3", admitted)
		}
		if c := counters(t, db, pool); c != [3]int{3, 3, 0} {
			t.Fatalf("counters = %v", c)
		}
	})
}

func TestRecountSeats(t *testing.T) {
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		db := setup(t, d)
		// Stale counters; the waitlist ones must stay as they are.
		db.Exec("INSERT INTO t_pools (capacity, waitlist_limit, confirmed_count, waitlist_count, waitlist_seq) VALUES (5, 5, 0, 1, 4), (5, 5, 1, 0, 0)")
		for _, h := range []struct {
			pool   int64
			status string
		}{{1, "CONFIRMED"}, {1, "PENDING"}, {1, "CONFIRMED"}, {1, "WAITLISTED"}, {1, "REJECTED"}, {1, "CONFIRMED"}, {2, "CONFIRMED"}, {2, "CONFIRMED"}} {
			db.Exec("INSERT INTO t_holds (pool_id, status) VALUES (?, ?)", h.pool, h.status)
		}
		err := db.Transaction(func(tx *gorm.DB) error {
			if _, err := seats.Lock(tx, spec, 1); err != nil {
				return err
			}
			return seats.RecountSeats(tx, spec, 1)
		})
		if err != nil {
			t.Fatal(err)
		}
		if c := counters(t, db, 1); c != [3]int{5, 3, 1} {
			t.Fatalf("pool 1 counters = %v, want [5 3 1]", c)
		}
		if s := seq(t, db, 1); s != 4 {
			t.Fatalf("pool 1 waitlist_seq = %d, want 4", s)
		}
		if c := counters(t, db, 2); c != [3]int{5, 1, 0} {
			t.Fatalf("pool 2 was recounted too: %v", c)
		}

		// The Spec's confirmed status is what counts.
		admitted := seats.Spec{Pools: "t_pools", Holds: "t_holds", PoolFK: "pool_id", ConfirmedStatus: "ADMITTED"}
		db.Exec("INSERT INTO t_holds (pool_id, status) VALUES (2, 'ADMITTED')")
		err = db.Transaction(func(tx *gorm.DB) error { return seats.RecountSeats(tx, admitted, 2) })
		if err != nil {
			t.Fatal(err)
		}
		if c := counters(t, db, 2); c != [3]int{5, 1, 0} {
			t.Fatalf("pool 2 counters with ADMITTED = %v, want [5 1 0]", c)
		}
	})
}

// TestFill: a draw's result becomes the counters, and the seat mechanism
// carries on from it: the next Take queues behind the drawn waitlist, and a
// freed seat goes to the drawn head.
func TestFill(t *testing.T) {
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		db := setup(t, d)
		sp := seats.Spec{Pools: "t_pools", Holds: "t_holds", PoolFK: "pool_id", ConfirmedStatus: "ADMITTED"}
		db.Exec("INSERT INTO t_pools (capacity, waitlist_limit) VALUES (2, 3), (2, 3)")
		const pool = 1
		// The draw: two admitted, two queued 1, 2.
		for _, h := range []struct {
			status string
			seq    *int64
		}{{"ADMITTED", nil}, {"WAITLISTED", ptr[int64](2)}, {"ADMITTED", nil}, {"WAITLISTED", ptr[int64](1)}} {
			db.Exec("INSERT INTO t_holds (pool_id, status, wait_seq) VALUES (?, ?, ?)", pool, h.status, h.seq)
		}
		err := db.Transaction(func(tx *gorm.DB) error {
			if _, err := seats.Lock(tx, sp, pool); err != nil {
				return err
			}
			return seats.Fill(tx, sp, pool, 2, 2)
		})
		if err != nil {
			t.Fatal(err)
		}
		if c := counters(t, db, pool); c != [3]int{2, 2, 2} {
			t.Fatalf("counters = %v, want [2 2 2]", c)
		}
		if s := seq(t, db, pool); s != 2 {
			t.Fatalf("waitlist_seq = %d, want 2", s)
		}
		if c := counters(t, db, 2); c != [3]int{2, 0, 0} {
			t.Fatalf("another pool changed: %v", c)
		}

		var g seats.Grant
		err = db.Transaction(func(tx *gorm.DB) error {
			var err error
			g, err = seats.Take(tx, sp, pool, seats.Open{})
			if err != nil {
				return err
			}
			return tx.Exec("INSERT INTO t_holds (pool_id, status, wait_seq) VALUES (?, ?, ?)", pool, g.Status, g.WaitSeq).Error
		})
		if err != nil || g.Status != "WAITLISTED" || g.WaitSeq == nil || *g.WaitSeq != 3 || g.Position != 3 {
			t.Fatalf("take after the draw = %+v, %v; want WAITLISTED at 3", g, err)
		}

		var promoted *int64
		err = db.Transaction(func(tx *gorm.DB) error {
			if _, err := seats.Lock(tx, sp, pool); err != nil {
				return err
			}
			tx.Exec("UPDATE t_holds SET status = 'CANCELLED' WHERE id = 1")
			var err error
			promoted, err = seats.Release(tx, sp, pool, "ADMITTED", time.Now().UTC())
			return err
		})
		if err != nil || promoted == nil || *promoted != 4 { // the hold drawn first in the queue
			t.Fatalf("release promoted %v, %v; want hold 4", promoted, err)
		}
		if c := counters(t, db, pool); c != [3]int{2, 2, 2} {
			t.Fatalf("counters after release = %v, want [2 2 2]", c)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestDropWaitlist: the waitlist count goes to zero; seats, the sequence
// and other pools stand.
func TestDropWaitlist(t *testing.T) {
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		db := setup(t, d)
		sp := seats.Spec{Pools: "t_pools", Holds: "t_holds", PoolFK: "pool_id", ConfirmedStatus: "ADMITTED"}
		db.Exec("INSERT INTO t_pools (capacity, waitlist_limit) VALUES (2, 3), (2, 3)")
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := seats.Fill(tx, sp, 1, 2, 3); err != nil {
				return err
			}
			if err := seats.Fill(tx, sp, 2, 1, 1); err != nil {
				return err
			}
			return seats.DropWaitlist(tx, sp, 1)
		})
		if err != nil {
			t.Fatal(err)
		}
		if c := counters(t, db, 1); c != [3]int{2, 2, 0} {
			t.Fatalf("counters = %v, want [2 2 0]", c)
		}
		if s := seq(t, db, 1); s != 3 {
			t.Fatalf("waitlist_seq = %d, want 3", s)
		}
		if c := counters(t, db, 2); c != [3]int{2, 1, 1} {
			t.Fatalf("another pool changed: %v", c)
		}
	})
}
