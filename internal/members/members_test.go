package members_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"unionhall/internal/pii"
	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

const bindQ = `mutation($in: BindProfileInput!) { bindProfile(input: $in) { member { id realName idNumber phone birthDate gender status union { id } } } }`

// idFor makes a valid synthetic ID number; n tells them apart.
func idFor(n int) string {
	return pii.MakeIDNumber("320102", time.Date(1980+n%20, time.Month(1+n%12), 1+n%28, 0, 0, 0, 0, time.UTC), n)
}

func bindVars(name, id, phone, unionID string) map[string]any {
	return map[string]any{"in": map[string]any{
		"realName": name, "idNumber": id, "phone": phone, "employmentForm": "COURIER",
		"occupation": "快递员", "unionId": unionID,
	}}
}

type boundMember struct {
	ID, RealName, Status, BirthDate, Gender string
	IDNumber, Phone                         *string
	Union                                   *struct{ ID string }
}

// bindMember logs a new member in and binds them to a demo union.
func bindMember(t *testing.T, s *testutil.Server, login, name string, n int, unionKey string) (testutil.Tokens, boundMember) {
	t.Helper()
	tok := s.LoginMember(login)
	var out struct{ BindProfile struct{ Member boundMember } }
	s.MustOK(tok.Access, bindQ, bindVars(name, idFor(n), fmt.Sprintf("138%08d", n), s.UnionID(unionKey)), &out)
	return tok, out.BindProfile.Member
}

func TestBindProfile(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		id := pii.MakeIDNumber("110105", time.Date(1990, 3, 7, 0, 0, 0, 0, time.UTC), 123)
		tok, m := bindMember(t, s, "ivan", "李明", 0, "courier")
		_ = m
		var out struct{ BindProfile struct{ Member boundMember } }
		s.MustOK(tok.Access, bindQ, bindVars("李明", id, "+86 138-1234-5678", s.UnionID("courier")), &out)
		got := out.BindProfile.Member
		if got.Status != "PENDING" || got.BirthDate != "1990-03-07" || got.Gender != "MALE" ||
			*got.IDNumber != id || *got.Phone != "13812345678" || got.Union.ID != s.UnionID("courier") {
			t.Fatalf("bound member = %+v", got)
		}
		// An admin sees masks, never the numbers.
		admin := s.LoginAdmin("courier_admin")
		var am struct{ Member boundMember }
		s.MustOK(admin.Access, `query($id: ID!) { member(id: $id) { id realName idNumber phone status } }`, map[string]any{"id": got.ID}, &am)
		if *am.Member.Phone != "138****5678" || *am.Member.IDNumber != pii.MaskIDNumber(id) || strings.Contains(*am.Member.IDNumber, id[6:14]) {
			t.Fatalf("admin saw %+v", am.Member)
		}
		// Stored sealed: the plain number is nowhere in the row.
		var row models.Member
		s.DB.First(&row, got.ID)
		if bytes.Contains(row.IDCipher, []byte(id)) || row.IDHash == nil || *row.IDHash == id {
			t.Fatal("ID number stored in the clear")
		}
	})
}

func TestBindProfileRejectsBadInputAndStoresNothing(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		tok := s.LoginMember("judy")
		good := idFor(7)
		bad := good[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", good[17])+1)%11])
		cases := []struct {
			name, realName, id, phone, union, field string
		}{
			{"checksum", "王小明", bad, "13800000000", s.UnionID("rider"), "idNumber"},
			{"short id", "王小明", "11010519491231", "13800000000", s.UnionID("rider"), "idNumber"},
			{"mobile", "王小明", good, "12345", s.UnionID("rider"), "phone"},
			{"landline", "王小明", good, "010-88886666", s.UnionID("rider"), "phone"},
			{"long name", strings.Repeat("王", 31), good, "13800000000", s.UnionID("rider"), "realName"},
			{"digits in name", "王123", good, "13800000000", s.UnionID("rider"), "realName"},
			{"empty name", "  ", good, "13800000000", s.UnionID("rider"), "realName"},
			{"unknown union", "王小明", good, "13800000000", "999999", "unionId"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := s.Do(tok.Access, bindQ, bindVars(tc.realName, tc.id, tc.phone, tc.union))
				if r.Code() != "VALIDATION_FAILED" || r.Field() != tc.field {
					t.Fatalf("got %s field %q (%+v), want VALIDATION_FAILED %q", r.Code(), r.Field(), r.Errors, tc.field)
				}
				if !containsHan(r.Errors[0].Message) {
					t.Fatalf("message not for a member: %q", r.Errors[0].Message)
				}
			})
		}
		long := bindVars("王小明", good, "13800000000", s.UnionID("rider"))
		long["in"].(map[string]any)["occupation"] = strings.Repeat("职", 51)
		if r := s.Do(tok.Access, bindQ, long); r.Code() != "VALIDATION_FAILED" || r.Field() != "occupation" {
			t.Fatalf("long occupation: %+v", r.Errors)
		}
		var me struct{ Me boundMember }
		s.MustOK(tok.Access, `{ me { id realName status idNumber phone } }`, nil, &me)
		if me.Me.Status != "UNBOUND" || me.Me.RealName != "" || me.Me.IDNumber != nil || me.Me.Phone != nil {
			t.Fatalf("a refused bind stored something: %+v", me.Me)
		}
	})
}

func containsHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

func TestOneMemberPerIDNumber(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		bindMember(t, s, "kim", "金一", 11, "rider")
		other := s.LoginMember("lee")
		r := s.Do(other.Access, bindQ, bindVars("金一", idFor(11), "13900000011", s.UnionID("rider")))
		if r.Code() != "ALREADY_EXISTS" || r.Field() != "idNumber" {
			t.Fatalf("second account with the same ID: %+v", r.Errors)
		}
		// Racing binds of one ID number by many accounts: exactly one wins.
		const n = 12
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[string]int{}
		for i := range n {
			tok := s.LoginMember(fmt.Sprintf("racer%d", i))
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := s.Try(tok.Access, bindQ, bindVars("赛跑", idFor(99), "13900000099", s.UnionID("rider")))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				codes[r.Code()]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if diff := cmp.Diff(map[string]int{"": 1, "ALREADY_EXISTS": n - 1}, codes); diff != "" {
			t.Fatalf("racing binds (-want +got):\n%s", diff)
		}
	})
}

const membersQ = `query($f: MemberFilter, $first: Int, $after: String) {
  members(filter: $f, first: $first, after: $after) { edges { cursor node { id realName status phone union { id } } } pageInfo { hasNextPage endCursor } }
}`

type membersOut struct {
	Members struct {
		Edges []struct {
			Node struct {
				ID, RealName, Status string
				Phone                *string
				Union                struct{ ID string }
			}
		}
		PageInfo struct {
			HasNextPage bool
			EndCursor   *string
		}
	}
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		_, west := bindMember(t, s, "west", "西一", 21, "rider")   // 西城 → 西湖街道 → 骑手联合工会
		_, east := bindMember(t, s, "east", "东一", 22, "courier") // 东城 → 东华街道 → 快递员联合工会
		dong := s.LoginAdmin("dongcheng_admin")

		var list membersOut
		s.MustOK(dong.Access, membersQ, map[string]any{"first": 100}, &list)
		eastUnions := map[string]bool{}
		for _, k := range []string{"dongcheng", "donghua", "shunda", "courier", "transport"} {
			eastUnions[s.UnionID(k)] = true
		}
		sawEast := false
		for _, e := range list.Members.Edges {
			if !eastUnions[e.Node.Union.ID] {
				t.Fatalf("district admin listed a member of union %s", e.Node.Union.ID)
			}
			sawEast = sawEast || e.Node.ID == east.ID
			if e.Node.Phone != nil && !strings.Contains(*e.Node.Phone, "****") {
				t.Fatalf("unmasked phone in admin list: %s", *e.Node.Phone)
			}
		}
		if !sawEast {
			t.Fatal("district admin does not see their own member")
		}

		forbidden := []struct {
			name, q string
			vars    map[string]any
		}{
			{"list other union", membersQ, map[string]any{"f": map[string]any{"unionId": s.UnionID("xicheng")}}},
			{"read other member", `query($id: ID!) { member(id: $id) { id realName } }`, map[string]any{"id": west.ID}},
			{"read missing member", `query($id: ID!) { member(id: $id) { id } }`, map[string]any{"id": "987654"}},
			{"verify other member", `mutation($id: ID!) { verifyMember(input: {memberId: $id}) { member { status } } }`, map[string]any{"id": west.ID}},
			{"reject other member", `mutation($id: ID!) { rejectMember(input: {memberId: $id, reason: "不符合条件"}) { member { status } } }`, map[string]any{"id": west.ID}},
			{"create union elsewhere", `mutation($p: ID!) { createUnion(input: {parentId: $p, name: "新工会", level: GRASSROOTS, kind: ENTERPRISE}) { union { id } } }`, map[string]any{"p": s.UnionID("xihu")}},
			{"create admin elsewhere", `mutation($u: ID!) { createAdmin(input: {username: "sneaky", password: "long-enough-pw", displayName: "x", unionId: $u}) { admin { id } } }`, map[string]any{"u": s.UnionID("xihu")}},
			{"create super admin", `mutation($u: ID!) { createAdmin(input: {username: "sneaky2", password: "long-enough-pw", displayName: "x", unionId: $u, role: SUPER_ADMIN}) { admin { id } } }`, map[string]any{"u": s.UnionID("dongcheng")}},
			{"audit log", `{ auditLogs { edges { node { id } } } }`, nil},
		}
		for _, tc := range forbidden {
			t.Run(tc.name, func(t *testing.T) {
				r := s.Do(dong.Access, tc.q, tc.vars)
				if r.Code() != "FORBIDDEN" || strings.Contains(string(r.Data), "西一") || strings.Contains(string(r.Data), "id\":\"") {
					t.Fatalf("got %s %s", r.Code(), r.Data)
				}
			})
		}
		var m models.Member
		s.DB.First(&m, west.ID)
		if m.Status != models.MembershipPending {
			t.Fatalf("a refused verify changed the member: %s", m.Status)
		}
		var admins int64
		s.DB.Model(&models.Admin{}).Where("username LIKE ?", "sneaky%").Count(&admins)
		if admins != 0 {
			t.Fatal("a refused createAdmin stored an admin")
		}
		// The city's super admin reaches both.
		city := s.LoginAdmin("city_admin")
		s.MustOK(city.Access, `mutation($id: ID!) { verifyMember(input: {memberId: $id}) { member { status } } }`, map[string]any{"id": west.ID}, nil)
	})
}

// A member can read only themself.
func TestMemberCannotReadOthers(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		tok, _ := bindMember(t, s, "mallory", "马力", 31, "courier")
		_, victim := bindMember(t, s, "victim", "受害", 32, "courier")
		for _, q := range []string{
			`query($id: ID!) { member(id: $id) { realName phone idNumber } }`,
			`{ members { edges { node { realName } } } }`,
			`{ admins { edges { node { username } } } }`,
			`{ currentAdmin { id } }`,
		} {
			r := s.Do(tok.Access, q, map[string]any{"id": victim.ID})
			if r.Code() != "FORBIDDEN" || strings.Contains(string(r.Data), "受害") {
				t.Fatalf("%s: %s %s", q, r.Code(), r.Data)
			}
		}
		if r := s.Do("", `{ me { id } }`, nil); r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("anonymous me: %s", r.Code())
		}
	})
}

func TestReviewAndAudit(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		mtok, m := bindMember(t, s, "nina", "倪娜", 41, "shunda")
		admin := s.LoginAdmin("donghua_admin") // the street above the enterprise union
		reject := `mutation($id: ID!, $r: String!) { rejectMember(input: {memberId: $id, reason: $r}) { member { status rejectReason } } }`
		if r := s.Do(admin.Access, reject, map[string]any{"id": m.ID, "r": " "}); r.Code() != "VALIDATION_FAILED" || r.Field() != "reason" {
			t.Fatalf("empty reason: %+v", r.Errors)
		}
		s.MustOK(admin.Access, reject, map[string]any{"id": m.ID, "r": "单位信息不符"}, nil)
		var me struct {
			Me struct{ Status, RejectReason string }
		}
		s.MustOK(mtok.Access, `{ me { status rejectReason } }`, nil, &me)
		if me.Me.Status != "REJECTED" || me.Me.RejectReason != "单位信息不符" {
			t.Fatalf("member sees %+v", me.Me)
		}
		verify := `mutation($id: ID!) { verifyMember(input: {memberId: $id}) { member { status verifiedAt } } }`
		s.MustOK(admin.Access, verify, map[string]any{"id": m.ID}, nil)
		s.MustOK(admin.Access, verify, map[string]any{"id": m.ID}, nil) // a retry is fine
		unbound := s.LoginMember("unbound")
		city := s.LoginAdmin("city_admin")
		if r := s.Do(city.Access, verify, map[string]any{"id": unbound.ID}); r.Code() != "VALIDATION_FAILED" {
			t.Fatalf("verify unbound: %+v", r.Errors)
		}
		s.MustOK(admin.Access, membersQ, nil, nil)
		s.MustOK(admin.Access, `query($id: ID!) { member(id: $id) { id } }`, map[string]any{"id": m.ID}, nil)

		var logs struct {
			AuditLogs struct {
				Edges []struct {
					Node struct {
						Action, TargetKind, Detail string
						Admin                      struct{ Username string }
					}
				}
			}
		}
		s.MustOK(city.Access, `{ auditLogs(first: 50) { edges { node { action targetKind detail admin { username } } } } }`, nil, &logs)
		var got []string
		for _, e := range logs.AuditLogs.Edges {
			if e.Node.Admin.Username == "donghua_admin" {
				got = append(got, e.Node.Action)
			}
			if strings.Contains(e.Node.Detail, "倪娜") {
				t.Fatal("personal data in the audit detail")
			}
		}
		want := []string{"MEMBER_READ", "MEMBER_LIST", "MEMBER_VERIFY", "MEMBER_REJECT"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("audit trail (-want +got):\n%s", diff)
		}
	})
}

func TestMembersPagination(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		city := s.LoginAdmin("city_admin")
		var all membersOut
		s.MustOK(city.Access, membersQ, map[string]any{"first": 100}, &all)
		if len(all.Members.Edges) < 15 || all.Members.PageInfo.HasNextPage {
			t.Fatalf("one page of everything: %d rows, more=%v", len(all.Members.Edges), all.Members.PageInfo.HasNextPage)
		}
		var ids []string
		var after *string
		for pages := 0; ; pages++ {
			var p membersOut
			s.MustOK(city.Access, membersQ, map[string]any{"first": 4, "after": after}, &p)
			for _, e := range p.Members.Edges {
				ids = append(ids, e.Node.ID)
			}
			if !p.Members.PageInfo.HasNextPage {
				break
			}
			after = p.Members.PageInfo.EndCursor
			if pages > 50 {
				t.Fatal("pagination does not end")
			}
		}
		var want []string
		for _, e := range all.Members.Edges {
			want = append(want, e.Node.ID)
		}
		if diff := cmp.Diff(want, ids); diff != "" {
			t.Fatalf("paged ids differ from one page (-want +got):\n%s", diff)
		}
		var verified membersOut
		s.MustOK(city.Access, membersQ, map[string]any{"f": map[string]any{"status": "REJECTED"}}, &verified)
		for _, e := range verified.Members.Edges {
			if e.Node.Status != "REJECTED" {
				t.Fatalf("status filter returned %s", e.Node.Status)
			}
		}
		var byName membersOut
		s.MustOK(city.Access, membersQ, map[string]any{"f": map[string]any{"name": "张"}}, &byName)
		if len(byName.Members.Edges) != 1 || byName.Members.Edges[0].Node.RealName != "张伟" {
			t.Fatalf("name filter: %+v", byName.Members.Edges)
		}
		var wild membersOut
		s.MustOK(city.Access, membersQ, map[string]any{"f": map[string]any{"name": "%"}}, &wild)
		if len(wild.Members.Edges) != 0 {
			t.Fatal("a % in the name filter matched as a wildcard")
		}
	})
}

func rosterXLSX(t *testing.T, rows [][]string) []byte {
	t.Helper()
	f := excelize.NewFile()
	for i, r := range rows {
		for j, v := range r {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			_ = f.SetCellStr("Sheet1", cell, v)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRosterImport(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		pendingTok, pending := bindMember(t, s, "olga", "欧佳", 51, "courier")
		file := rosterXLSX(t, [][]string{
			{"序号", "姓名", "身份证号码"},
			{"1", "欧佳", idFor(51)},            // bound and pending → verified
			{"2", "潘新", idFor(52)},            // not yet a member → imported
			{"3", "错号", idFor(53)[:17] + "Z"}, // bad ID → error
			{"4", "潘新", idFor(52)},            // duplicate row → error
		})
		admin := s.LoginAdmin("courier_admin")
		status, up := s.Upload(admin.Access, "ROSTER", "花名册.xlsx", file)
		if status != 200 {
			t.Fatalf("upload: %d %v", status, up)
		}
		imp := `mutation($u: ID!, $f: String!) { importRoster(input: {unionId: $u, fileId: $f}) { imported matched failed rows { row status name message } } }`
		var out struct {
			ImportRoster struct {
				Imported, Matched, Failed int
				Rows                      []struct {
					Row                   int
					Status, Name, Message string
				}
			}
		}
		s.MustOK(admin.Access, imp, map[string]any{"u": s.UnionID("courier"), "f": up["id"]}, &out)
		res := out.ImportRoster
		if res.Imported != 1 || res.Matched != 1 || res.Failed != 2 {
			t.Fatalf("import result %+v", res)
		}
		var statuses []string
		for _, r := range res.Rows {
			statuses = append(statuses, fmt.Sprintf("%d:%s:%s", r.Row, r.Status, r.Name))
		}
		if diff := cmp.Diff([]string{"2:MATCHED:欧*", "3:IMPORTED:潘*", "4:ERROR:错*", "5:ERROR:潘*"}, statuses); diff != "" {
			t.Fatalf("rows (-want +got):\n%s", diff)
		}
		var me struct{ Me struct{ Status string } }
		s.MustOK(pendingTok.Access, `{ me { status } }`, nil, &me)
		if me.Me.Status != "VERIFIED" {
			t.Fatalf("matched member is %s", me.Me.Status)
		}
		_ = pending
		// A later binder on the roster is verified at once.
		_, later := bindMember(t, s, "pan", "潘新", 52, "courier")
		if later.Status != "VERIFIED" {
			t.Fatalf("roster binder is %s", later.Status)
		}
		// Someone else's upload, another union, and a member's upload are refused.
		other := s.LoginAdmin("rider_admin")
		if r := s.Do(other.Access, imp, map[string]any{"u": s.UnionID("rider"), "f": up["id"]}); r.Code() != "VALIDATION_FAILED" {
			t.Fatalf("import of someone else's file: %+v", r.Errors)
		}
		if r := s.Do(admin.Access, imp, map[string]any{"u": s.UnionID("rider"), "f": up["id"]}); r.Code() != "FORBIDDEN" {
			t.Fatalf("import into another union: %+v", r.Errors)
		}
		if st, _ := s.Upload(pendingTok.Access, "ROSTER", "x.xlsx", file); st != 403 {
			t.Fatalf("member uploading a roster: %d", st)
		}
		if st, body := s.Upload(admin.Access, "ROSTER", "x.xlsx", []byte("not a spreadsheet at all")); st != 400 {
			t.Fatalf("text as roster: %d %v", st, body)
		}
	})
}
