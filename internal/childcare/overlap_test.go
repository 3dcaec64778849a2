package childcare_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

const updateProgramQ = `mutation($in: UpdateChildcareProgramInput!) { updateChildcareProgram(input: $in) { childcareProgram { id version capacity } } }`

// programVersion is a programme's version, for an update.
func programVersion(t *testing.T, s *testutil.Server, admin, id string) int {
	t.Helper()
	var out struct{ ChildcareProgram struct{ Version int } }
	s.MustOK(admin, `query($id: ID!) { childcareProgram(id: $id) { version } }`, map[string]any{"id": id}, &out)
	return out.ChildcareProgram.Version
}

// The two July programmes that overlap (as the reported Dec 22–Jan 18 and
// Dec 29–Jan 25 did): same hours, three weeks of days in common.
func firstTerm(mode string, capacity, waitlist int, extra map[string]any) map[string]any {
	in := map[string]any{"title": "暑期托管班（一期）", "startsOn": "2026-07-01", "endsOn": "2026-07-28"}
	for k, v := range extra {
		in[k] = v
	}
	return programInput(mode, capacity, waitlist, in)
}

func secondTerm(mode string, capacity, waitlist int, extra map[string]any) map[string]any {
	in := map[string]any{"title": "暑期托管班（二期）", "startsOn": "2026-07-08", "endsOn": "2026-08-04"}
	for k, v := range extra {
		in[k] = v
	}
	return programInput(mode, capacity, waitlist, in)
}

func admittedRows(t testing.TB, s *testutil.Server, childID string) int64 {
	t.Helper()
	return s.Count("child_sign_ups", "child_id = ? AND status = ?", childID, models.ChildSignUpAdmitted)
}

// A parent signing a child up beside an admission whose days and daily
// hours overlap gets CONFLICT naming the other programme, and nothing is
// stored; programmes apart in hours or days are fine; an admin cannot move a
// programme onto an admitted child's other place.
func TestChildcareOverlappingAdmissionRefused(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		morning := publishedProgram(t, s, admin, firstTerm("FIRST_COME", 10, 5, map[string]any{"dailyEnd": "12:00"}))
		second := publishedProgram(t, s, admin, secondTerm("FIRST_COME", 10, 5, nil))
		afternoon := publishedProgram(t, s, admin, firstTerm("FIRST_COME", 10, 5, map[string]any{
			"title": "暑期午后兴趣班", "dailyStart": "12:00", "dailyEnd": "17:30"})) // starts as the morning ends
		august := publishedProgram(t, s, admin, programInput("FIRST_COME", 10, 5, map[string]any{
			"title": "八月托管班", "startsOn": "2026-08-10", "endsOn": "2026-08-20"}))
		parent := s.Members(1, "courier")[0]
		child := registerChild(t, s, parent.Access, childInput("王小丫", "2018-03-01"))

		first := mustSignUp(t, s, parent.Access, morning, child)
		if first.Status != "ADMITTED" {
			t.Fatalf("first sign-up = %+v", first)
		}
		_, r := signUp(t, s, parent.Access, second, child)
		testutil.WantCode(t, r, "CONFLICT")
		if msg := r.Errors[0].Message; !strings.Contains(msg, "「暑期托管班（一期）」") || !strings.Contains(msg, "重叠") {
			t.Fatalf("the parent reads %q", msg)
		}
		var p models.ChildcareProgram
		if err := s.DB.Take(&p, second).Error; err != nil {
			t.Fatal(err)
		}
		if n := s.Count("child_sign_ups", "program_id = ?", second); n != 0 || p.ConfirmedCount != 0 || p.WaitlistCount != 0 {
			t.Fatalf("a refused sign-up left %d rows, counters %d/%d", n, p.ConfirmedCount, p.WaitlistCount)
		}
		// Same days, the next hours (12:00 end, 12:00 start); other days: no overlap.
		if su := mustSignUp(t, s, parent.Access, afternoon, child); su.Status != "ADMITTED" {
			t.Fatalf("afternoon class = %+v", su)
		}
		if su := mustSignUp(t, s, parent.Access, august, child); su.Status != "ADMITTED" {
			t.Fatalf("august = %+v", su)
		}
		if again := mustSignUp(t, s, parent.Access, morning, child); again.ID != first.ID { // a retry
			t.Fatalf("retry = %+v, want %s", again, first.ID)
		}

		// Moving August onto July would give the child two places at once.
		r = s.Do(admin, updateProgramQ, map[string]any{"in": map[string]any{"id": august,
			"version": programVersion(t, s, admin, august), "startsOn": "2026-07-20", "endsOn": "2026-08-20"}})
		testutil.WantCode(t, r, "CONFLICT")
		if !strings.Contains(r.Errors[0].Message, "重叠") {
			t.Fatalf("the admin reads %q", r.Errors[0].Message)
		}
		var aug models.ChildcareProgram
		if err := s.DB.Take(&aug, august).Error; err != nil || aug.StartsOn.Format("2006-01-02") != "2026-08-10" {
			t.Fatalf("refused update stored %s (%v)", aug.StartsOn, err)
		}

		// The second term overlaps both July places; once both are given up
		// it is open to the child.
		s.MustOK(parent.Access, withdrawQ, map[string]any{"id": first.ID}, nil)
		_, r = signUp(t, s, parent.Access, second, child)
		testutil.WantCode(t, r, "CONFLICT")
		if !strings.Contains(r.Errors[0].Message, "「暑期午后兴趣班」") {
			t.Fatalf("the parent reads %q", r.Errors[0].Message)
		}
		var mine struct {
			MyChildSignUps struct {
				Edges []struct{ Node struct{ ID, Status string } }
			}
		}
		s.MustOK(parent.Access, `query($p: ID!) { myChildSignUps(filter: {programId: $p}) { edges { node { id status } } } }`,
			map[string]any{"p": afternoon}, &mine)
		s.MustOK(parent.Access, withdrawQ, map[string]any{"id": mine.MyChildSignUps.Edges[0].Node.ID}, nil)
		if su := mustSignUp(t, s, parent.Access, second, child); su.Status != "ADMITTED" {
			t.Fatalf("second term after withdrawing = %+v", su)
		}
		if n := admittedRows(t, s, child); n != 2 { // the second term and August
			t.Fatalf("%d admissions, want 2", n)
		}
	})
}

// Many sign-ups of the same children for two overlapping first-come
// programmes at once, across two instances: each child ends up admitted to
// exactly one; every call for the other is refused with CONFLICT.
func TestChildcareOverlapRaceAdmitsOnce(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s1 := testutil.NewServer(t, d)
		s2 := testutil.NewServerOn(t, s1.DB)
		admin := s1.LoginAdmin("donghua_admin").Access
		progs := []string{
			publishedProgram(t, s1, admin, firstTerm("FIRST_COME", 100, 0, nil)),
			publishedProgram(t, s1, admin, secondTerm("FIRST_COME", 100, 0, nil)),
		}
		s2.Clock.Set(s1.Clock.Now())
		nChildren, tries := 60, 16
		if d == store.SQLite {
			nChildren = 20 // one writer: the rule is the same; the race detector makes SQLite slow
		}
		parents := s1.Members(nChildren, "courier")
		children := childrenOf(t, s1, parents, time.Date(2017, 4, 1, 0, 0, 0, 0, time.UTC))
		servers := []*testutil.Server{s1, s2}
		type outcome struct {
			prog int
			got  string // sign-up id, or the error code
		}
		outcomes := make([][]outcome, nChildren)
		for c := range outcomes {
			outcomes[c] = make([]outcome, tries)
		}
		testutil.Race(nChildren*tries, 48, func(i int) { // a child's tries at once
			c, k := i/tries, i%tries
			prog := k % 2
			r, err := servers[(k/2)%2].Try(parents[c].Access, signUpChildQ, map[string]any{"p": progs[prog], "c": children[c]})
			o := outcome{prog: prog}
			switch {
			case err != nil:
				o.got = "TRANSPORT " + err.Error()
			case len(r.Errors) > 0:
				o.got = r.Code()
			default:
				var out struct{ SignUpChild struct{ SignUp childSignUp } }
				if jerr := json.Unmarshal(r.Data, &out); jerr != nil || out.SignUpChild.SignUp.Status != "ADMITTED" {
					o.got = fmt.Sprintf("BAD %s %v", r.Data, jerr)
				} else {
					o.got = out.SignUpChild.SignUp.ID
				}
			}
			outcomes[c][k] = o
		})
		total := 0
		for c, child := range children {
			var rows []models.ChildSignUp
			s1.DB.Where("child_id = ? AND status = ?", child, models.ChildSignUpAdmitted).Find(&rows)
			if len(rows) != 1 {
				t.Fatalf("child %d holds %d admissions, want 1; outcomes %v", c, len(rows), outcomes[c])
			}
			won := fmt.Sprint(rows[0].ProgramID)
			for _, o := range outcomes[c] {
				if progs[o.prog] == won && o.got != fmt.Sprint(rows[0].ID) || progs[o.prog] != won && o.got != "CONFLICT" {
					t.Fatalf("child %d admitted to %s: outcome %+v of %v", c, won, o, outcomes[c])
				}
			}
			total++
		}
		var sum int
		for _, id := range progs {
			var p models.ChildcareProgram
			s1.DB.Take(&p, id)
			sum += p.ConfirmedCount
			if n := s1.Count("child_sign_ups", "program_id = ? AND status = ?", id, models.ChildSignUpAdmitted); int(n) != p.ConfirmedCount {
				t.Fatalf("programme %s: %d admitted rows, counter %d", id, n, p.ConfirmedCount)
			}
		}
		if sum != total {
			t.Fatalf("counters add to %d, want %d", sum, total)
		}
	})
}

// Six LOTTERY programmes that all overlap, with the same children pending
// in each, allocate at the same moment, many times over, on two instances:
// each child is admitted by exactly one; the others reject it, naming it.
func TestChildcareAllocationsRaceAdmitOnce(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s1 := testutil.NewServer(t, d)
		s2 := testutil.NewServerOn(t, s1.DB)
		admin := s1.LoginAdmin("donghua_admin").Access
		const nProgs, n = 6, 100
		title := map[string]string{}
		var progs []string
		for k := 0; k < nProgs; k++ {
			name := fmt.Sprintf("暑期托管班（%d期）", k+1)
			id := publishedProgram(t, s1, admin, programInput("LOTTERY", n, 0, map[string]any{"title": name,
				"startsOn": fmt.Sprintf("2026-07-%02d", 1+k), "endsOn": fmt.Sprintf("2026-07-%02d", 20+k)}))
			title[id] = name
			progs = append(progs, id)
		}
		parents := s1.Members(n, "courier")
		children := childrenOf(t, s1, parents, time.Date(2017, 4, 1, 0, 0, 0, 0, time.UTC))
		// Through GraphQL for one child (signing up is tested elsewhere),
		// straight in the database for the rest.
		for _, p := range progs {
			if su := mustSignUp(t, s1, parents[0].Access, p, children[0]); su.Status != "PENDING" {
				t.Fatalf("sign-up = %+v", su)
			}
		}
		now, active := s1.Clock.Now(), true
		var rows []*models.ChildSignUp
		for i := 1; i < n; i++ {
			for _, p := range progs {
				rows = append(rows, &models.ChildSignUp{ProgramID: testutil.MustID(t, p), ChildID: testutil.MustID(t, children[i]), MemberID: testutil.MustID(t, parents[i].ID),
					Status: models.ChildSignUpPending, Active: &active, PriorityRank: 1, CreatedAt: now, UpdatedAt: now})
			}
		}
		if err := s1.DB.CreateInBatches(rows, 500).Error; err != nil {
			t.Fatal(err)
		}
		s1.Clock.Set(testutil.At(3, "18:01"))
		s2.Clock.Set(s1.Clock.Now())
		admins := []string{s1.LoginAdmin("donghua_admin").Access, s2.LoginAdmin("donghua_admin").Access}
		servers := []*testutil.Server{s1, s2}
		errs := make([]string, 4*nProgs)
		testutil.Race(len(errs), len(errs), func(i int) {
			r, err := servers[i%2].Try(admins[i%2], runAllocQ, map[string]any{"id": progs[(i/2)%nProgs]})
			switch {
			case err != nil:
				errs[i] = err.Error()
			case len(r.Errors) > 0:
				errs[i] = fmt.Sprint(r.Errors)
			}
		})
		for _, e := range errs {
			if e != "" {
				t.Fatalf("runChildcareAllocation: %s", e)
			}
		}
		for i, child := range children {
			var rows []models.ChildSignUp
			s1.DB.Where("child_id = ?", child).Order("program_id").Find(&rows)
			var in []models.ChildSignUp
			for _, r := range rows {
				if r.Status == models.ChildSignUpAdmitted {
					in = append(in, r)
				}
			}
			if len(rows) != nProgs || len(in) != 1 {
				t.Fatalf("child %d: %d sign-ups, %d admitted; want %d and 1", i, len(rows), len(in), nProgs)
			}
			for _, r := range rows {
				if r.ID != in[0].ID && (r.Status != models.ChildSignUpRejected || !strings.Contains(r.RejectReason, "「"+title[fmt.Sprint(in[0].ProgramID)]+"」")) {
					t.Fatalf("child %d admitted to %d: %s %q", i, in[0].ProgramID, r.Status, r.RejectReason)
				}
			}
		}
		var runs []models.AllocationRun
		s1.DB.Where("kind = ?", "childcare").Find(&runs)
		sum := 0
		for _, run := range runs {
			if run.Candidates != n || run.Admitted+run.Waitlisted+run.Rejected != n {
				t.Fatalf("run %+v", run)
			}
			sum += run.Admitted
		}
		if len(runs) != nProgs || sum != n {
			t.Fatalf("%d runs admitting %d; want %d runs, %d", len(runs), sum, nProgs, n)
		}
	})
}

// The allocation at close passes over a child admitted meanwhile to an
// overlapping programme: its sign-up is rejected naming that programme and
// the places go to the next in order.
func TestChildcareAllocationSkipsChildAdmittedElsewhere(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		for _, tc := range []struct {
			mode               string
			capacity, waitlist int
			kids               int
			want               []string // the kids' statuses, the one admitted elsewhere first
		}{
			{"PRIORITY", 2, 1, 4, []string{"REJECTED", "ADMITTED", "ADMITTED", "WAITLISTED"}},
			{"LOTTERY", 3, 0, 3, []string{"REJECTED", "ADMITTED", "ADMITTED"}},
		} {
			t.Run(tc.mode, func(t *testing.T) {
				s := testutil.NewServer(t, d)
				admin := s.LoginAdmin("donghua_admin").Access
				elsewhere := publishedProgram(t, s, admin, firstTerm("FIRST_COME", 10, 0, nil))
				id := publishedProgram(t, s, admin, secondTerm(tc.mode, tc.capacity, tc.waitlist, nil))
				parents := s.Members(tc.kids, "courier")
				children := childrenOf(t, s, parents, time.Date(2017, 4, 1, 0, 0, 0, 0, time.UTC))
				sus := make([]childSignUp, tc.kids)
				for i := range parents {
					sus[i] = mustSignUp(t, s, parents[i].Access, id, children[i]) // kid 0 first
					s.Clock.Advance(time.Minute)
				}
				// Pending here is no bar to a place elsewhere.
				if su := mustSignUp(t, s, parents[0].Access, elsewhere, children[0]); su.Status != "ADMITTED" {
					t.Fatalf("first-come elsewhere = %+v", su)
				}
				s.Clock.Set(testutil.At(3, "18:01"))
				admin = s.LoginAdmin("donghua_admin").Access
				run := runAllocation(t, s, admin, id)
				if run.Candidates != tc.kids || run.Admitted != 2 || run.Rejected != 1 || run.Waitlisted != tc.kids-3 {
					t.Fatalf("allocation = %+v", run)
				}
				for i, want := range tc.want {
					got := getSignUp(t, s, admin, sus[i].ID)
					if got.Status != want {
						t.Fatalf("kid %d: %s, want %s (%+v)", i, got.Status, want, got)
					}
					if i == 0 && !strings.Contains(got.RejectReason, "「暑期托管班（一期）」") {
						t.Fatalf("reject reason %q", got.RejectReason)
					}
				}
				if n := admittedRows(t, s, children[0]); n != 1 {
					t.Fatalf("kid 0 holds %d admissions", n)
				}
			})
		}
	})
}

// A seat freed by a withdrawal (or a larger capacity) passes over a
// waitlisted child admitted meanwhile to an overlapping programme, to the
// next in the queue; the child passed over keeps its place.
func TestChildcarePromotionSkipsChildAdmittedElsewhere(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		elsewhere := publishedProgram(t, s, admin, firstTerm("FIRST_COME", 10, 0, nil))
		id := publishedProgram(t, s, admin, secondTerm("FIRST_COME", 1, 3, nil))
		parents := s.Members(4, "courier")
		children := childrenOf(t, s, parents, time.Date(2017, 4, 1, 0, 0, 0, 0, time.UTC))
		var sus []childSignUp
		for i, want := range []string{"ADMITTED", "WAITLISTED", "WAITLISTED", "WAITLISTED"} {
			su := mustSignUp(t, s, parents[i].Access, id, children[i])
			if su.Status != want {
				t.Fatalf("sign-up %d = %+v, want %s", i, su, want)
			}
			sus = append(sus, su)
		}
		// The head of the queue gets a place elsewhere (waiting is no bar).
		if su := mustSignUp(t, s, parents[1].Access, elsewhere, children[1]); su.Status != "ADMITTED" {
			t.Fatalf("elsewhere = %+v", su)
		}
		s.MustOK(parents[0].Access, withdrawQ, map[string]any{"id": sus[0].ID}, nil)
		if got := getSignUp(t, s, parents[2].Access, sus[2].ID); got.Status != "ADMITTED" || got.PromotedAt == nil {
			t.Fatalf("next in the queue = %+v", got)
		}
		if got := getSignUp(t, s, parents[1].Access, sus[1].ID); got.Status != "WAITLISTED" || got.WaitlistPosition == nil || *got.WaitlistPosition != 1 {
			t.Fatalf("passed over = %+v", got)
		}
		// Two more seats: one for the last in the queue, none for the child
		// passed over.
		s.MustOK(admin, updateProgramQ, map[string]any{"in": map[string]any{"id": id,
			"version": programVersion(t, s, admin, id), "capacity": 3}}, nil)
		if got := getSignUp(t, s, parents[3].Access, sus[3].ID); got.Status != "ADMITTED" {
			t.Fatalf("last in the queue after growing = %+v", got)
		}
		if got := getSignUp(t, s, parents[1].Access, sus[1].ID); got.Status != "WAITLISTED" {
			t.Fatalf("passed over after growing = %+v", got)
		}
		var p models.ChildcareProgram
		s.DB.Take(&p, id)
		if p.ConfirmedCount != 2 || p.WaitlistCount != 1 || admittedRows(t, s, children[1]) != 1 {
			t.Fatalf("counters %d/%d; child passed over holds %d admissions", p.ConfirmedCount, p.WaitlistCount, admittedRows(t, s, children[1]))
		}
	})
}

// Waitlist promotions racing for the same children: ten children wait in
// two overlapping full programmes; all twenty admitted children of those
// withdraw at once on two instances. Each waiting child moves up in
// exactly one; the seat it passes over goes to the next in that queue.
func TestChildcarePromotionRaceAdmitsOnce(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s1 := testutil.NewServer(t, d)
		s2 := testutil.NewServerOn(t, s1.DB)
		admin := s1.LoginAdmin("donghua_admin").Access
		const seats, shared = 10, 10
		progs := []string{
			publishedProgram(t, s1, admin, firstTerm("FIRST_COME", seats, shared, nil)),
			publishedProgram(t, s1, admin, secondTerm("FIRST_COME", seats, shared, nil)),
		}
		s2.Clock.Set(s1.Clock.Now())
		parents := s1.Members(2*seats+shared, "courier")
		children := childrenOf(t, s1, parents, time.Date(2017, 4, 1, 0, 0, 0, 0, time.UTC))
		var holders []childSignUp // seats children, one programme each
		var holderTok []string
		for i := 0; i < 2*seats; i++ {
			su := mustSignUp(t, s1, parents[i].Access, progs[i%2], children[i])
			if su.Status != "ADMITTED" {
				t.Fatalf("holder %d = %+v", i, su)
			}
			holders, holderTok = append(holders, su), append(holderTok, parents[i].Access)
		}
		for i := 2 * seats; i < len(children); i++ {
			for _, p := range progs {
				if su := mustSignUp(t, s1, parents[i].Access, p, children[i]); su.Status != "WAITLISTED" {
					t.Fatalf("shared child %d = %+v", i, su)
				}
			}
		}
		servers := []*testutil.Server{s1, s2}
		errs := make([]string, len(holders))
		testutil.Race(len(holders), len(holders), func(i int) {
			r, err := servers[i%2].Try(holderTok[i], withdrawQ, map[string]any{"id": holders[i].ID})
			switch {
			case err != nil:
				errs[i] = err.Error()
			case len(r.Errors) > 0:
				errs[i] = fmt.Sprint(r.Errors)
			}
		})
		for _, e := range errs {
			if e != "" {
				t.Fatalf("withdraw: %s", e)
			}
		}
		for i := 2 * seats; i < len(children); i++ {
			if n := admittedRows(t, s1, children[i]); n != 1 {
				t.Fatalf("shared child %d holds %d admissions, want 1", i, n)
			}
		}
		confirmed := 0
		for _, id := range progs {
			var p models.ChildcareProgram
			s1.DB.Take(&p, id)
			admitted := s1.Count("child_sign_ups", "program_id = ? AND status = ?", id, models.ChildSignUpAdmitted)
			waiting := s1.Count("child_sign_ups", "program_id = ? AND status = ?", id, models.ChildSignUpWaitlisted)
			if int(admitted) != p.ConfirmedCount || int(waiting) != p.WaitlistCount || admitted+waiting != shared {
				t.Fatalf("programme %s: rows %d/%d, counters %d/%d", id, admitted, waiting, p.ConfirmedCount, p.WaitlistCount)
			}
			confirmed += p.ConfirmedCount
		}
		if confirmed != shared {
			t.Fatalf("%d admitted in all, want %d", confirmed, shared)
		}
	})
}
