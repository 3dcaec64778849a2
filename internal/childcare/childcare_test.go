package childcare_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

const (
	createProgramQ = `mutation($in: CreateChildcareProgramInput!) { createChildcareProgram(input: $in) { childcareProgram { id status version lotterySeedHash } } }`
	publishProgQ   = `mutation($id: ID!) { publishChildcareProgram(input: {id: $id}) { childcareProgram { id status } } }`
	registerChildQ = `mutation($in: RegisterChildInput!) { registerChild(input: $in) { child { id name birthDate gender idNumber version myRole } } }`
	signUpChildQ   = `mutation($p: ID!, $c: ID!, $dw: Boolean) { signUpChild(input: {programId: $p, childId: $c, doubleWorker: $dw}) {
		signUp { id status priority waitlistPosition rejectReason } } }`
	withdrawQ = `mutation($id: ID!) { withdrawChildSignUp(input: {signUpId: $id}) { signUp { id status } } }`
	signUpQ   = `query($id: ID!) { childSignUp(id: $id) { id status waitlistPosition rejectReason drawKey promotedAt
		child { id name idNumber emergencyContactPhone } attendance { day checkedInAt checkedOutAt pickedUpBy } } }`
	runAllocQ = `mutation($id: ID!) { runChildcareAllocation(input: {id: $id}) { childcareProgram { id admittedCount waitlistCount
		allocation { ranAt mode seed candidates admitted waitlisted rejected algorithm } } } }`
	checkInQ  = `mutation($id: ID!) { checkInChild(input: {signUpId: $id}) { attendance { id day checkedInAt } } }`
	checkOutQ = `mutation($id: ID!, $who: String!) { checkOutChild(input: {signUpId: $id, pickedUpBy: $who}) { attendance { id checkedOutAt pickedUpBy } } }`
)

// programInput is a valid programme: sign-up opens five minutes after the
// epoch and closes in three days; the class runs in July, 6 to 12 year olds.
func programInput(mode string, capacity, waitlist int, extra map[string]any) map[string]any {
	in := map[string]any{
		"title": "暑期职工子女托管班", "description": "作业辅导、安全教育、手工与体育", "place": "东华街道职工服务中心",
		"startsOn": "2026-07-01", "endsOn": "2026-07-31", "dailyStart": "08:00", "dailyEnd": "17:30",
		"childMinAge": 6, "childMaxAge": 12, "capacity": capacity, "waitlistLimit": waitlist,
		"signUpOpensAt": testutil.RFC(testutil.Epoch.Add(5 * time.Minute)), "signUpClosesAt": testutil.RFC(testutil.At(3, "18:00")),
		"admissionMode": mode, "requireEmergencyContact": true,
	}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

// publishedProgram creates and publishes a programme and opens its window.
func publishedProgram(t *testing.T, s *testutil.Server, admin string, in map[string]any) string {
	t.Helper()
	var out struct {
		CreateChildcareProgram struct{ ChildcareProgram struct{ ID, Status string } }
	}
	s.MustOK(admin, createProgramQ, map[string]any{"in": in}, &out)
	id := out.CreateChildcareProgram.ChildcareProgram.ID
	s.MustOK(admin, publishProgQ, map[string]any{"id": id}, nil)
	if opens, _ := time.Parse(time.RFC3339, in["signUpOpensAt"].(string)); s.Clock.Now().Before(opens) {
		s.Clock.Set(opens.Add(time.Minute))
	}
	return id
}

// childInput is a valid child born on birth (YYYY-MM-DD).
func childInput(name, birth string) map[string]any {
	return map[string]any{"name": name, "birthDate": birth, "gender": "FEMALE", "schoolGrade": "二年级",
		"allergies": "花生过敏", "emergencyContactName": "王芳", "emergencyContactPhone": "13800001111"}
}

func registerChild(t *testing.T, s *testutil.Server, tok string, in map[string]any) string {
	t.Helper()
	var out struct {
		RegisterChild struct{ Child struct{ ID string } }
	}
	s.MustOK(tok, registerChildQ, map[string]any{"in": in}, &out)
	return out.RegisterChild.Child.ID
}

type childSignUp struct {
	ID, Status       string
	Priority         bool
	WaitlistPosition *int
	RejectReason     string
	DrawKey          *string
	PromotedAt       *string
	Child            struct{ ID, Name, IDNumber, EmergencyContactPhone string }
	Attendance       []struct {
		Day, CheckedInAt string
		CheckedOutAt     *string
		PickedUpBy       string
	}
}

func signUp(t *testing.T, s *testutil.Server, tok, programID, childID string) (childSignUp, *testutil.Response) {
	t.Helper()
	r := s.Do(tok, signUpChildQ, map[string]any{"p": programID, "c": childID})
	var out struct{ SignUpChild struct{ SignUp childSignUp } }
	if len(r.Errors) == 0 {
		r.Decode(t, &out)
	}
	return out.SignUpChild.SignUp, r
}

func mustSignUp(t *testing.T, s *testutil.Server, tok, programID, childID string) childSignUp {
	t.Helper()
	su, r := signUp(t, s, tok, programID, childID)
	if len(r.Errors) > 0 {
		t.Fatalf("signUpChild: %+v", r.Errors)
	}
	return su
}

func getSignUp(t *testing.T, s *testutil.Server, tok, id string) childSignUp {
	t.Helper()
	var out struct{ ChildSignUp childSignUp }
	s.MustOK(tok, signUpQ, map[string]any{"id": id}, &out)
	return out.ChildSignUp
}

// A first-come programme from publication to the last pick-up: admission,
// waitlist promotion on withdrawal, attendance the parents see, statistics,
// export, and who may see a child.
func TestChildcareFirstComeEndToEnd(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := publishedProgram(t, s, admin, programInput("FIRST_COME", 1, 1, nil))
		parents := s.Members(4, "courier")
		a, b, c, young := parents[0].Access, parents[1].Access, parents[2].Access, parents[3].Access
		childA := registerChild(t, s, a, childInput("张小雨", "2018-03-01"))
		childB := registerChild(t, s, b, childInput("李小明", "2017-09-10"))
		childC := registerChild(t, s, c, childInput("陈一一", "2016-01-20"))
		childY := registerChild(t, s, young, childInput("赵小小", "2023-02-01"))

		// The list explains, per child, why one may not sign up.
		var list struct {
			ChildcarePrograms struct {
				Edges []struct {
					Node struct {
						ID          string
						Mine, Young *string
						SeatsLeft   int
						Union       struct{ ID string }
					}
				}
			}
		}
		s.MustOK(young, `query($c: ID!) { childcarePrograms(filter: {upcoming: true}) { edges { node { id seatsLeft union { id }
			mine: ineligibleReason young: ineligibleReason(childId: $c) } } } }`, map[string]any{"c": childY}, &list)
		if len(list.ChildcarePrograms.Edges) != 1 || list.ChildcarePrograms.Edges[0].Node.ID != id {
			t.Fatalf("programmes = %+v", list)
		}
		n := list.ChildcarePrograms.Edges[0].Node
		if n.Mine != nil || n.Young == nil || !strings.Contains(*n.Young, "6 至 12 周岁") || n.SeatsLeft != 1 {
			t.Fatalf("ineligibility = %+v", n)
		}
		// Another parent's child is not theirs to ask about.
		testutil.WantCode(t, s.Do(young, `query($c: ID!) { childcarePrograms { edges { node { ineligibleReason(childId: $c) } } } }`,
			map[string]any{"c": childA}), "NOT_FOUND")

		suA := mustSignUp(t, s, a, id, childA)
		if suA.Status != "ADMITTED" {
			t.Fatalf("first sign-up = %+v", suA)
		}
		if again := mustSignUp(t, s, a, id, childA); again.ID != suA.ID {
			t.Fatalf("retry gave another sign-up: %+v", again)
		}
		suB := mustSignUp(t, s, b, id, childB)
		if suB.Status != "WAITLISTED" || suB.WaitlistPosition == nil || *suB.WaitlistPosition != 1 {
			t.Fatalf("second sign-up = %+v", suB)
		}
		_, r := signUp(t, s, c, id, childC)
		testutil.WantCode(t, r, "FULL")

		// A withdraws: B moves up at once.
		var w struct {
			WithdrawChildSignUp struct{ SignUp struct{ Status string } }
		}
		s.MustOK(a, withdrawQ, map[string]any{"id": suA.ID}, &w)
		if w.WithdrawChildSignUp.SignUp.Status != "WITHDRAWN" {
			t.Fatalf("withdraw = %+v", w)
		}
		if got := getSignUp(t, s, b, suB.ID); got.Status != "ADMITTED" || got.PromotedAt == nil {
			t.Fatalf("waitlisted after withdrawal = %+v", got)
		}

		// First day of the programme, 08:05 China time.
		s.Clock.Set(time.Date(2026, 7, 1, 0, 5, 0, 0, time.UTC))
		admin = s.LoginAdmin("donghua_admin").Access
		b = s.Reissue(parents[1]).Access
		testutil.WantCode(t, s.Do(admin, checkInQ, map[string]any{"id": suA.ID}), "VALIDATION_FAILED") // withdrawn
		s.MustOK(admin, checkInQ, map[string]any{"id": suB.ID}, nil)
		s.MustOK(admin, checkInQ, map[string]any{"id": suB.ID}, nil) // a retry
		s.Clock.Advance(9 * time.Hour)
		admin = s.LoginAdmin("donghua_admin").Access
		b = s.Reissue(parents[1]).Access
		s.MustOK(admin, checkOutQ, map[string]any{"id": suB.ID, "who": "妈妈 王芳"}, nil)
		seen := getSignUp(t, s, b, suB.ID)
		if len(seen.Attendance) != 1 || seen.Attendance[0].Day != "2026-07-01" || seen.Attendance[0].CheckedOutAt == nil ||
			seen.Attendance[0].PickedUpBy != "妈妈 王芳" {
			t.Fatalf("attendance the parent sees = %+v", seen.Attendance)
		}
		if seen.Child.EmergencyContactPhone != "13800001111" {
			t.Fatalf("a guardian sees the phone %q", seen.Child.EmergencyContactPhone)
		}

		// The host's admins see the child (masked phone); the read is audited.
		before := s.Count("audit_logs", "action = ?", "CHILDCARE_SIGNUP_READ")
		byAdmin := getSignUp(t, s, admin, suB.ID)
		if byAdmin.Child.Name != "李小明" || byAdmin.Child.EmergencyContactPhone != "138****1111" {
			t.Fatalf("admin view = %+v", byAdmin.Child)
		}
		if after := s.Count("audit_logs", "action = ?", "CHILDCARE_SIGNUP_READ"); after != before+1 {
			t.Fatalf("audit rows %d → %d", before, after)
		}
		var signUps struct {
			ChildcareSignUps struct {
				Edges []struct{ Node struct{ ID, Status string } }
			}
		}
		s.MustOK(admin, `query($p: ID!) { childcareSignUps(programId: $p, first: 10) { edges { node { id status child { name } parent { phone } } } } }`,
			map[string]any{"p": id}, &signUps)
		var statuses []string
		for _, e := range signUps.ChildcareSignUps.Edges {
			statuses = append(statuses, e.Node.Status)
		}
		if diff := cmp.Diff([]string{"WITHDRAWN", "ADMITTED"}, statuses); diff != "" {
			t.Fatalf("sign-up list (-want +got):\n%s", diff)
		}
		// Keyset pages: one at a time, in sign-up order.
		var pg struct {
			ChildcareSignUps struct {
				Edges    []struct{ Node struct{ ID string } }
				PageInfo struct {
					HasNextPage bool
					EndCursor   string
				}
			}
		}
		pageQ := `query($p: ID!, $a: String) { childcareSignUps(programId: $p, first: 1, after: $a) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`
		s.MustOK(admin, pageQ, map[string]any{"p": id}, &pg)
		if len(pg.ChildcareSignUps.Edges) != 1 || pg.ChildcareSignUps.Edges[0].Node.ID != suA.ID || !pg.ChildcareSignUps.PageInfo.HasNextPage {
			t.Fatalf("first page = %+v", pg)
		}
		s.MustOK(admin, pageQ, map[string]any{"p": id, "a": pg.ChildcareSignUps.PageInfo.EndCursor}, &pg)
		if len(pg.ChildcareSignUps.Edges) != 1 || pg.ChildcareSignUps.Edges[0].Node.ID != suB.ID || pg.ChildcareSignUps.PageInfo.HasNextPage {
			t.Fatalf("second page = %+v", pg)
		}
		var audit models.AuditLog
		if err := s.DB.Where("action = ?", "CHILDCARE_SIGNUPS_LIST").Order("id").Take(&audit).Error; err != nil ||
			audit.Detail != fmt.Sprintf("rows=2 children=%s,%s", childA, childB) {
			t.Fatalf("list audit = %+v, %v", audit, err)
		}

		// Another union's admin, and another parent, see nothing.
		other := s.LoginAdmin("rider_admin").Access
		testutil.WantCode(t, s.Do(other, signUpQ, map[string]any{"id": suB.ID}), "FORBIDDEN")
		testutil.WantCode(t, s.Do(other, `query($p: ID!) { childcareSignUps(programId: $p) { edges { node { id } } } }`, map[string]any{"p": id}), "FORBIDDEN")
		testutil.WantCode(t, s.Do(other, checkInQ, map[string]any{"id": suB.ID}), "FORBIDDEN")
		c = s.Reissue(parents[2]).Access
		testutil.WantCode(t, s.Do(c, signUpQ, map[string]any{"id": suB.ID}), "NOT_FOUND")
		if st, _ := s.Get(other, "/export/childcare-sign-ups?programId="+id); st != http.StatusForbidden {
			t.Fatalf("export by another union: %d", st)
		}

		// Export, masked; statistics of the subtree and of the city.
		st, body := s.Get(admin, "/export/childcare-sign-ups?programId="+id)
		if st != http.StatusOK || len(body) < 100 || string(body[:2]) != "PK" {
			t.Fatalf("export: %d %q", st, body[:min(len(body), 80)])
		}
		// The city's figures add the two demo programmes (in Xicheng, no sign-ups).
		for who, programs := range map[string]int{admin: 1, s.LoginAdmin("city_admin").Access: 3} {
			want := map[string]int{"programs": programs, "children": 2, "signUps": 2, "admitted": 1, "personDays": 1}
			var stats struct{ ChildcareStats map[string]int }
			s.MustOK(who, `{ childcareStats { programs children signUps admitted personDays } }`, nil, &stats)
			if diff := cmp.Diff(want, stats.ChildcareStats); diff != "" {
				t.Fatalf("stats (-want +got):\n%s", diff)
			}
		}
		var otherStats struct{ ChildcareStats map[string]int }
		s.MustOK(s.LoginAdmin("anxin_admin").Access, `{ childcareStats { programs personDays } }`, nil, &otherStats)
		if otherStats.ChildcareStats["programs"] != 0 {
			t.Fatalf("another subtree's stats = %v", otherStats)
		}
	})
}

// The owner invites a second guardian, who then sees and acts for the
// child; the code works once; only the owner invites.
func TestChildcareGuardians(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		ps := s.Members(3, "courier")
		mum, dad, stranger := ps[0].Access, ps[1].Access, ps[2].Access
		in := childInput("王小米", "")
		delete(in, "birthDate")
		delete(in, "gender")
		in["idNumber"] = "110105201803010020"
		var reg struct {
			RegisterChild struct {
				Child struct{ ID, BirthDate, Gender, IDNumber, MyRole string }
			}
		}
		s.MustOK(mum, registerChildQ, map[string]any{"in": in}, &reg)
		child := reg.RegisterChild.Child
		if child.BirthDate != "2018-03-01" || child.Gender != "FEMALE" || child.IDNumber != "110105201803010020" || child.MyRole != "OWNER" {
			t.Fatalf("registered = %+v", child)
		}
		var row models.Child
		s.DB.Take(&row, child.ID)
		if strings.Contains(string(row.IDCipher), "110105") || row.IDMask == "" || row.IDHash == nil {
			t.Fatalf("the ID number is not sealed: %+v", row)
		}
		// The same child registered again: ask for an invitation instead.
		r := s.Do(dad, registerChildQ, map[string]any{"in": in})
		testutil.WantCode(t, r, "ALREADY_EXISTS")

		inviteQ := `mutation($c: ID!) { inviteGuardian(input: {childId: $c}) { invitation { code expiresAt } } }`
		acceptQ := `mutation($code: String!) { acceptGuardianInvite(input: {code: $code}) { child { id myRole idNumber } } }`
		testutil.WantCode(t, s.Do(stranger, inviteQ, map[string]any{"c": child.ID}), "NOT_FOUND")
		var inv struct {
			InviteGuardian struct{ Invitation struct{ Code string } }
		}
		s.MustOK(mum, inviteQ, map[string]any{"c": child.ID}, &inv)
		code := inv.InviteGuardian.Invitation.Code
		var acc struct {
			AcceptGuardianInvite struct {
				Child struct{ ID, MyRole, IDNumber string }
			}
		}
		s.MustOK(dad, acceptQ, map[string]any{"code": code}, &acc)
		if acc.AcceptGuardianInvite.Child.MyRole != "GUARDIAN" || acc.AcceptGuardianInvite.Child.IDNumber != "110105201803010020" {
			t.Fatalf("accepted = %+v", acc)
		}
		s.MustOK(dad, acceptQ, map[string]any{"code": code}, nil) // a retry
		testutil.WantCode(t, s.Do(stranger, acceptQ, map[string]any{"code": code}), "NOT_FOUND")
		testutil.WantCode(t, s.Do(dad, inviteQ, map[string]any{"c": child.ID}), "FORBIDDEN") // only the owner invites
		var mine struct {
			MyChildren struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		s.MustOK(dad, `{ myChildren { edges { node { id } } } }`, nil, &mine)
		if len(mine.MyChildren.Edges) != 1 || mine.MyChildren.Edges[0].Node.ID != child.ID {
			t.Fatalf("dad's children = %+v", mine)
		}
		s.MustOK(stranger, `{ myChildren { edges { node { id } } } }`, nil, &mine)
		if len(mine.MyChildren.Edges) != 0 {
			t.Fatalf("a stranger's children = %+v", mine)
		}
		if n := s.Count("child_guardians", "child_id = ?", child.ID); n != 2 {
			t.Fatalf("%d guardians, want 2", n)
		}
		// The second guardian may sign the child up and the first withdraw it.
		admin := s.LoginAdmin("donghua_admin").Access
		id := publishedProgram(t, s, admin, programInput("FIRST_COME", 5, 0, nil))
		su := mustSignUp(t, s, dad, id, child.ID)
		s.MustOK(mum, withdrawQ, map[string]any{"id": su.ID}, nil)
		testutil.WantCode(t, s.Do(stranger, withdrawQ, map[string]any{"id": su.ID}), "NOT_FOUND")
	})
}

// Each bad input gets a coded error and changes nothing.
func TestChildcareBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		parent := s.Members(1, "courier")[0].Access
		id := publishedProgram(t, s, admin, programInput("PRIORITY", 5, 0, nil))
		child := registerChild(t, s, parent, childInput("张小雨", "2018-03-01"))
		su := mustSignUp(t, s, parent, id, child)
		if su.Status != "PENDING" {
			t.Fatalf("priority sign-up = %+v", su)
		}
		tables := []string{"childcare_programs", "children", "child_sign_ups", "child_attendance", "child_guardians"}
		snapshot := func() map[string]int64 {
			out := map[string]int64{}
			for _, tb := range tables {
				out[tb] = s.Count(tb, "")
			}
			var p models.ChildcareProgram
			s.DB.Take(&p, id)
			out["version"] = int64(p.Version)
			return out
		}
		before := snapshot()
		noNotes := childInput("李小明", "2017-09-10")
		delete(noNotes, "emergencyContactPhone")
		cases := []struct {
			name, who, query string
			vars             map[string]any
			code, field      string
		}{
			{"a child 20 years old", parent, registerChildQ, map[string]any{"in": childInput("王大宝", "2006-05-01")}, "VALIDATION_FAILED", "birthDate"},
			{"half an emergency contact", parent, registerChildQ, map[string]any{"in": noNotes}, "VALIDATION_FAILED", "emergencyContactPhone"},
			{"a bad ID number", parent, registerChildQ, map[string]any{"in": map[string]any{"name": "王大宝", "idNumber": "110105201803010025"}}, "VALIDATION_FAILED", "idNumber"},
			{"a window in the past", admin, createProgramQ, map[string]any{"in": programInput("LOTTERY", 5, 0,
				map[string]any{"signUpOpensAt": testutil.RFC(testutil.Epoch.Add(-48 * time.Hour)), "signUpClosesAt": testutil.RFC(testutil.Epoch.Add(-time.Hour))})}, "VALIDATION_FAILED", "signUpClosesAt"},
			{"an age range of adults", admin, createProgramQ, map[string]any{"in": programInput("LOTTERY", 5, 0, map[string]any{"childMaxAge": 20})}, "VALIDATION_FAILED", "childMaxAge"},
			{"hours backwards", admin, createProgramQ, map[string]any{"in": programInput("LOTTERY", 5, 0, map[string]any{"dailyEnd": "07:00"})}, "VALIDATION_FAILED", "dailyEnd"},
			{"an unknown programme", parent, signUpChildQ, map[string]any{"p": "999999", "c": child}, "NOT_FOUND", ""},
			{"an unknown child", parent, signUpChildQ, map[string]any{"p": id, "c": "999999"}, "NOT_FOUND", ""},
			{"check-in of a child not admitted", admin, checkInQ, map[string]any{"id": su.ID}, "VALIDATION_FAILED", "signUpId"},
			{"check-out without a check-in", admin, checkOutQ, map[string]any{"id": su.ID, "who": "妈妈"}, "VALIDATION_FAILED", "signUpId"},
			{"a stale version", admin, `mutation($id: ID!) { updateChildcareProgram(input: {id: $id, version: 99, capacity: 9}) { childcareProgram { id } } }`,
				map[string]any{"id": id}, "CONFLICT", ""},
			{"a mode change after publication", admin, `mutation($id: ID!) { updateChildcareProgram(input: {id: $id, version: 2, admissionMode: LOTTERY}) { childcareProgram { id } } }`,
				map[string]any{"id": id}, "VALIDATION_FAILED", "admissionMode"},
			{"a parent calling an admin operation", parent, runAllocQ, map[string]any{"id": id}, "FORBIDDEN", ""},
			{"a host outside the admin's subtree", admin, createProgramQ, map[string]any{"in": programInput("LOTTERY", 5, 0,
				map[string]any{"unionId": s.UnionID("xihu")})}, "FORBIDDEN", ""},
			{"another union's admin cancelling", s.LoginAdmin("xihu_admin").Access, `mutation($id: ID!) { cancelChildcareProgram(input: {id: $id, reason: "场地维修"}) { childcareProgram { id } } }`,
				map[string]any{"id": id}, "FORBIDDEN", ""},
		}
		for _, c := range cases {
			r := s.Do(c.who, c.query, c.vars)
			if r.Code() != c.code || r.Field() != c.field || len(r.Errors) == 0 || r.Errors[0].Message == "" {
				t.Errorf("%s: code %q field %q (%+v), want %s %q", c.name, r.Code(), r.Field(), r.Errors, c.code, c.field)
			}
		}
		if diff := cmp.Diff(before, snapshot()); diff != "" {
			t.Fatalf("bad input changed the database (-before +after):\n%s", diff)
		}

		// The age rule, with its reason, on sign-up itself.
		old := registerChild(t, s, parent, childInput("陈大大", "2012-06-01")) // 14 on the first day
		_, r := signUp(t, s, parent, id, old)
		testutil.WantCode(t, r, "NOT_ELIGIBLE")
		if !strings.Contains(r.Errors[0].Message, "14 周岁") {
			t.Fatalf("reason = %q", r.Errors[0].Message)
		}
		// One active sign-up per child per programme is a unique index, not
		// only code.
		dup := models.ChildSignUp{ProgramID: testutil.MustID(t, id), ChildID: testutil.MustID(t, child), MemberID: testutil.MustID(t, s.Members(1, "courier")[0].ID),
			Status: models.ChildSignUpPending, Active: testutil.Ptr(true), PriorityRank: 1, CreatedAt: s.Clock.Now(), UpdatedAt: s.Clock.Now()}
		if err := s.DB.Create(&dup).Error; !store.IsDuplicate(err) {
			t.Fatalf("second active sign-up of one child: %v", err)
		}
		// Calling the programme off cancels the sign-up with the reason.
		s.MustOK(admin, `mutation($id: ID!) { cancelChildcareProgram(input: {id: $id, reason: "场地维修"}) { childcareProgram { status } } }`,
			map[string]any{"id": id}, nil)
		if got := getSignUp(t, s, parent, su.ID); got.Status != "CANCELLED" || !strings.Contains(got.RejectReason, "场地维修") {
			t.Fatalf("after cancellation = %+v", got)
		}
	})
}

// An admin edits a published programme: a stale version is CONFLICT, more
// places admit from the waitlist at once, fewer than admitted is refused.
func TestChildcareUpdateProgram(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := publishedProgram(t, s, admin, programInput("FIRST_COME", 1, 2, nil))
		parents := s.Members(3, "courier")
		var sus []childSignUp
		for i, p := range parents {
			sus = append(sus, mustSignUp(t, s, p.Access, id, registerChild(t, s, p.Access, childInput("孩子"+string(rune(0x4e00+i)), "2018-03-01"))))
		}
		updateQ := `mutation($id: ID!, $v: Int!, $c: Int) { updateChildcareProgram(input: {id: $id, version: $v, capacity: $c, place: "职工之家 3 楼"}) {
			childcareProgram { version capacity admittedCount waitlistCount place } } }`
		var out struct {
			UpdateChildcareProgram struct {
				ChildcareProgram struct {
					Version, Capacity, AdmittedCount, WaitlistCount int
					Place                                           string
				}
			}
		}
		s.MustOK(admin, updateQ, map[string]any{"id": id, "v": 2, "c": 2}, &out)
		got := out.UpdateChildcareProgram.ChildcareProgram
		if got.Version != 3 || got.Capacity != 2 || got.AdmittedCount != 2 || got.WaitlistCount != 1 || got.Place != "职工之家 3 楼" {
			t.Fatalf("after growing = %+v", got)
		}
		if su := getSignUp(t, s, parents[1].Access, sus[1].ID); su.Status != "ADMITTED" || su.PromotedAt == nil {
			t.Fatalf("the waitlist head = %+v", su)
		}
		testutil.WantCode(t, s.Do(admin, updateQ, map[string]any{"id": id, "v": 2, "c": 3}), "CONFLICT")
		r := s.Do(admin, updateQ, map[string]any{"id": id, "v": 3, "c": 1})
		if r.Code() != "VALIDATION_FAILED" || r.Field() != "capacity" {
			t.Fatalf("shrinking below the admitted: %+v", r.Errors)
		}
	})
}
