package childcare_test

import (
	"strings"
	"testing"
	"time"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
)

// A child's check-in: on a day of the programme, from two hours before the
// daily start to the daily end.
func TestChildcareCheckInWindow(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := publishedProgram(t, s, admin, programInput("FIRST_COME", 5, 0, nil)) // 08:00–17:30
		parents := s.Members(2, "courier")
		children := childrenOf(t, s, parents, time.Date(2017, 4, 1, 0, 0, 0, 0, time.UTC))
		a, b := mustSignUp(t, s, parents[0].Access, id, children[0]), mustSignUp(t, s, parents[1].Access, id, children[1])
		china := time.FixedZone("CST", 8*3600)
		set := func(hh, mm int) {
			s.Clock.Set(time.Date(2026, 7, 1, hh, mm, 0, 0, china))
			admin = s.LoginAdmin("donghua_admin").Access
		}
		set(5, 59)
		testutil.WantWindowClosed(t, s.Do(admin, checkInQ, map[string]any{"id": a.ID}), "签到尚未开始")
		set(6, 0)
		s.MustOK(admin, checkInQ, map[string]any{"id": a.ID}, nil)
		set(17, 30)
		testutil.WantWindowClosed(t, s.Do(admin, checkInQ, map[string]any{"id": b.ID}), "签到已结束")
		if n := s.Count("child_attendance", "program_id = ?", id); n != 1 {
			t.Fatalf("%d attendance rows, want 1", n)
		}
	})
}

// Codes people type fold case everywhere: a voucher code in mixed case, a
// guardian invitation in lower case.
func TestTypedCodesFoldCase(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		batch := s.PublishedBatch(admin, testutil.BatchInput(5, map[string]any{"unionId": s.UnionID("courier")}))
		m := s.Members(2, "courier")
		v, r := s.Claim(m[0].Access, batch, nil)
		if len(r.Errors) > 0 || v.Code == nil {
			t.Fatalf("claim: %+v", r.Errors)
		}
		var mixed strings.Builder
		for i, c := range *v.Code {
			if i%2 == 0 {
				mixed.WriteString(strings.ToLower(string(c)))
			} else {
				mixed.WriteRune(c)
			}
		}
		var red struct {
			RedeemVoucher struct{ Voucher testutil.Voucher }
		}
		s.MustOK(admin, testutil.RedeemQ, map[string]any{"c": mixed.String()}, &red)
		if red.RedeemVoucher.Voucher.Status != "REDEEMED" {
			t.Fatalf("redeem %q = %+v", mixed.String(), red)
		}

		child := registerChild(t, s, m[0].Access, childInput("王小丫", "2018-03-01"))
		var inv struct {
			InviteGuardian struct{ Invitation struct{ Code string } }
		}
		s.MustOK(m[0].Access, `mutation($c: ID!) { inviteGuardian(input: {childId: $c}) { invitation { code } } }`, map[string]any{"c": child}, &inv)
		var acc struct {
			AcceptGuardianInvite struct{ Child struct{ ID, MyRole string } }
		}
		s.MustOK(m[1].Access, `mutation($code: String!) { acceptGuardianInvite(input: {code: $code}) { child { id myRole } } }`,
			map[string]any{"code": strings.ToLower(inv.InviteGuardian.Invitation.Code)}, &acc)
		if acc.AcceptGuardianInvite.Child.ID != child {
			t.Fatalf("accept = %+v", acc)
		}
	})
}
