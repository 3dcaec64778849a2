package seats_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gorm.io/gorm"

	"unionhall/internal/apperr"
	"unionhall/internal/seats"
	"unionhall/internal/store"
	"unionhall/internal/testutil"
)

var spec = seats.Spec{Pools: "t_pools", Holds: "t_holds", PoolFK: "pool_id"}

// setup makes a pool table and a hold table of the shape seats expects.
func setup(t *testing.T, d store.Dialect) *store.DB {
	db := testutil.OpenDB(t, d)
	id := "id INTEGER PRIMARY KEY AUTOINCREMENT"
	if d == store.MySQL {
		id = "id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY"
	}
	for _, ddl := range []string{
		"CREATE TABLE t_pools (" + id + ", status VARCHAR(12) NOT NULL DEFAULT 'OPEN', capacity INT NOT NULL, waitlist_limit INT NOT NULL," +
			" confirmed_count INT NOT NULL DEFAULT 0, waitlist_count INT NOT NULL DEFAULT 0, waitlist_seq BIGINT NOT NULL DEFAULT 0)",
		"CREATE TABLE t_holds (" + id + ", pool_id BIGINT NOT NULL, status VARCHAR(12) NOT NULL, wait_seq BIGINT NULL," +
			" promoted_at DATETIME NULL, updated_at DATETIME NULL)",
	} {
		if err := db.Exec(ddl).Error; err != nil {
			t.Fatal(err)
		}
	}
	return db
}

type hold struct {
	ID      int64
	Status  string
	WaitSeq *int64
}

// take grants a seat and records the hold, as a module would.
func take(t *testing.T, db *store.DB, pool int64, open seats.Open) (seats.Grant, int64, error) {
	var g seats.Grant
	var id int64
	err := db.Transaction(func(tx *gorm.DB) error {
		var err error
		if g, err = seats.Take(tx, spec, pool, open); err != nil {
			return err
		}
		if err := tx.Exec("INSERT INTO t_holds (pool_id, status, wait_seq) VALUES (?, ?, ?)", pool, g.Status, g.WaitSeq).Error; err != nil {
			return err
		}
		return tx.Raw("SELECT MAX(id) FROM t_holds").Scan(&id).Error
	})
	return g, id, err
}

func counters(t *testing.T, db *store.DB, pool int64) [3]int {
	var c struct{ Capacity, ConfirmedCount, WaitlistCount int }
	db.Raw("SELECT capacity, confirmed_count, waitlist_count FROM t_pools WHERE id = ?", pool).Scan(&c)
	return [3]int{c.Capacity, c.ConfirmedCount, c.WaitlistCount}
}

func statuses(db *store.DB, pool int64) []string {
	var out []string
	db.Raw("SELECT status FROM t_holds WHERE pool_id = ? ORDER BY id", pool).Scan(&out)
	return out
}

func TestTakeReleaseResize(t *testing.T) {
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		db := setup(t, d)
		db.Exec("INSERT INTO t_pools (capacity, waitlist_limit) VALUES (2, 2)")
		const pool = 1
		now := time.Now().UTC()
		var ids []int64
		for i, want := range []string{"CONFIRMED", "CONFIRMED", "WAITLISTED", "WAITLISTED"} {
			g, id, err := take(t, db, pool, seats.Open{})
			if err != nil || g.Status != want || (want == "WAITLISTED" && g.Position != i-1) {
				t.Fatalf("take %d = %+v, %v; want %s", i, g, err, want)
			}
			ids = append(ids, id)
		}
		if _, _, err := take(t, db, pool, seats.Open{}); !apperr.Is(err, apperr.Full) {
			t.Fatalf("fifth take: %v, want FULL", err)
		}
		if got := counters(t, db, pool); got != [3]int{2, 2, 2} {
			t.Fatalf("counters = %v", got)
		}

		// A confirmed hold leaves: the head of the waitlist takes its seat.
		var promoted *int64
		err := db.Transaction(func(tx *gorm.DB) error {
			if _, err := seats.Lock(tx, spec, pool); err != nil {
				return err
			}
			tx.Exec("UPDATE t_holds SET status = 'CANCELLED' WHERE id = ?", ids[0])
			var err error
			promoted, err = seats.Release(tx, spec, pool, seats.Confirmed, now)
			return err
		})
		if err != nil || promoted == nil || *promoted != ids[2] {
			t.Fatalf("release promoted %v, %v; want %d", promoted, err, ids[2])
		}
		if diff := cmp.Diff([]string{"CANCELLED", "CONFIRMED", "CONFIRMED", "WAITLISTED"}, statuses(db, pool)); diff != "" {
			t.Fatalf("after release (-want +got):\n%s", diff)
		}
		if got := counters(t, db, pool); got != [3]int{2, 2, 1} {
			t.Fatalf("counters after release = %v", got)
		}

		// Capacity may not drop below the seats given; growing it moves the
		// waitlist up.
		err = db.Transaction(func(tx *gorm.DB) error {
			_, err := seats.Resize(tx, spec, pool, 1, 2, now)
			return err
		})
		if !apperr.Is(err, apperr.ValidationFailed) {
			t.Fatalf("shrink below confirmed: %v", err)
		}
		var up []int64
		err = db.Transaction(func(tx *gorm.DB) error {
			var err error
			up, err = seats.Resize(tx, spec, pool, 5, 2, now)
			return err
		})
		if err != nil || len(up) != 1 || up[0] != ids[3] {
			t.Fatalf("grow promoted %v, %v", up, err)
		}
		if got := counters(t, db, pool); got != [3]int{5, 3, 0} {
			t.Fatalf("counters after growing = %v", got)
		}

		// A pool that is not open grants nothing.
		db.Exec("UPDATE t_pools SET status = 'CLOSED' WHERE id = ?", pool)
		if _, _, err := take(t, db, pool, seats.Open{SQL: "status = ?", Args: []any{"OPEN"}}); !apperr.Is(err, apperr.Full) {
			t.Fatalf("take from a closed pool: %v", err)
		}
		if got := counters(t, db, pool); got != [3]int{5, 3, 0} {
			t.Fatalf("a refused take changed the counters: %v", got)
		}
	})
}
