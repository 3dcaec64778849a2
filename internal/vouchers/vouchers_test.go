package vouchers_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

var groupedCode = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$`)

func TestVoucherClaimAndRedeem(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := s.PublishedBatch(admin, testutil.BatchInput(10, map[string]any{"unionId": s.UnionID("courier")}))
		m := s.Members(2, "courier")

		var b struct {
			VoucherBatch struct {
				StockLeft   int
				ClaimReason *string
				MyVouchers  []testutil.Voucher
			}
		}
		s.MustOK(m[0].Access, testutil.BatchQ, map[string]any{"id": id}, &b)
		if b.VoucherBatch.StockLeft != 10 || b.VoucherBatch.ClaimReason != nil || len(b.VoucherBatch.MyVouchers) != 0 {
			t.Fatalf("batch before claiming = %+v", b)
		}
		v, r := s.Claim(m[0].Access, id, nil)
		if len(r.Errors) > 0 || v.Status != "CLAIMED" || v.Code == nil || !groupedCode.MatchString(*v.Code) ||
			*v.QrPayload != "unionhall:voucher:"+strings.ReplaceAll(*v.Code, "-", "") {
			t.Fatalf("claim = %+v %+v", v, r.Errors)
		}
		if again, _ := s.Claim(m[0].Access, id, nil); again.ID != v.ID {
			t.Fatalf("retry claimed %s, want %s", again.ID, v.ID)
		}
		s.MustOK(m[0].Access, testutil.BatchQ, map[string]any{"id": id}, &b)
		if b.VoucherBatch.StockLeft != 9 || b.VoucherBatch.ClaimReason == nil || *b.VoucherBatch.ClaimReason != "每人限领 1 张，您已领取" {
			t.Fatalf("batch after claiming = %+v", b)
		}

		// The admin's list shows no code.
		var list struct {
			BatchVouchers struct {
				Edges []struct{ Node testutil.Voucher }
			}
		}
		s.MustOK(admin, `query($id: ID!) { batchVouchers(batchId: $id) { edges { node { id status code } } } }`, map[string]any{"id": id}, &list)
		if len(list.BatchVouchers.Edges) != 1 || list.BatchVouchers.Edges[0].Node.Code != nil {
			t.Fatalf("admin list = %+v", list)
		}

		// A redeemer of this batch redeems it once, typed in lower case.
		cinema := s.Redeemer(admin, "cinema1", "donghua", id)
		typed := strings.ToLower(*v.Code)
		var red struct {
			RedeemVoucher struct {
				Voucher struct {
					Status string
					Member *struct{ ID string }
				}
			}
		}
		s.MustOK(cinema.Access, testutil.RedeemQ, map[string]any{"c": typed}, &red)
		if red.RedeemVoucher.Voucher.Status != "REDEEMED" || red.RedeemVoucher.Voucher.Member != nil {
			t.Fatalf("redeem = %+v", red)
		}
		r = s.Do(cinema.Access, testutil.RedeemQ, map[string]any{"c": *v.QrPayload})
		testutil.WantCode(t, r, "CONFLICT")
		if !strings.Contains(r.Errors[0].Message, "cinema1影城核销") {
			t.Fatalf("second redemption says %q", r.Errors[0].Message)
		}
		testutil.WantCode(t, s.Do(cinema.Access, testutil.RedeemQ, map[string]any{"c": "0000-0000-0000-0000-0000"}), "NOT_FOUND")

		// Another batch's redeemer, and a redeemer doing admin work, are refused.
		other := s.PublishedBatch(admin, testutil.BatchInput(5, map[string]any{"title": "蛋糕券", "kind": "CAKE", "unionId": s.UnionID("courier")}))
		v2, _ := s.Claim(m[1].Access, other, nil)
		testutil.WantCode(t, s.Do(cinema.Access, testutil.RedeemQ, map[string]any{"c": *v2.Code}), "FORBIDDEN")
		testutil.WantCode(t, s.Do(cinema.Access, `{ voucherBatches { edges { node { id } } } }`, nil), "FORBIDDEN")
		testutil.WantCode(t, s.Do(cinema.Access, testutil.CreateBatchQ, map[string]any{"in": testutil.BatchInput(5, nil)}), "FORBIDDEN")
		testutil.WantCode(t, s.Do(cinema.Access, `{ members { edges { node { id } } } }`, nil), "FORBIDDEN")
		// An admin of another district may not redeem either.
		testutil.WantCode(t, s.Do(s.LoginAdmin("rider_admin").Access, testutil.RedeemQ, map[string]any{"c": *v2.Code}), "FORBIDDEN")
		// The batch's admin may.
		s.MustOK(admin, testutil.RedeemQ, map[string]any{"c": *v2.Code}, nil)

		var st struct {
			VoucherStats map[string]int
		}
		s.MustOK(admin, `query($u: ID) { voucherStats(unionId: $u) { batches stock claimed redeemed expired revoked claimedFen redeemedFen expiredFen } }`, map[string]any{"u": s.UnionID("courier")}, &st)
		if diff := cmp.Diff(map[string]int{"batches": 2, "stock": 15, "claimed": 2, "redeemed": 2, "expired": 0, "revoked": 0,
			"claimedFen": 7000, "redeemedFen": 7000, "expiredFen": 0}, st.VoucherStats); diff != "" {
			t.Fatalf("stats (-want +got):\n%s", diff)
		}
		var mine struct {
			MyVouchers struct {
				Edges []struct{ Node testutil.Voucher }
			}
		}
		s.MustOK(m[0].Access, `{ myVouchers(filter: {status: REDEEMED}) { edges { node { id status } } } }`, nil, &mine)
		if len(mine.MyVouchers.Edges) != 1 || mine.MyVouchers.Edges[0].Node.ID != v.ID {
			t.Fatalf("myVouchers = %+v", mine)
		}
	})
}

func TestVoucherExpiryRevocationAndRateLimit(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := s.PublishedBatch(admin, testutil.BatchInput(3, map[string]any{"validDays": 1}))
		m := s.Members(2, "courier")
		v0, _ := s.Claim(m[0].Access, id, nil)
		v1, _ := s.Claim(m[1].Access, id, nil)
		cinema := s.Redeemer(admin, "cinema2", "courier", id)

		// Revoke one: the stock returns, the member sees why, it can't be redeemed.
		var rv struct {
			RevokeVoucher struct {
				Voucher struct{ Status, RevokeReason string }
			}
		}
		s.MustOK(admin, `mutation($id: ID!) { revokeVoucher(input: {voucherId: $id, reason: "重复领取"}) { voucher { status revokeReason } } }`,
			map[string]any{"id": v1.ID}, &rv)
		if rv.RevokeVoucher.Voucher.Status != "REVOKED" {
			t.Fatalf("revoke = %+v", rv)
		}
		var b struct{ VoucherBatch struct{ StockLeft int } }
		s.MustOK(m[0].Access, testutil.BatchQ, map[string]any{"id": id}, &b)
		if b.VoucherBatch.StockLeft != 2 {
			t.Fatalf("stock after revoking = %d, want 2", b.VoucherBatch.StockLeft)
		}
		testutil.WantCode(t, s.Do(cinema.Access, testutil.RedeemQ, map[string]any{"c": *v1.Code}), "CONFLICT")
		_, r := s.Claim(m[1].Access, id, nil) // a revoked voucher still counts
		if r.Code() != "" {
			// With a limit of one, a claim returns the member's voucher.
			t.Fatalf("claim after revocation: %+v", r.Errors)
		}

		// Two days on, the other has expired.
		s.Clock.Advance(48 * time.Hour)
		admin = s.LoginAdmin("donghua_admin").Access
		cinema = s.Redeemer(admin, "cinema3", "courier", id)
		r = s.Do(cinema.Access, testutil.RedeemQ, map[string]any{"c": *v0.Code})
		testutil.WantCode(t, r, "WINDOW_CLOSED")
		var mine struct {
			MyVouchers struct {
				Edges []struct{ Node testutil.Voucher }
			}
		}
		tok := s.Reissue(m[0]).Access
		s.MustOK(tok, `{ myVouchers(filter: {status: EXPIRED}) { edges { node { id status } } } }`, nil, &mine)
		if len(mine.MyVouchers.Edges) != 1 || mine.MyVouchers.Edges[0].Node.Status != "EXPIRED" {
			t.Fatalf("expired vouchers = %+v", mine)
		}

		// Guessing codes is cut off.
		limited := false
		for i := 0; i < 15 && !limited; i++ {
			r := s.Do(cinema.Access, testutil.RedeemQ, map[string]any{"c": fmt.Sprintf("ZZZZ-ZZZZ-ZZZZ-ZZZZ-%04d", i)})
			limited = r.Code() == "RATE_LIMITED"
		}
		if !limited {
			t.Fatal("15 wrong codes in a row were never rate limited")
		}
		var n int64
		s.DB.Model(&models.Voucher{}).Where("status = ?", "REDEEMED").Count(&n)
		if n != 0 {
			t.Fatalf("%d vouchers redeemed", n)
		}
	})
}

func TestVoucherLimitsAndExclusiveGroups(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		city := s.LoginAdmin("city_admin").Access
		district := s.LoginAdmin("dongcheng_admin").Access
		cityTravel := s.PublishedBatch(city, testutil.BatchInput(100, map[string]any{"title": "市级出行补贴", "kind": "TRAVEL_SUBSIDY", "faceValueFen": 20000, "exclusiveGroup": "travel-2026"}))
		districtTravel := s.PublishedBatch(district, testutil.BatchInput(100, map[string]any{"title": "区级出行补贴", "kind": "TRAVEL_SUBSIDY", "faceValueFen": 15000, "exclusiveGroup": "travel-2026"}))
		phone := s.PublishedBatch(city, testutil.BatchInput(100, map[string]any{"title": "话费券", "kind": "PHONE_CREDIT", "perMemberLimit": 3}))
		m := s.Members(1, "courier")[0].Access

		if _, r := s.Claim(m, cityTravel, nil); r.Code() != "" {
			t.Fatalf("first travel claim: %+v", r.Errors)
		}
		var b struct{ VoucherBatch struct{ ClaimReason *string } }
		s.MustOK(m, testutil.BatchQ, map[string]any{"id": districtTravel}, &b)
		if b.VoucherBatch.ClaimReason == nil || *b.VoucherBatch.ClaimReason != "您已领取「市级出行补贴」，与本券只能二选一" {
			t.Fatalf("claimReason = %v", b.VoucherBatch.ClaimReason)
		}
		_, r := s.Claim(m, districtTravel, nil)
		testutil.WantCode(t, r, "LIMIT_REACHED")

		// Three per member with request ids; the same id is the same voucher.
		a, _ := s.Claim(m, phone, "tap-1")
		if again, _ := s.Claim(m, phone, "tap-1"); again.ID != a.ID {
			t.Fatalf("same request id gave %s, want %s", again.ID, a.ID)
		}
		s.Claim(m, phone, "tap-2")
		s.Claim(m, phone, "tap-3")
		_, r = s.Claim(m, phone, "tap-4")
		testutil.WantCode(t, r, "LIMIT_REACHED")
		var n int64
		s.DB.Model(&models.Voucher{}).Where("batch_id = ?", phone).Count(&n)
		if n != 3 {
			t.Fatalf("%d phone vouchers, want 3", n)
		}
		testutil.WantCode(t, s.Do(m, testutil.ClaimQ, map[string]any{"id": phone, "r": "tap-1"}), "") // still the first
		_, r = s.Claim(m, cityTravel, "tap-1")
		testutil.WantCode(t, r, "VALIDATION_FAILED") // a request id is one claim
	})
}

func TestCreateBatchRejectsBadInput(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		var before int64
		s.DB.Model(&models.VoucherBatch{}).Count(&before)
		for _, tc := range []struct {
			name, field string
			extra       map[string]any
		}{
			{"stock", "stock", map[string]any{"stock": 0}},
			{"face value", "faceValueFen", map[string]any{"faceValueFen": -1}},
			{"closed window", "claimClosesAt", map[string]any{"claimOpensAt": testutil.RFC(testutil.Epoch.Add(-48 * time.Hour)), "claimClosesAt": testutil.RFC(testutil.Epoch.Add(-time.Hour))}},
			{"two validities", "validDays", map[string]any{"validFrom": testutil.RFC(testutil.At(1, "00:00")), "validUntil": testutil.RFC(testutil.At(30, "00:00"))}},
			{"no validity", "validUntil", map[string]any{"validDays": nil}},
			{"group with limit", "perMemberLimit", map[string]any{"exclusiveGroup": "g1", "perMemberLimit": 2}},
			{"bad group", "exclusiveGroup", map[string]any{"exclusiveGroup": "组 1"}},
		} {
			r := s.Do(admin, testutil.CreateBatchQ, map[string]any{"in": testutil.BatchInput(10, tc.extra)})
			if r.Code() != "VALIDATION_FAILED" || r.Field() != tc.field {
				t.Errorf("%s: code %q field %q (%v), want VALIDATION_FAILED on %s", tc.name, r.Code(), r.Field(), r.Errors, tc.field)
			}
		}
		var n int64
		s.DB.Model(&models.VoucherBatch{}).Count(&n)
		if n != before {
			t.Fatalf("%d batches stored from bad input", n-before)
		}
	})
}

func TestExportVouchers(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := s.PublishedBatch(admin, testutil.BatchInput(5, nil))
		m := s.Members(2, "courier")
		v, _ := s.Claim(m[0].Access, id, nil)
		s.Claim(m[1].Access, id, nil)
		s.MustOK(s.Redeemer(admin, "cinema9", "courier", id).Access, testutil.RedeemQ, map[string]any{"c": *v.Code}, nil)

		status, body := s.Get(admin, "/export/vouchers?batchId="+id)
		if status != 200 {
			t.Fatalf("export: %d %s", status, body)
		}
		f, err := excelize.OpenReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := f.GetRows("领取核销明细")
		if len(rows) != 3 || rows[1][4] != "已核销" || rows[1][9] != "cinema9影城" || !strings.Contains(rows[1][2], "****") || rows[2][4] != "已领取" {
			t.Fatalf("rows = %v", rows)
		}
		for _, tok := range []string{s.LoginAdmin("rider_admin").Access, m[0].Access} {
			if status, _ := s.Get(tok, "/export/vouchers?batchId="+id); status != 403 {
				t.Fatalf("export by an outsider: %d", status)
			}
		}
	})
}
