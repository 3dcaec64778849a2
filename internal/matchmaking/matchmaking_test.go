package matchmaking_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"unionhall/internal/allocation"
	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

const (
	createMatchQ   = `mutation($in: CreateMatchEventInput!) { createMatchEvent(input: $in) { matchEvent { id version status checkinCode } } }`
	updateMatchQ   = `mutation($in: UpdateMatchEventInput!) { updateMatchEvent(input: $in) { matchEvent { id version quotas { gender capacity confirmedCount } } } }`
	publishMatchQ  = `mutation($id: ID!) { publishMatchEvent(input: {id: $id}) { matchEvent { id status } } }`
	declareQ       = `mutation($single: Boolean!) { declareSingle(input: {single: $single}) { profile { single singleDeclaredAt } } }`
	profileQ       = `mutation($in: MatchProfileInput!) { updateMatchProfile(input: $in) { profile { nickname birthYear heightCm wechatId } } }`
	myProfileQ     = `{ myMatchProfile { single nickname birthYear heightCm intro wechatId } }`
	signUpMatchQ   = `mutation($e: ID!) { signUpMatchEvent(input: {eventId: $e}) { signUp { id status } } }`
	withdrawMatchQ = `mutation($e: ID!) { withdrawMatchSignUp(input: {eventId: $e}) { signUp { id status } } }`
	selectMatchQ   = `mutation($e: ID!, $ids: [ID!]!) { selectMatchParticipants(input: {eventId: $e, signUpIds: $ids}) { signUps { id status } } }`
	checkInMatchQ  = `mutation($e: ID!, $code: String!) { checkInMatchEvent(input: {eventId: $e, code: $code}) { signUp { status checkedInAt } } }`
	participantsQ  = `query($e: ID!) { matchEventParticipants(eventId: $e) { id gender pickedByMe profile { nickname birthYear heightCm education occupation district hobbies intro photoFileId } } }`
	pickQ          = `mutation($e: ID!, $p: ID!) { pickParticipant(input: {eventId: $e, participantId: $p}) { ok } }`
	unpickQ        = `mutation($e: ID!, $p: ID!) { withdrawPick(input: {eventId: $e, participantId: $p}) { ok } }`
	blockQ         = `mutation($e: ID!, $p: ID!) { blockParticipant(input: {eventId: $e, participantId: $p}) { ok } }`
	reportQ        = `mutation($e: ID!, $p: ID!, $r: String!) { reportParticipant(input: {eventId: $e, participantId: $p, reason: $r}) { ok } }`
	myMatchesQ     = `{ myMatches { eventId nickname mobile wechatId } }`
	matchStatsQ    = `query($e: ID, $u: ID) { matchStats(eventId: $e, unionId: $u) { events signUps selected attended matches } }`
)

// matchInput is a valid event: sign-up open from the epoch for a day, the
// event on day 2 from 14:00 to 17:00, picks until day 4.
func matchInput(mode string, male, female int, extra map[string]any) map[string]any {
	in := map[string]any{
		"title": "七夕职工联谊会", "description": "破冰游戏、自由交流", "place": "东华街道职工之家",
		"startsAt": testutil.RFC(testutil.At(2, "14:00")), "endsAt": testutil.RFC(testutil.At(2, "17:00")), "pickClosesAt": testutil.RFC(testutil.At(4, "20:00")),
		"signUpOpensAt": testutil.RFC(testutil.Epoch), "signUpClosesAt": testutil.RFC(testutil.At(1, "18:00")),
		"maleCapacity": male, "femaleCapacity": female, "minAge": 22, "maxAge": 40, "selectionMode": mode, "maxPicks": 2,
	}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

type matchEventRef struct{ ID, Code string }

func publishedMatch(t *testing.T, s *testutil.Server, admin string, in map[string]any) matchEventRef {
	t.Helper()
	var out struct {
		CreateMatchEvent struct {
			MatchEvent struct {
				ID, Status  string
				CheckinCode string
			}
		}
	}
	s.MustOK(admin, createMatchQ, map[string]any{"in": in}, &out)
	e := out.CreateMatchEvent.MatchEvent
	s.MustOK(admin, publishMatchQ, map[string]any{"id": e.ID}, nil)
	return matchEventRef{e.ID, e.CheckinCode}
}

// singles creates n verified members of unionKey who declared themselves
// single, the first half male and the rest female (declaring is tested
// through GraphQL in TestMatchEligibility).
func singles(t testing.TB, s *testutil.Server, n int, unionKey string) []testutil.Tokens {
	t.Helper()
	toks := s.Members(n, unionKey, func(i int, m *models.Member) {
		if i >= n/2 {
			m.Gender = models.GenderFemale
		}
	})
	now := s.Clock.Now()
	profs := make([]*models.MatchProfile, n)
	for i, tk := range toks {
		var id int64
		fmt.Sscan(tk.ID, &id)
		profs[i] = &models.MatchProfile{MemberID: id, SingleDeclaredAt: &now, Nickname: fmt.Sprintf("昵称%d", i),
			WechatID: fmt.Sprintf("wx_%d", id), CreatedAt: now, UpdatedAt: now}
	}
	if err := s.DB.CreateInBatches(profs, 500).Error; err != nil {
		t.Fatal(err)
	}
	return toks
}

// 1,000 singles (half of each gender) rush a first-come event of 30 men and
// 20 women across two instances: each gender's quota holds exactly.
func TestMatchQuotasHoldUnderRush(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		n := 1000
		if d == store.SQLite {
			n = 300 // the rule is the same; the race detector makes SQLite slow
		}
		s1 := testutil.NewServer(t, d)
		s2 := testutil.NewServerOn(t, s1.DB)
		admin := s1.LoginAdmin("donghua_admin").Access
		ev := publishedMatch(t, s1, admin, matchInput("FIRST_COME", 30, 20, nil))
		s1.Clock.Set(testutil.Epoch.Add(time.Minute))
		s2.Clock.Set(s1.Clock.Now())
		people := singles(t, s1, n, "courier")
		servers := []*testutil.Server{s1, s2}
		outcomes := make([]string, n)
		testutil.Race(n, 128, func(i int) {
			r, err := servers[i%2].Try(people[i].Access, signUpMatchQ, map[string]any{"e": ev.ID})
			switch {
			case err != nil:
				outcomes[i] = "TRANSPORT " + err.Error()
			case len(r.Errors) > 0:
				outcomes[i] = r.Code()
			default:
				var out struct {
					SignUpMatchEvent struct{ SignUp struct{ Status string } }
				}
				if jerr := json.Unmarshal(r.Data, &out); jerr != nil {
					outcomes[i] = "DECODE " + jerr.Error()
					return
				}
				outcomes[i] = out.SignUpMatchEvent.SignUp.Status
			}
		})
		men, women := map[string]int{}, map[string]int{}
		for i, o := range outcomes {
			if i < n/2 {
				men[o]++
			} else {
				women[o]++
			}
		}
		if men["CONFIRMED"] != 30 || men["FULL"] != n/2-30 || len(men) != 2 {
			t.Errorf("men: %v, want 30 CONFIRMED and the rest FULL", men)
		}
		if women["CONFIRMED"] != 20 || women["FULL"] != n/2-20 || len(women) != 2 {
			t.Errorf("women: %v, want 20 CONFIRMED and the rest FULL", women)
		}
		var rows []struct {
			Gender string
			Held   int
			Count  int
		}
		s1.DB.Raw(`SELECT q.gender, q.confirmed_count AS count, (SELECT COUNT(*) FROM match_sign_ups s WHERE s.quota_id = q.id AND s.status = 'CONFIRMED') AS held
			FROM match_quotas q WHERE q.event_id = ? ORDER BY q.gender`, ev.ID).Scan(&rows)
		want := map[string]int{"FEMALE": 20, "MALE": 30}
		for _, r := range rows {
			if r.Held != want[r.Gender] || r.Count != want[r.Gender] {
				t.Errorf("%s: %d confirmed rows, counter %d, want %d", r.Gender, r.Held, r.Count, want[r.Gender])
			}
		}
		// A retry returns the same sign-up.
		first := s1.Do(people[0].Access, signUpMatchQ, map[string]any{"e": ev.ID})
		again := s2.Do(people[0].Access, signUpMatchQ, map[string]any{"e": ev.ID})
		if string(first.Data) != string(again.Data) {
			t.Errorf("retry: %s then %s", first.Data, again.Data)
		}
	})
}

// Only singles of the event's age range sign up; the reason is shown; bad
// profile input is refused with the field and changes nothing.
func TestMatchEligibility(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		ev := publishedMatch(t, s, admin, matchInput("FIRST_COME", 5, 5, nil))
		s.Clock.Set(testutil.Epoch.Add(time.Minute))
		m := s.Members(1, "courier")[0]
		old := s.Members(1, "courier", func(_ int, m *models.Member) {
			b := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
			m.BirthDate = &b
		})[0]

		r := s.Do(m.Access, signUpMatchQ, map[string]any{"e": ev.ID})
		if r.Code() != "NOT_ELIGIBLE" || !strings.Contains(r.Errors[0].Message, "单身") {
			t.Fatalf("not single: %s", testutil.Dump(r))
		}
		var dec struct {
			DeclareSingle struct{ Profile struct{ Single bool } }
		}
		s.MustOK(m.Access, declareQ, map[string]any{"single": true}, &dec)
		s.MustOK(old.Access, declareQ, map[string]any{"single": true}, nil)
		if !dec.DeclareSingle.Profile.Single {
			t.Fatal("declared, not single")
		}
		r = s.Do(old.Access, signUpMatchQ, map[string]any{"e": ev.ID})
		if r.Code() != "NOT_ELIGIBLE" || !strings.Contains(r.Errors[0].Message, "年龄") {
			t.Fatalf("too old: %s", testutil.Dump(r))
		}

		// Withdrawing the declaration: not single again; the trail keeps both.
		s.MustOK(m.Access, declareQ, map[string]any{"single": false}, nil)
		if r := s.Do(m.Access, signUpMatchQ, map[string]any{"e": ev.ID}); r.Code() != "NOT_ELIGIBLE" {
			t.Fatalf("withdrawn declaration: %s", testutil.Dump(r))
		}
		s.MustOK(m.Access, declareQ, map[string]any{"single": true}, nil)
		var trail int64
		s.DB.Model(&models.MatchSingleDeclaration{}).Where("member_id = ?", m.ID).Count(&trail)
		if trail != 3 {
			t.Errorf("declaration trail: %d entries, want 3", trail)
		}
		var su struct {
			SignUpMatchEvent struct{ SignUp struct{ Status string } }
		}
		s.MustOK(m.Access, signUpMatchQ, map[string]any{"e": ev.ID}, &su)
		if su.SignUpMatchEvent.SignUp.Status != "CONFIRMED" {
			t.Fatalf("eligible: %+v", su)
		}
		// Withdrawing frees the seat; signing up again takes it.
		var wd struct {
			WithdrawMatchSignUp struct{ SignUp struct{ Status string } }
		}
		s.MustOK(m.Access, withdrawMatchQ, map[string]any{"e": ev.ID}, &wd)
		if wd.WithdrawMatchSignUp.SignUp.Status != "WITHDRAWN" {
			t.Fatalf("withdraw: %+v", wd)
		}
		var held int
		s.DB.Raw("SELECT confirmed_count FROM match_quotas WHERE event_id = ? AND gender = 'MALE'", ev.ID).Scan(&held)
		if held != 0 {
			t.Fatalf("after withdrawal the quota counts %d", held)
		}
		s.MustOK(m.Access, signUpMatchQ, map[string]any{"e": ev.ID}, &su)
		if su.SignUpMatchEvent.SignUp.Status != "CONFIRMED" {
			t.Fatalf("signing up again: %+v", su)
		}

		s.MustOK(m.Access, profileQ, map[string]any{"in": map[string]any{"nickname": "小王", "heightCm": 175, "wechatId": "wang_x"}}, nil)
		for _, bad := range []struct {
			in    map[string]any
			field string
		}{
			{map[string]any{"nickname": "改了", "heightCm": 20}, "heightCm"},
			{map[string]any{"nickname": "改了", "birthYear": 1900}, "birthYear"},
			{map[string]any{"nickname": "改了", "intro": strings.Repeat("长", 501)}, "intro"},
			{map[string]any{"nickname": "改了", "photoFileId": "nope"}, "photoFileId"},
		} {
			r := s.Do(m.Access, profileQ, map[string]any{"in": bad.in})
			if r.Code() != "VALIDATION_FAILED" || r.Field() != bad.field {
				t.Errorf("%v: %s", bad.in, testutil.Dump(r))
			}
		}
		var mine struct{ MyMatchProfile struct{ Nickname string } }
		s.MustOK(m.Access, myProfileQ, nil, &mine)
		if mine.MyMatchProfile.Nickname != "小王" {
			t.Errorf("a refused update changed the profile: %+v", mine)
		}
	})
}

// ADMIN review: sign-ups wait; a selection beyond a gender's quota is
// refused whole; a stale edit is a CONFLICT.
func TestMatchAdminSelection(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, store.SQLite)
	admin := s.LoginAdmin("donghua_admin").Access
	var created struct {
		CreateMatchEvent struct{ MatchEvent struct{ ID string } }
	}
	s.MustOK(admin, createMatchQ, map[string]any{"in": matchInput("ADMIN", 1, 2, nil)}, &created)
	id := created.CreateMatchEvent.MatchEvent.ID
	s.MustOK(admin, updateMatchQ, map[string]any{"in": map[string]any{"id": id, "version": 1, "title": "中秋联谊会"}}, nil)
	if r := s.Do(admin, updateMatchQ, map[string]any{"in": map[string]any{"id": id, "version": 1, "title": "旧版本"}}); r.Code() != "CONFLICT" {
		t.Fatalf("stale version: %s", testutil.Dump(r))
	}
	s.MustOK(admin, publishMatchQ, map[string]any{"id": id}, nil)
	s.Clock.Set(testutil.Epoch.Add(time.Minute))
	people := singles(t, s, 4, "courier") // two men, two women
	ids := make([]string, 4)
	for i, p := range people {
		var out struct {
			SignUpMatchEvent struct{ SignUp struct{ ID, Status string } }
		}
		s.MustOK(p.Access, signUpMatchQ, map[string]any{"e": id}, &out)
		if out.SignUpMatchEvent.SignUp.Status != "PENDING" {
			t.Fatalf("ADMIN mode sign-up: %+v", out)
		}
		ids[i] = out.SignUpMatchEvent.SignUp.ID
	}
	admin = s.LoginAdmin("donghua_admin").Access
	var listed struct {
		MatchSignUps struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	s.MustOK(admin, `query($e: ID!) { matchSignUps(eventId: $e, status: PENDING) { edges { node { id member { realName } } } } }`,
		map[string]any{"e": id}, &listed)
	if len(listed.MatchSignUps.Edges) != 4 || listed.MatchSignUps.Edges[0].Node.ID != ids[0] {
		t.Fatalf("pending sign-ups listed: %+v", listed)
	}
	if r := s.Do(s.LoginAdmin("xihu_admin").Access, `query($e: ID!) { matchSignUps(eventId: $e) { edges { node { id } } } }`,
		map[string]any{"e": id}); r.Code() != "FORBIDDEN" {
		t.Fatalf("another union's admin listed the sign-ups: %s", testutil.Dump(r))
	}
	if r := s.Do(admin, selectMatchQ, map[string]any{"e": id, "ids": []string{ids[0], ids[1]}}); r.Code() != "FULL" {
		t.Fatalf("two men for one seat: %s", testutil.Dump(r))
	}
	var sel struct {
		SelectMatchParticipants struct{ SignUps []struct{ Status string } }
	}
	s.MustOK(admin, selectMatchQ, map[string]any{"e": id, "ids": []string{ids[0], ids[2], ids[3]}}, &sel)
	if len(sel.SelectMatchParticipants.SignUps) != 3 {
		t.Fatalf("selected: %+v", sel)
	}
	var st struct {
		MatchStats struct{ SignUps, Selected int }
	}
	s.MustOK(admin, matchStatsQ, map[string]any{"e": id}, &st)
	if st.MatchStats.SignUps != 4 || st.MatchStats.Selected != 3 {
		t.Errorf("stats after selection: %+v (the refused call must have kept nothing)", st)
	}
	if r := s.Do(s.LoginAdmin("xihu_admin").Access, matchStatsQ, map[string]any{"e": id}); r.Code() != "FORBIDDEN" {
		t.Errorf("another union's admin read the stats: %s", testutil.Dump(r))
	}

	// The export: masked, audited, for the event's scope only.
	status, body := s.Get(admin, "/export/match-sign-ups?eventId="+id)
	if status != 200 {
		t.Fatalf("export: %d %s", status, body)
	}
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows("报名名单")
	if len(rows) != 5 || !strings.Contains(rows[1][2], "****") || rows[1][3] != "男" || rows[1][5] != "已入选" || rows[2][5] != "待审核" {
		t.Fatalf("rows = %v", rows)
	}
	if status, _ := s.Get(s.LoginAdmin("xihu_admin").Access, "/export/match-sign-ups?eventId="+id); status != 403 {
		t.Fatalf("another union's admin got %d", status)
	}
	var audited int64
	s.DB.Model(&models.AuditLog{}).Where("action IN ?", []string{"MATCH_SIGNUPS_READ", "MATCH_SIGNUPS_EXPORT", "MATCH_SELECT"}).Count(&audited)
	if audited != 3 {
		t.Fatalf("%d audit rows for the list, the selection and the export, want 3", audited)
	}

	// Cancelling ends every sign-up and empties the quotas.
	s.MustOK(admin, `mutation($id: ID!) { cancelMatchEvent(input: {id: $id, reason: "场地临时维修"}) { matchEvent { status } } }`,
		map[string]any{"id": id}, nil)
	var left, seats int64
	s.DB.Model(&models.MatchSignUp{}).Where("event_id = ? AND status <> ?", id, models.MatchSignUpCancelled).Count(&left)
	s.DB.Raw("SELECT SUM(confirmed_count) FROM match_quotas WHERE event_id = ?", id).Scan(&seats)
	if left != 0 || seats != 0 {
		t.Fatalf("after cancelling: %d sign-ups not cancelled, %d seats held", left, seats)
	}
}

type matchContact struct{ EventID, Nickname, Mobile, WechatID string }

func myMatches(t *testing.T, s *testutil.Server, tok string) []matchContact {
	t.Helper()
	var out struct{ MyMatches []matchContact }
	s.MustOK(tok, myMatchesQ, nil, &out)
	return out.MyMatches
}

// Profiles reach only the event's checked-in participants during the event
// and its pick window; contacts appear only after a mutual pick and only to
// the pair; nobody learns who picked them; a block ends a match.
func TestMatchPrivacyAndMutualPicks(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		ev := publishedMatch(t, s, admin, matchInput("FIRST_COME", 5, 5, nil))
		other := publishedMatch(t, s, admin, matchInput("FIRST_COME", 5, 5, map[string]any{"title": "另一场联谊会"}))
		s.Clock.Set(testutil.Epoch.Add(time.Minute))
		p := singles(t, s, 6, "courier") // 0-2 men, 3-5 women
		a, b, c := p[0], p[3], p[4]      // a, b, c check in; p[1] signs up only; p[2] is at the other event
		for _, m := range []testutil.Tokens{a, b, c, p[1]} {
			s.MustOK(m.Access, signUpMatchQ, map[string]any{"e": ev.ID}, nil)
		}
		s.MustOK(p[2].Access, signUpMatchQ, map[string]any{"e": other.ID}, nil)
		_, up := s.Upload(b.Access, "PHOTO", "me.png", testutil.ProofPNG)
		photoID, _ := up["id"].(string)
		s.MustOK(b.Access, profileQ, map[string]any{"in": map[string]any{"nickname": "小李", "intro": "喜欢爬山", "photoFileId": photoID}}, nil)

		// Before the event: nobody reads profiles.
		if r := s.Do(a.Access, participantsQ, map[string]any{"e": ev.ID}); r.Code() != "FORBIDDEN" {
			t.Fatalf("before check-in: %s", testutil.Dump(r))
		}
		s.Clock.Set(testutil.At(2, "13:30"))
		relogin := func() {
			for i := range p {
				p[i] = s.Reissue(p[i])
			}
			a, b, c = p[0], p[3], p[4]
			admin = s.LoginAdmin("donghua_admin").Access
		}
		relogin()
		if r := s.Do(a.Access, checkInMatchQ, map[string]any{"e": ev.ID, "code": "WRONG000"}); r.Code() != "VALIDATION_FAILED" {
			t.Fatalf("wrong code: %s", testutil.Dump(r))
		}
		for _, m := range []testutil.Tokens{a, b, c} {
			s.MustOK(m.Access, checkInMatchQ, map[string]any{"e": ev.ID, "code": ev.Code}, nil)
		}
		s.MustOK(p[2].Access, checkInMatchQ, map[string]any{"e": other.ID, "code": other.Code}, nil)
		if r := s.Do(a.Access, participantsQ, map[string]any{"e": ev.ID}); r.Code() != "FORBIDDEN" {
			t.Fatalf("checked in, before the start: %s", testutil.Dump(r))
		}

		s.Clock.Set(testutil.At(2, "15:00"))
		relogin()
		for name, r := range map[string]*testutil.Response{
			"signed up, not checked in": s.Do(p[1].Access, participantsQ, map[string]any{"e": ev.ID}),
			"participant of another":    s.Do(p[2].Access, participantsQ, map[string]any{"e": ev.ID}),
			"not signed up":             s.Do(p[5].Access, participantsQ, map[string]any{"e": ev.ID}),
			"admin of another union":    s.Do(s.LoginAdmin("xihu_admin").Access, participantsQ, map[string]any{"e": ev.ID}),
			"the event's own admin":     s.Do(admin, participantsQ, map[string]any{"e": ev.ID}),
			"another union's member":    s.Do(s.Members(1, "rider")[0].Access, participantsQ, map[string]any{"e": ev.ID}),
			"other admin, contacts":     s.Do(s.LoginAdmin("xihu_admin").Access, myMatchesQ, nil),
		} {
			if code := r.Code(); code != "FORBIDDEN" && code != "NOT_FOUND" {
				t.Errorf("%s: %s", name, testutil.Dump(r))
			}
		}
		var seen struct {
			MatchEventParticipants []struct {
				ID, Gender string
				PickedByMe bool
				Profile    struct{ Nickname, Intro string }
			}
		}
		s.MustOK(a.Access, participantsQ, map[string]any{"e": ev.ID}, &seen)
		if len(seen.MatchEventParticipants) != 2 {
			t.Fatalf("a sees %+v, want the two checked-in women", seen)
		}
		for _, x := range seen.MatchEventParticipants {
			if x.ID == b.ID && (x.Profile.Nickname != "小李" || x.Profile.Intro != "喜欢爬山") {
				t.Errorf("b's profile as a sees it: %+v", x)
			}
		}
		// b's photo: a fresh signed link for those who see the profile; the
		// bare id or a tampered link reads nothing.
		var withPhoto struct {
			MatchEventParticipants []struct {
				ID      string
				Profile struct {
					PhotoURL *string `json:"photoUrl"`
				}
			}
		}
		s.MustOK(a.Access, `query($e: ID!) { matchEventParticipants(eventId: $e) { id profile { photoUrl } } }`, map[string]any{"e": ev.ID}, &withPhoto)
		var link string
		for _, x := range withPhoto.MatchEventParticipants {
			if x.ID == b.ID && x.Profile.PhotoURL != nil {
				link = s.LocalPath(*x.Profile.PhotoURL)
			}
		}
		if link == "" {
			t.Fatalf("no photo link for b: %+v", withPhoto)
		}
		if status, body := s.Get("", link); status != 200 || !bytes.Equal(body, testutil.ProofPNG) {
			t.Fatalf("photo link: %d, %d bytes", status, len(body))
		}
		for _, bad := range []string{"/files/photo/" + photoID, link[:len(link)-2] + "00", strings.Replace(link, "exp=", "exp=9", 1)} {
			if status, _ := s.Get("", bad); status != 403 {
				t.Errorf("%s: %d, want 403", bad, status)
			}
		}

		// a picks b: b learns nothing, in any field.
		s.MustOK(a.Access, pickQ, map[string]any{"e": ev.ID, "p": b.ID}, nil)
		s.MustOK(a.Access, pickQ, map[string]any{"e": ev.ID, "p": b.ID}, nil) // idempotent
		var bSees struct {
			MatchEventParticipants []map[string]any
		}
		s.MustOK(b.Access, participantsQ, map[string]any{"e": ev.ID}, &bSees)
		for _, x := range bSees.MatchEventParticipants {
			if x["pickedByMe"] != false {
				t.Errorf("b sees a pick she did not make: %v", x)
			}
		}
		if got := myMatches(t, s, b.Access); len(got) != 0 {
			t.Errorf("one-sided pick revealed: %+v", got)
		}
		if got := myMatches(t, s, a.Access); len(got) != 0 {
			t.Errorf("one-sided pick revealed to the picker: %+v", got)
		}
		// Limit K=2: a picks c, then a third is refused (only two women; a
		// man is no participant a may pick).
		s.MustOK(a.Access, pickQ, map[string]any{"e": ev.ID, "p": c.ID}, nil)
		if r := s.Do(a.Access, pickQ, map[string]any{"e": ev.ID, "p": p[1].ID}); r.Code() != "NOT_FOUND" {
			t.Errorf("picking someone not checked in: %s", testutil.Dump(r))
		}

		// The pick window after the event: b picks back — a match.
		s.Clock.Set(testutil.At(3, "10:00"))
		relogin()
		s.MustOK(b.Access, pickQ, map[string]any{"e": ev.ID, "p": a.ID}, nil)
		ga, gb, gc := myMatches(t, s, a.Access), myMatches(t, s, b.Access), myMatches(t, s, c.Access)
		if len(ga) != 1 || ga[0].Nickname != "小李" || ga[0].WechatID == "" || ga[0].Mobile == "" || ga[0].EventID != ev.ID {
			t.Errorf("a's matches: %+v", ga)
		}
		if len(gb) != 1 || gb[0].WechatID != "wx_"+a.ID || !strings.HasPrefix(gb[0].Mobile, "137") {
			t.Errorf("b's matches: %+v", gb)
		}
		if len(gc) != 0 {
			t.Errorf("c (picked by a, did not pick) sees: %+v", gc)
		}
		var st struct {
			MatchStats struct{ SignUps, Selected, Attended, Matches int }
		}
		s.MustOK(admin, matchStatsQ, map[string]any{"e": ev.ID}, &st)
		if st.MatchStats != (struct{ SignUps, Selected, Attended, Matches int }{4, 4, 3, 1}) {
			t.Errorf("stats: %+v", st.MatchStats)
		}
		s.MustOK(c.Access, reportQ, map[string]any{"e": ev.ID, "p": a.ID, "r": "言语不当"}, nil)
		if r := s.Do(c.Access, reportQ, map[string]any{"e": ev.ID, "p": a.ID, "r": "言语不当"}); r.Code() != "ALREADY_EXISTS" {
			t.Errorf("second report: %s", testutil.Dump(r))
		}

		// A block ends the match for both; withdrawing a pick works too.
		s.MustOK(b.Access, blockQ, map[string]any{"e": ev.ID, "p": a.ID}, nil)
		if ga, gb := myMatches(t, s, a.Access), myMatches(t, s, b.Access); len(ga)+len(gb) != 0 {
			t.Errorf("blocked pair still matched: %+v %+v", ga, gb)
		}
		s.MustOK(a.Access, unpickQ, map[string]any{"e": ev.ID, "p": c.ID}, nil)

		// After the pick window: profiles and picks close.
		s.Clock.Set(testutil.At(4, "21:00"))
		relogin()
		if r := s.Do(a.Access, participantsQ, map[string]any{"e": ev.ID}); r.Code() != "FORBIDDEN" {
			t.Errorf("after the pick window: %s", testutil.Dump(r))
		}
		if r := s.Do(a.Access, pickQ, map[string]any{"e": ev.ID, "p": c.ID}); r.Code() != "FORBIDDEN" {
			t.Errorf("pick after the window: %s", testutil.Dump(r))
		}
	})
}

// Pairs pick each other at the same moment, from both sides and two
// instances: each pair is exactly one match; and one member picking more
// than K at once keeps K.
func TestMatchPicksRacingFromBothSides(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s1 := testutil.NewServer(t, d)
		s2 := testutil.NewServerOn(t, s1.DB)
		admin := s1.LoginAdmin("donghua_admin").Access
		ev := publishedMatch(t, s1, admin, matchInput("FIRST_COME", 20, 20, map[string]any{"maxPicks": 3}))
		s1.Clock.Set(testutil.Epoch.Add(time.Minute))
		people := singles(t, s1, 40, "courier") // 0-19 men, 20-39 women
		for _, p := range people {
			s1.MustOK(p.Access, signUpMatchQ, map[string]any{"e": ev.ID}, nil)
		}
		s1.Clock.Set(testutil.At(2, "15:30"))
		for i := range people {
			people[i] = s1.Reissue(people[i])
			s1.MustOK(people[i].Access, checkInMatchQ, map[string]any{"e": ev.ID, "code": ev.Code}, nil)
		}
		s2.Clock.Set(s1.Clock.Now())
		servers := []*testutil.Server{s1, s2}
		// Man i and woman 20+i pick each other (19 pairs); man 19 picks six
		// women at once.
		type call struct{ from, to int }
		var calls []call
		for i := 0; i < 19; i++ {
			calls = append(calls, call{i, 20 + i}, call{20 + i, i})
		}
		for k := 0; k < 6; k++ {
			calls = append(calls, call{19, 30 + k})
		}
		errs := make([]string, len(calls))
		testutil.Race(len(calls), 32, func(i int) {
			c := calls[i]
			r, err := servers[i%2].Try(people[c.from].Access, pickQ, map[string]any{"e": ev.ID, "p": people[c.to].ID})
			switch {
			case err != nil:
				errs[i] = err.Error()
			case len(r.Errors) > 0:
				errs[i] = r.Code()
			}
		})
		limited := 0
		for i, e := range errs {
			switch {
			case e == "LIMIT_REACHED" && calls[i].from == 19:
				limited++
			case e != "":
				t.Errorf("pick %v: %s", calls[i], e)
			}
		}
		if limited != 3 {
			t.Errorf("%d of man 19's six picks refused, want 3", limited)
		}
		var st struct{ MatchStats struct{ Matches int } }
		s1.MustOK(s1.LoginAdmin("donghua_admin").Access, matchStatsQ, map[string]any{"e": ev.ID}, &st)
		if st.MatchStats.Matches != 19 {
			t.Errorf("matches = %d, want 19", st.MatchStats.Matches)
		}
		for i := 0; i < 19; i++ {
			if got := myMatches(t, s1, people[i].Access); len(got) != 1 {
				t.Errorf("man %d: %+v", i, got)
			}
		}
	})
}

// dump shows a response in a failure message.

// LOTTERY: sign-ups wait; at window close the job draws each gender's
// seats once (two instances at once), newcomers first, in an order anyone
// recomputes from the seed revealed after the draw.
func TestMatchLotteryAtClose(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s1 := testutil.NewServer(t, d)
		s2 := testutil.NewServerOn(t, s1.DB)
		admin := s1.LoginAdmin("donghua_admin").Access
		ev := publishedMatch(t, s1, admin, matchInput("LOTTERY", 3, 2, nil))
		earlier := publishedMatch(t, s1, admin, matchInput("FIRST_COME", 5, 5, map[string]any{"title": "往期联谊会"}))
		s1.Clock.Set(testutil.Epoch.Add(time.Minute))
		people := singles(t, s1, 14, "courier") // 0-6 men, 7-13 women
		veteran := people[0]
		s1.MustOK(veteran.Access, signUpMatchQ, map[string]any{"e": earlier.ID}, nil)
		s1.DB.Exec("UPDATE match_sign_ups SET checked_in_at = ? WHERE event_id = ? AND member_id = ?", s1.Clock.Now(), earlier.ID, veteran.ID)
		signUp := map[string]int{} // sign-up id -> person
		for i, p := range people {
			var out struct {
				SignUpMatchEvent struct{ SignUp struct{ ID, Status string } }
			}
			s1.MustOK(p.Access, signUpMatchQ, map[string]any{"e": ev.ID}, &out)
			if out.SignUpMatchEvent.SignUp.Status != "PENDING" {
				t.Fatalf("LOTTERY sign-up: %+v", out)
			}
			signUp[out.SignUpMatchEvent.SignUp.ID] = i
		}

		s1.Clock.Set(testutil.At(1, "18:01"))
		s2.Clock.Set(s1.Clock.Now())
		done := make(chan int, 2)
		for _, s := range []*testutil.Server{s1, s2} {
			go func() {
				n, err := s.App.Matchmaking.AllocateDueMatchEvents(t.Context())
				if err != nil {
					t.Error(err)
				}
				done <- n
			}()
		}
		if n := <-done + <-done; n != 1 {
			t.Fatalf("draws run: %d, want exactly 1", n)
		}
		if n, err := s1.App.Matchmaking.AllocateDueMatchEvents(t.Context()); err != nil || n != 0 {
			t.Fatalf("a second pass drew %d (%v)", n, err)
		}

		admin = s1.LoginAdmin("donghua_admin").Access
		var got struct {
			MatchEvent struct {
				LotterySeedHash, LotterySeed string
				Quotas                       []struct {
					Gender         string
					ConfirmedCount int
				}
			}
		}
		s1.MustOK(admin, `query($id: ID!) { matchEvent(id: $id) { lotterySeedHash lotterySeed quotas { gender confirmedCount } } }`,
			map[string]any{"id": ev.ID}, &got)
		seed := got.MatchEvent.LotterySeed
		if seed == "" || allocation.SeedHash(seed) != got.MatchEvent.LotterySeedHash {
			t.Fatalf("seed %q does not match its hash %q", seed, got.MatchEvent.LotterySeedHash)
		}
		// Recompute: per gender, newcomers first, then by draw key.
		cands := []allocation.Candidate{}
		for id, i := range signUp {
			var n int64
			fmt.Sscan(id, &n)
			rank, bucket := 0, "MALE"
			if people[i].ID == veteran.ID {
				rank = 1
			}
			if i >= 7 {
				bucket = "FEMALE"
			}
			cands = append(cands, allocation.Candidate{ID: n, Rank: rank, Bucket: bucket})
		}
		want := allocation.Allocate(allocation.Spec{Mode: allocation.Lottery, Seed: seed,
			Seats: map[string]int{"MALE": 3, "FEMALE": 2}}, cands)
		confirmed := map[string]bool{}
		for _, id := range want.Admitted {
			confirmed[fmt.Sprint(id)] = true
		}
		for id, i := range signUp {
			var out struct {
				MyMatchSignUps struct {
					Edges []struct {
						Node struct {
							ID, Status, RejectReason string
							DrawKey                  *string
						}
					}
				}
			}
			s1.MustOK(s1.Reissue(people[i]).Access, `{ myMatchSignUps { edges { node { id status rejectReason drawKey } } } }`, nil, &out)
			for _, e := range out.MyMatchSignUps.Edges {
				if e.Node.ID != id {
					continue
				}
				wantStatus := "REJECTED"
				if confirmed[id] {
					wantStatus = "CONFIRMED"
				}
				var n int64
				fmt.Sscan(id, &n)
				if e.Node.Status != wantStatus || e.Node.DrawKey == nil || *e.Node.DrawKey != allocation.DrawKey(seed, n) {
					t.Errorf("person %d: %+v, want %s", i, e.Node, wantStatus)
				}
				if i == 0 && e.Node.Status != "REJECTED" {
					t.Errorf("the veteran was drawn before six newcomers")
				}
			}
		}
		for _, q := range got.MatchEvent.Quotas {
			if (q.Gender == "MALE" && q.ConfirmedCount != 3) || (q.Gender == "FEMALE" && q.ConfirmedCount != 2) {
				t.Errorf("quota %+v", q)
			}
		}
		if r := s1.Do(s1.Members(1, "courier")[0].Access, signUpMatchQ, map[string]any{"e": ev.ID}); r.Code() != "WINDOW_CLOSED" {
			t.Errorf("sign-up after the draw: %s", testutil.Dump(r))
		}
	})
}
