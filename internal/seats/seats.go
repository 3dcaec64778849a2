// Package seats is the one seat mechanism of every offering with limited
// places: training classes first, then event sign-ups, childcare and
// matchmaking. A pool is a row of the offering's table carrying five
// counters (capacity, waitlist_limit, confirmed_count, waitlist_count,
// waitlist_seq); a hold is a row of the sign-up table carrying status,
// active and wait_seq.
//
// This package is the only code that writes a pool's confirmed_count,
// waitlist_count and waitlist_seq (modules create pools with them at zero
// and read them), so the rules below hold for every writer: Take, Admit,
// Release, Resize and Clear move them with the holds; RecountSeats and Fill
// set them after a module's draw.
//
// Correctness rests on conditional UPDATEs of the pool row, which both
// engines honour: a seat is granted only by an UPDATE whose WHERE says a seat
// is free, so two instances sharing one database can never oversell. On
// MySQL that UPDATE also takes the pool's row lock until commit, and every
// function here touches the pool before its holds, so releases, promotions
// and grants of one pool queue in one order and cannot deadlock each other.
// On SQLite a write transaction is already exclusive.
//
// Take comes before the insert of the new hold, not after: inserting a hold
// first takes a shared lock on the pool row (the foreign key check), and two
// such shared locks waiting to become the UPDATE's exclusive one deadlock.
//
// Every function must run inside the caller's transaction.
package seats

import (
	"fmt"
	"math"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/apperr"
)

// The hold statuses this package reads and writes. Modules use these values
// for their own status columns (a module may add others, such as ATTENDED,
// for holds that keep their seat).
const (
	Confirmed  = "CONFIRMED"
	Waitlisted = "WAITLISTED"
)

// Spec names the tables of one kind of offering. The names are constants of
// the calling module, never input.
type Spec struct {
	Pools  string // the offering table
	Holds  string // the sign-up table
	PoolFK string // the holds' column naming the pool
	// The hold statuses the module stores for a seat and for a place in
	// the queue; empty means Confirmed and Waitlisted. (Childcare says
	// ADMITTED, which is what its parents and admins read.)
	ConfirmedStatus, WaitlistedStatus string
	// Promotable, when set, says which waitlisted holds may take a freed
	// seat now: given hold ids head first (the pool and those holds
	// locked), it returns the ones that may, a subset in the same order.
	// The others are passed over and keep their place in the queue.
	// (Childcare passes over a child admitted meanwhile to a programme
	// that overlaps.) It runs in the caller's transaction.
	Promotable func(tx *gorm.DB, holdIDs []int64) ([]int64, error)
	// HolderFK is the holds' column naming who holds (one active hold
	// each); empty means member_id. (Childcare's holder is the child.)
	HolderFK string
}

func (sp Spec) holder() string {
	if sp.HolderFK != "" {
		return sp.HolderFK
	}
	return "member_id"
}

func (sp Spec) confirmed() string {
	if sp.ConfirmedStatus != "" {
		return sp.ConfirmedStatus
	}
	return Confirmed
}

func (sp Spec) waitlisted() string {
	if sp.WaitlistedStatus != "" {
		return sp.WaitlistedStatus
	}
	return Waitlisted
}

// Grant is what Take gave.
type Grant struct {
	Status   string // the Spec's confirmed or waitlisted status
	WaitSeq  *int64 // the place in the queue's order, for Waitlisted
	Position int    // 1-based place in the waitlist at the time of the grant
}

// ErrFull is the refusal when neither a seat nor a waitlist place is left.
var ErrFull = apperr.New(apperr.Full, "名额已满，候补名单也已排满")

// Open is the offering's own condition for granting anything (published,
// inside its window), written against the pool row, so that the grant and
// the check are one atomic step: a class cancelled a moment ago grants no
// seat, whatever the caller read before.
type Open struct {
	SQL  string
	Args []any
}

// Take grants one seat in pool id or, when the seats are gone, a place at the
// end of the waitlist, while open holds. Codes: FULL (also when open does
// not hold: the caller re-reads to tell the member why).
func Take(tx *gorm.DB, sp Spec, id int64, open Open) (Grant, error) {
	cond := ""
	if open.SQL != "" {
		cond = " AND (" + open.SQL + ")"
	}
	args := append([]any{id}, open.Args...)
	res := tx.Exec("UPDATE "+sp.Pools+" SET confirmed_count = confirmed_count + 1 WHERE id = ? AND confirmed_count < capacity"+cond, args...)
	if res.Error != nil {
		return Grant{}, res.Error
	}
	if res.RowsAffected == 1 {
		return Grant{Status: sp.confirmed()}, nil
	}
	res = tx.Exec("UPDATE "+sp.Pools+" SET waitlist_count = waitlist_count + 1, waitlist_seq = waitlist_seq + 1"+
		" WHERE id = ? AND waitlist_count < waitlist_limit"+cond, args...)
	if res.Error != nil {
		return Grant{}, res.Error
	}
	if res.RowsAffected == 0 {
		return Grant{}, ErrFull
	}
	var c struct {
		WaitlistSeq   int64
		WaitlistCount int
	}
	if err := tx.Raw("SELECT waitlist_seq, waitlist_count FROM "+sp.Pools+" WHERE id = ?"+forUpdate(tx), id).Scan(&c).Error; err != nil {
		return Grant{}, err
	}
	return Grant{Status: sp.waitlisted(), WaitSeq: &c.WaitlistSeq, Position: c.WaitlistCount}, nil
}

// TakeMany grants up to n requests in pool id at once, in order, while open
// holds: seats first, then places at the end of the waitlist. It returns
// one Grant per request granted, the first len(grants) of the n; the rest
// are FULL (or the pool is no longer open: the caller re-reads to say
// which). One locking read and one UPDATE serve all n, so a rush of n
// pays for the pool's row lock once (see core.SeatRush). The UPDATE is
// conditional on the counters it read, so it cannot oversell even where
// the read were not locking.
func TakeMany(tx *gorm.DB, sp Spec, id int64, open Open, n int) ([]Grant, error) {
	cond := ""
	if open.SQL != "" {
		cond = " AND (" + open.SQL + ")"
	}
	args := append([]any{id}, open.Args...)
	var p []struct {
		Capacity, WaitlistLimit, ConfirmedCount, WaitlistCount int
		WaitlistSeq                                            int64
	}
	err := tx.Raw("SELECT capacity, waitlist_limit, confirmed_count, waitlist_count, waitlist_seq FROM "+sp.Pools+
		" WHERE id = ?"+cond+forUpdate(tx), args...).Scan(&p).Error
	if err != nil || len(p) == 0 {
		return nil, err // not open: nothing granted
	}
	c := p[0]
	seatsN := max(0, min(n, c.Capacity-c.ConfirmedCount))
	waitN := max(0, min(n-seatsN, c.WaitlistLimit-c.WaitlistCount))
	if seatsN+waitN == 0 {
		return nil, nil
	}
	res := tx.Exec("UPDATE "+sp.Pools+" SET confirmed_count = confirmed_count + ?, waitlist_count = waitlist_count + ?, "+
		"waitlist_seq = waitlist_seq + ? WHERE id = ? AND confirmed_count = ? AND waitlist_count = ? AND waitlist_seq = ?"+cond,
		append([]any{seatsN, waitN, waitN, id, c.ConfirmedCount, c.WaitlistCount, c.WaitlistSeq}, open.Args...)...)
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected != 1 {
		return nil, fmt.Errorf("seats: pool %s %d moved under its lock", sp.Pools, id)
	}
	grants := make([]Grant, 0, seatsN+waitN)
	for i := 0; i < seatsN; i++ {
		grants = append(grants, Grant{Status: sp.confirmed()})
	}
	for i := 1; i <= waitN; i++ {
		seq := c.WaitlistSeq + int64(i)
		grants = append(grants, Grant{Status: sp.waitlisted(), WaitSeq: &seq, Position: c.WaitlistCount + i})
	}
	return grants, nil
}

// Holding lists which of holders (members, or the Spec's HolderFK) hold an
// active place in pool id (for a batch of grants to answer a retry with the
// hold it has). It does not lock: a hold made after it meets the holds'
// unique key.
func Holding(tx *gorm.DB, sp Spec, id int64, holders []int64) (map[int64]bool, error) {
	var ids []int64
	err := tx.Raw("SELECT "+sp.holder()+" FROM "+sp.Holds+" WHERE "+sp.PoolFK+" = ? AND "+sp.holder()+" IN ? AND active = ?",
		id, holders, true).Scan(&ids).Error
	out := make(map[int64]bool, len(ids))
	for _, m := range ids {
		out[m] = true
	}
	return out, err
}

// Admit gives pool id one more seat while one is free, and never a place on
// the waitlist: for modules where an admin, not the member, picks who gets a
// seat (matchmaking's ADMIN review). The caller has locked the pool and moves
// the hold to the confirmed status itself; false means the seats are gone.
// Like Take, the seat comes only from an UPDATE whose WHERE says one is
// free, so no two admins can oversell a pool between them.
func Admit(tx *gorm.DB, sp Spec, id int64) (bool, error) {
	res := tx.Exec("UPDATE "+sp.Pools+" SET confirmed_count = confirmed_count + 1 WHERE id = ? AND confirmed_count < capacity", id)
	return res.RowsAffected == 1, res.Error
}

// RecountSeats sets pool id's seat count to the holds it has in the
// confirmed status, for a module that has moved holds in bulk rather than
// through Take (matchmaking's lottery), after the caller has locked the pool
// and stored the holds. Counting the stored holds in the same statement
// keeps the counter right whatever the module's result said. The waitlist
// counters are left as they are: a draw that queues holds uses Fill.
func RecountSeats(tx *gorm.DB, sp Spec, id int64) error {
	return tx.Exec("UPDATE "+sp.Pools+" SET confirmed_count = (SELECT COUNT(*) FROM "+sp.Holds+" WHERE "+sp.PoolFK+" = ? AND status = ?) WHERE id = ?",
		id, sp.confirmed(), id).Error
}

// Fill sets pool id's counters to a draw's result (childcare's PRIORITY and
// LOTTERY allocation at close), after the caller has locked the pool and
// stored the holds: confirmed seats given, and waitlisted holds queued with
// wait_seq 1 to waitlisted. The sequence restarts at waitlisted so that a
// later Take queues behind the drawn waitlist, and Release and Resize carry
// on from these counts. It replaces the counters, so it suits only a pool
// whose holds all came from the draw.
func Fill(tx *gorm.DB, sp Spec, id int64, confirmed, waitlisted int) error {
	return tx.Exec("UPDATE "+sp.Pools+" SET confirmed_count = ?, waitlist_count = ?, waitlist_seq = ? WHERE id = ?",
		confirmed, waitlisted, waitlisted, id).Error
}

// DropWaitlist empties pool id's waitlist count, after the caller (holding
// the pool's lock) has ended every waitlisted hold: an offering that is over
// has no queue left. Seats and the sequence stand.
func DropWaitlist(tx *gorm.DB, sp Spec, id int64) error {
	return tx.Exec("UPDATE "+sp.Pools+" SET waitlist_count = 0 WHERE id = ?", id).Error
}

// Lock takes pool id's row lock before the caller changes any of its holds,
// keeping the pool-then-holds order, and reports whether the pool exists.
// Reads the caller makes after it (with clause.Locking on MySQL) see the
// latest committed holds, whatever snapshot the transaction started with.
func Lock(tx *gorm.DB, sp Spec, id int64) (bool, error) {
	var ids []int64
	err := tx.Raw("SELECT id FROM "+sp.Pools+" WHERE id = ?"+forUpdate(tx), id).Scan(&ids).Error
	return len(ids) == 1, err
}

// forUpdate makes a read current and locking on MySQL, whose plain reads
// come from the transaction's snapshot. SQLite's write transactions are
// exclusive, and it has no such clause.
func forUpdate(tx *gorm.DB) string {
	if tx.Dialector.Name() == "mysql" {
		return " FOR UPDATE"
	}
	return ""
}

// Release gives back what a hold that was in status `was` (the Spec's
// confirmed or waitlisted status) held, after the
// caller has locked the pool and ended the hold. A confirmed seat passes at
// once to the head of the waitlist, whose id is returned; otherwise the seat
// or waitlist place is freed.
func Release(tx *gorm.DB, sp Spec, id int64, was string, now time.Time) (*int64, error) {
	switch was {
	case sp.waitlisted():
		return nil, tx.Exec("UPDATE "+sp.Pools+" SET waitlist_count = waitlist_count - 1 WHERE id = ? AND waitlist_count > 0", id).Error
	case sp.confirmed():
	default:
		return nil, fmt.Errorf("seats: release of a hold in status %q", was)
	}
	promoted, err := promote(tx, sp, id, 1, now)
	if err != nil {
		return nil, err
	}
	if len(promoted) == 1 { // the seat changes hands: one fewer waiting
		return &promoted[0], tx.Exec("UPDATE "+sp.Pools+" SET waitlist_count = waitlist_count - 1 WHERE id = ?", id).Error
	}
	return nil, tx.Exec("UPDATE "+sp.Pools+" SET confirmed_count = confirmed_count - 1 WHERE id = ? AND confirmed_count > 0", id).Error
}

// Resize sets pool id's capacity and waitlist limit, after the caller has
// locked the pool. The capacity may not drop below the seats already given;
// when it grows, the waitlist moves up into the new seats (their ids are
// returned). Codes: VALIDATION_FAILED (field capacity).
func Resize(tx *gorm.DB, sp Spec, id int64, capacity, waitlistLimit int, now time.Time) ([]int64, error) {
	res := tx.Exec("UPDATE "+sp.Pools+" SET capacity = ?, waitlist_limit = ? WHERE id = ? AND confirmed_count <= ?",
		capacity, waitlistLimit, id, capacity)
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected == 0 {
		var confirmed int
		if err := tx.Raw("SELECT confirmed_count FROM "+sp.Pools+" WHERE id = ?"+forUpdate(tx), id).Scan(&confirmed).Error; err != nil {
			return nil, err
		}
		if confirmed > capacity {
			return nil, apperr.Invalid("capacity", fmt.Sprintf("已有 %d 人报名成功，名额不能少于此数", confirmed))
		}
	}
	var c struct{ Capacity, ConfirmedCount int }
	if err := tx.Raw("SELECT capacity, confirmed_count FROM "+sp.Pools+" WHERE id = ?"+forUpdate(tx), id).Scan(&c).Error; err != nil {
		return nil, err
	}
	free := c.Capacity - c.ConfirmedCount
	if free <= 0 {
		return nil, nil
	}
	promoted, err := promote(tx, sp, id, free, now)
	if err != nil || len(promoted) == 0 {
		return nil, err
	}
	n := len(promoted)
	return promoted, tx.Exec("UPDATE "+sp.Pools+" SET confirmed_count = confirmed_count + ?, waitlist_count = waitlist_count - ? WHERE id = ?",
		n, n, id).Error
}

// promote moves up to n waitlisted holds, head first (passing over those
// the Spec's Promotable refuses), into CONFIRMED. It leaves the counters to
// the caller.
func promote(tx *gorm.DB, sp Spec, id int64, n int, now time.Time) ([]int64, error) {
	ids, err := promotable(tx, sp, id, n)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	res := tx.Exec("UPDATE "+sp.Holds+" SET status = ?, promoted_at = ?, updated_at = ? WHERE id IN ? AND status = ?",
		sp.confirmed(), now, now, ids, sp.waitlisted())
	if res.Error != nil {
		return nil, res.Error
	}
	if int(res.RowsAffected) != len(ids) {
		// Every change to a pool's holds takes the pool lock first, so this
		// means a caller broke that rule.
		return nil, fmt.Errorf("seats: promoted %d of %d holds of %s %d", res.RowsAffected, len(ids), sp.Pools, id)
	}
	return ids, nil
}

// promotable picks up to n waitlisted holds of pool id, head first, and
// locks them (and those passed over on the way).
func promotable(tx *gorm.DB, sp Spec, id int64, n int) ([]int64, error) {
	if sp.Promotable == nil {
		var ids []int64
		err := tx.Raw("SELECT id FROM "+sp.Holds+" WHERE "+sp.PoolFK+" = ? AND status = ? ORDER BY wait_seq LIMIT ?"+forUpdate(tx),
			id, sp.waitlisted(), n).Scan(&ids).Error
		return ids, err
	}
	q := "SELECT id, wait_seq FROM " + sp.Holds + " WHERE " + sp.PoolFK + " = ? AND status = ? AND wait_seq > ?" +
		" ORDER BY wait_seq LIMIT ?" + forUpdate(tx)
	batch := n + 16 // a few passed over cost no second read
	var out []int64
	after := int64(math.MinInt64)
	for len(out) < n {
		var rows []struct{ ID, WaitSeq int64 }
		if err := tx.Raw(q, id, sp.waitlisted(), after, batch).Scan(&rows).Error; err != nil || len(rows) == 0 {
			return out, err
		}
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		ok, err := sp.Promotable(tx, ids)
		if err != nil {
			return nil, err
		}
		out = append(out, ok[:min(len(ok), n-len(out))]...)
		if len(rows) < batch {
			break
		}
		after = rows[len(rows)-1].WaitSeq
	}
	return out, nil
}

// Position is a waitlisted hold's 1-based place in the queue now (a plain
// read: a display value).
func Position(tx *gorm.DB, sp Spec, id int64, waitSeq int64) (int, error) {
	var n int
	err := tx.Raw("SELECT COUNT(*) FROM "+sp.Holds+" WHERE "+sp.PoolFK+" = ? AND status = ? AND wait_seq <= ?",
		id, sp.waitlisted(), waitSeq).Scan(&n).Error
	return n, err
}

// Clear empties pool id's counters after the caller has ended all its holds
// (the offering was cancelled).
func Clear(tx *gorm.DB, sp Spec, id int64) error {
	return tx.Exec("UPDATE "+sp.Pools+" SET confirmed_count = 0, waitlist_count = 0 WHERE id = ?", id).Error
}
