package allocation_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gorm.io/gorm"

	"unionhall/internal/allocation"
	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

var t0 = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func cand(id int64, rank, minute int, bucket string) allocation.Candidate {
	return allocation.Candidate{ID: id, Rank: rank, SignedUpAt: t0.Add(time.Duration(minute) * time.Minute), Bucket: bucket}
}

func TestPriorityOrdersByRankThenTime(t *testing.T) {
	cands := []allocation.Candidate{cand(1, 1, 0, ""), cand(2, 0, 5, ""), cand(3, 1, 1, ""), cand(4, 0, 2, ""), cand(5, 1, 1, "")}
	got := allocation.Allocate(allocation.Spec{Mode: allocation.Priority, Seats: map[string]int{"": 2}, Waitlist: map[string]int{"": 2}}, cands)
	want := allocation.Result{Admitted: []int64{4, 2}, Waitlisted: []int64{1, 3}, Rejected: []int64{5}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// The lottery is the documented rule: rank, then hex SHA-256(seed ":" id).
func TestLotteryIsTheDocumentedDraw(t *testing.T) {
	const seed = "4f1c2b0e9d8a7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29180706f5e4d3c2b1a0f9"
	var cands []allocation.Candidate
	for id := int64(1); id <= 50; id++ {
		cands = append(cands, cand(id, int(id%3)/2, int(id), "")) // ranks 0 and 1
	}
	sp := allocation.Spec{Mode: allocation.Lottery, Seed: seed, Seats: map[string]int{"": 10}, Waitlist: map[string]int{"": 5}}
	got := allocation.Allocate(sp, cands)
	order := allocation.Order(sp, cands)
	for i := 1; i < len(order); i++ {
		a, b := order[i-1], order[i]
		ka, kb := ticket(seed, a.ID), ticket(seed, b.ID)
		if a.Rank > b.Rank || (a.Rank == b.Rank && ka > kb) {
			t.Fatalf("order breaks the rule at %d: %+v %s, %+v %s", i, a, ka, b, kb)
		}
	}
	if len(got.Admitted) != 10 || len(got.Waitlisted) != 5 || len(got.Rejected) != 35 {
		t.Fatalf("result sizes %d/%d/%d", len(got.Admitted), len(got.Waitlisted), len(got.Rejected))
	}
	if diff := cmp.Diff(got, allocation.Allocate(sp, cands)); diff != "" {
		t.Fatalf("not deterministic:\n%s", diff)
	}
	other := sp
	other.Seed = seed[1:] + "0"
	if cmp.Equal(got, allocation.Allocate(other, cands)) {
		t.Fatal("another seed drew the same result")
	}
	if allocation.DrawKey(seed, 7) != ticket(seed, 7) {
		t.Fatal("DrawKey differs from the documented ticket")
	}
}

func ticket(seed string, id int64) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s:%d", seed, id)))
	return hex.EncodeToString(sum[:])
}

// Buckets (matchmaking's gender quotas) fill independently.
func TestBucketsFillTheirOwnQuota(t *testing.T) {
	cands := []allocation.Candidate{cand(1, 0, 0, "F"), cand(2, 0, 1, "F"), cand(3, 0, 2, "F"), cand(4, 0, 3, "M"), cand(5, 0, 4, "X")}
	got := allocation.Allocate(allocation.Spec{Mode: allocation.Priority, Seats: map[string]int{"F": 2, "M": 2}, Waitlist: map[string]int{"F": 1}}, cands)
	want := allocation.Result{Admitted: []int64{1, 2, 4}, Waitlisted: []int64{3}, Rejected: []int64{5}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// Claim gives a run to exactly one of many concurrent claimers.
func TestClaimOnce(t *testing.T) {
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		db := testutil.OpenDB(t, d)
		var wg sync.WaitGroup
		won := make([]bool, 12)
		errs := make([]error, 12)
		for i := range won {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.Transaction(func(tx *gorm.DB) error {
					ok, err := allocation.Claim(tx, "test", 42, t0)
					won[i] = ok
					return err
				})
			}()
		}
		wg.Wait()
		n := 0
		for i, ok := range won {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if ok {
				n++
			}
		}
		var rows []models.AllocationRun
		db.Where("kind = ? AND offering_id = ?", "test", 42).Find(&rows)
		if n != 1 || len(rows) != 1 {
			t.Fatalf("%d claims won, %d rows; want 1 and 1", n, len(rows))
		}
		runs, err := allocation.Load(db.DB, "test", []int64{41, 42})
		if err != nil || len(runs) != 2 || runs[0] != nil || runs[1] == nil || runs[1].OfferingID != 42 {
			t.Fatalf("load = %+v, %v", runs, err)
		}
	})
}
