// Package allocation gives out limited places when a sign-up window closes:
// childcare programmes first, matchmaking events (with a quota per gender)
// next. It has two halves:
//
//   - Allocate, a pure function: candidates (a priority rank, a sign-up
//     time, an optional quota bucket) and the places per bucket in, who is
//     admitted, who waits in which order, and who is turned away out. In
//     LOTTERY mode the order within a rank is a draw fixed by a seed, so
//     anyone with the seed and the sign-up list recomputes the same result
//     (docs/ALLOCATION.md spells the algorithm out).
//   - Claim and Record, which make a run happen once per offering however
//     many instances try at the same moment: the claim is a row under a
//     unique key (kind, offering), inserted in the transaction that writes
//     the result. A second instance's insert waits for the first to commit
//     (MySQL) or for its turn at the write lock (SQLite), then finds the row
//     and does nothing; the stored result stands.
package allocation

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"

	"unionhall/internal/store"
	"unionhall/models"
)

// Mode is how candidates of the same rank are ordered.
type Mode string

const (
	// Priority orders by rank, then sign-up time (then id).
	Priority Mode = "PRIORITY"
	// Lottery orders by rank, then DrawKey(seed, id) (then id).
	Lottery Mode = "LOTTERY"
)

// Candidate is one sign-up taking part.
type Candidate struct {
	ID         int64
	Rank       int // lower goes first: 0 for a priority group, 1 for the rest, say
	SignedUpAt time.Time
	Bucket     string // the quota the candidate counts against ("" when there is one)
}

// Spec is what to allocate. Seats and Waitlist are per bucket; a bucket
// missing from Seats has no places (its candidates are rejected).
type Spec struct {
	Mode     Mode
	Seed     string
	Seats    map[string]int
	Waitlist map[string]int
}

// Result is the outcome. Admitted and Waitlisted are in allocation order
// (the waitlist's head first, across buckets in candidate order); Rejected
// are those left when the seats and the waitlist were full.
type Result struct {
	Admitted, Waitlisted, Rejected []int64
}

// DrawKey is a candidate's lottery ticket: hex SHA-256 of the seed, a colon
// and the candidate's decimal id. Lower tickets are drawn first.
func DrawKey(seed string, id int64) string {
	sum := sha256.Sum256([]byte(seed + ":" + strconv.FormatInt(id, 10)))
	return hex.EncodeToString(sum[:])
}

// SeedHash is the commitment shown before the draw: hex SHA-256 of the seed.
func SeedHash(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:])
}

// Order sorts candidates in allocation order for the spec's mode and
// returns them (the input is not changed).
func Order(sp Spec, cands []Candidate) []Candidate {
	out := slices.Clone(cands)
	keys := map[int64]string{}
	if sp.Mode == Lottery {
		for _, c := range out {
			keys[c.ID] = DrawKey(sp.Seed, c.ID)
		}
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		if r := cmp.Compare(a.Rank, b.Rank); r != 0 {
			return r
		}
		if sp.Mode == Lottery {
			if r := cmp.Compare(keys[a.ID], keys[b.ID]); r != 0 {
				return r
			}
		} else if r := a.SignedUpAt.Compare(b.SignedUpAt); r != 0 {
			return r
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// Allocate walks the candidates in Order and gives each the first of: a
// seat of its bucket, a waitlist place of its bucket, a rejection.
func Allocate(sp Spec, cands []Candidate) Result {
	seats, waits := map[string]int{}, map[string]int{}
	var res Result
	for _, c := range Order(sp, cands) {
		switch {
		case seats[c.Bucket] < sp.Seats[c.Bucket]:
			seats[c.Bucket]++
			res.Admitted = append(res.Admitted, c.ID)
		case waits[c.Bucket] < sp.Waitlist[c.Bucket]:
			waits[c.Bucket]++
			res.Waitlisted = append(res.Waitlisted, c.ID)
		default:
			res.Rejected = append(res.Rejected, c.ID)
		}
	}
	return res
}

// Claim records that the allocation of (kind, offeringID) runs now, in tx,
// and reports whether this caller got it. false means another run holds
// it: committed, or (MySQL) committing, in which case the insert waited
// for it. The claim is undone if tx rolls back.
func Claim(tx *gorm.DB, kind string, offeringID int64, now time.Time) (bool, error) {
	err := tx.Create(&models.AllocationRun{Kind: kind, OfferingID: offeringID, CreatedAt: now}).Error
	if store.IsDuplicate(err) {
		return false, nil
	}
	return err == nil, err
}

// Record stores what the claimed run gave, in the claim's transaction.
func Record(tx *gorm.DB, kind string, offeringID int64, sp Spec, candidates int, res Result) error {
	return tx.Model(&models.AllocationRun{}).Where("kind = ? AND offering_id = ?", kind, offeringID).Updates(map[string]any{
		"mode": string(sp.Mode), "seed": sp.Seed, "candidates": candidates,
		"admitted": len(res.Admitted), "waitlisted": len(res.Waitlisted), "rejected": len(res.Rejected),
	}).Error
}

// Load returns the stored runs of kind for offeringIDs, in their order (nil
// where none ran).
func Load(db *gorm.DB, kind string, offeringIDs []int64) ([]*models.AllocationRun, error) {
	var runs []*models.AllocationRun
	if err := db.Where("kind = ? AND offering_id IN ?", kind, offeringIDs).Find(&runs).Error; err != nil {
		return nil, err
	}
	by := make(map[int64]*models.AllocationRun, len(runs))
	for _, r := range runs {
		by[r.OfferingID] = r
	}
	out := make([]*models.AllocationRun, len(offeringIDs))
	for i, id := range offeringIDs {
		out[i] = by[id]
	}
	return out, nil
}
