package vouchers_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

func claimOutcome(s *testutil.Server, token, batchID string, requestID any) (id, code string) {
	r, err := s.Try(token, testutil.ClaimQ, map[string]any{"id": batchID, "r": requestID})
	if err != nil {
		return "", "TRANSPORT"
	}
	if len(r.Errors) > 0 {
		return "", r.Code()
	}
	var out struct {
		ClaimVoucher struct{ Voucher testutil.Voucher }
	}
	r.Decode(s.TB(), &out)
	return out.ClaimVoucher.Voucher.ID, ""
}

// 5,000 members claim against a stock of 1,000 through two instances (a
// fifth of both on SQLite).
func TestVoucherRushNeverOversells(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		a := testutil.NewServer(t, d)
		b := testutil.NewServerOn(t, a.DB)
		admin := a.LoginAdmin("donghua_admin").Access
		stock := testutil.RushSize(d, 1000)
		id := a.PublishedBatch(admin, testutil.BatchInput(stock, nil))
		b.Clock.Set(a.Clock.Now())
		tokens := a.Members(testutil.RushSize(d, 5000), "courier")
		codes := make([]string, len(tokens))
		testutil.Race(len(tokens), 128, func(i int) {
			s := []*testutil.Server{a, b}[i%2]
			_, codes[i] = claimOutcome(s, tokens[i].Access, id, nil)
		})
		n := map[string]int{}
		for _, c := range codes {
			n[c]++
		}
		if diff := cmp.Diff(map[string]int{"": stock, "FULL": len(tokens) - stock}, n); diff != "" {
			t.Fatalf("outcomes (-want +got, \"\" a claim):\n%s", diff)
		}
		var rows int64
		a.DB.Model(&models.Voucher{}).Where("batch_id = ?", id).Count(&rows)
		var batch models.VoucherBatch
		a.DB.Take(&batch, id)
		if rows != int64(stock) || batch.ConfirmedCount != stock {
			t.Fatalf("%d vouchers, counter %d; want %d", rows, batch.ConfirmedCount, stock)
		}
	})
}

// A member fires claims for both batches of an exclusive group at once:
// only one is granted. Repeated for many members.
func TestExclusiveGroupUnderConcurrency(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		city := s.LoginAdmin("city_admin").Access
		x := s.PublishedBatch(city, testutil.BatchInput(500, map[string]any{"title": "市级出行补贴", "exclusiveGroup": "g"}))
		y := s.PublishedBatch(city, testutil.BatchInput(500, map[string]any{"title": "区级出行补贴", "exclusiveGroup": "g"}))
		tokens := s.Members(60, "courier")
		testutil.Race(len(tokens)*4, 64, func(k int) {
			claimOutcome(s, tokens[k/4].Access, []string{x, y}[k%2], nil)
		})
		var dup int64
		s.DB.Raw("SELECT COUNT(*) FROM (SELECT member_id FROM vouchers WHERE exclusive_group = 'g' GROUP BY member_id HAVING COUNT(*) <> 1) z").Scan(&dup)
		var total int64
		s.DB.Model(&models.Voucher{}).Count(&total)
		if dup != 0 || total != 60 {
			t.Fatalf("%d members without exactly one voucher of the group; %d vouchers for 60 members", dup, total)
		}
		for _, id := range []string{x, y} {
			var b models.VoucherBatch
			s.DB.Take(&b, id)
			var n int64
			s.DB.Model(&models.Voucher{}).Where("batch_id = ?", id).Count(&n)
			if int64(b.ConfirmedCount) != n {
				t.Fatalf("batch %s: counter %d, rows %d", id, b.ConfirmedCount, n)
			}
		}
	})
}

// 20 parallel claims by one member: never more than the limit; retries
// without a request id collapse into one voucher, distinct taps into at most
// the limit.
func TestParallelClaimsRespectTheLimit(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := s.PublishedBatch(admin, testutil.BatchInput(100, map[string]any{"perMemberLimit": 3}))
		m := s.Members(2, "courier")
		testutil.Race(20, 20, func(i int) { claimOutcome(s, m[0].Access, id, nil) })
		codes := make([]string, 20)
		testutil.Race(20, 20, func(i int) { _, codes[i] = claimOutcome(s, m[1].Access, id, fmt.Sprintf("tap-%d", i)) })
		count := func(member string) int64 {
			var n int64
			s.DB.Model(&models.Voucher{}).Where("batch_id = ? AND member_id = ?", id, member).Count(&n)
			return n
		}
		if n := count(m[0].ID); n < 1 || n > 3 {
			t.Fatalf("20 parallel retries made %d vouchers", n)
		}
		if n := count(m[1].ID); n != 3 {
			t.Fatalf("20 parallel taps made %d vouchers, want the limit of 3 (outcomes %v)", n, codes)
		}
	})
}

// 50 parallel redemptions of one code: exactly one succeeds.
func TestParallelRedemptionsRedeemOnce(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := s.PublishedBatch(admin, testutil.BatchInput(10, nil))
		v, _ := s.Claim(s.Members(1, "courier")[0].Access, id, nil)
		r1 := s.Redeemer(admin, "shop1", "donghua", id)
		r2 := s.Redeemer(admin, "shop2", "donghua", id)
		codes := make([]string, 50)
		testutil.Race(50, 50, func(i int) {
			tok := []string{r1.Access, r2.Access, admin}[i%3]
			r, err := s.Try(tok, testutil.RedeemQ, map[string]any{"c": *v.Code})
			switch {
			case err != nil:
				codes[i] = "TRANSPORT"
			case len(r.Errors) > 0:
				codes[i] = r.Code()
			default:
				codes[i] = "OK"
			}
		})
		n := map[string]int{}
		for _, c := range codes {
			n[c]++
		}
		if n["OK"] != 1 || n["CONFLICT"] != 49 {
			t.Fatalf("outcomes = %v, want 1 OK and 49 CONFLICT", n)
		}
	})
}
