package subsidies_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

// A tiny valid PNG header is enough for the content sniffer.
func review(s *testutil.Server, token string, a testutil.SubsidyApp, decision, comment string) (*testutil.Response, error) {
	return s.Try(token, testutil.ReviewSubsidyQ, map[string]any{"id": a.ID, "v": a.Version, "d": decision, "c": comment})
}

func mustReview(t *testing.T, s *testutil.Server, token string, a testutil.SubsidyApp, decision, comment string) testutil.SubsidyApp {
	t.Helper()
	r, err := review(s, token, a, decision, comment)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		ReviewSubsidyApplication struct{ Application testutil.SubsidyApp }
	}
	r.Decode(t, &out)
	return out.ReviewSubsidyApplication.Application
}

func grantedFen(t *testing.T, s *testutil.Server, program string) int64 {
	t.Helper()
	var p models.SubsidyProgram
	if err := s.DB.Take(&p, program).Error; err != nil {
		t.Fatal(err)
	}
	return p.GrantedFen
}

// One application through the whole chain: grassroots approves (the grant
// is held), the district returns it (the hold is freed), the member
// corrects it, then grassroots, district and city approve. The grant is
// split by the shares with the rounding fen going to the largest share, and
// the trail, the stats and the payment list show it.
func TestSubsidyReviewChainTrailAndSplit(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		program := s.SubsidyProgram(10_000_000)
		member := s.Members(1, "courier")[0]
		grassroots := s.LoginAdmin("courier_admin").Access
		district := s.LoginAdmin("dongcheng_admin").Access
		city := s.LoginAdmin("city_admin").Access

		a := s.ApplyFor(member.Access, program, 123457)
		if a.Status != "SUBMITTED" || a.Stage != "GRASSROOTS" {
			t.Fatalf("applied: %+v", a)
		}
		again := s.Do(member.Access, testutil.ApplySubsidyQ, map[string]any{"in": testutil.ApplyInput(program, s.UploadProof(member.Access), 100)})
		if again.Code() != "ALREADY_EXISTS" {
			t.Fatalf("second application: %v, want ALREADY_EXISTS", again.Errors)
		}
		if r, _ := review(s, city, a, "APPROVE", ""); r.Code() != "FORBIDDEN" {
			t.Fatalf("city at the grassroots stage: %v, want FORBIDDEN", r.Errors)
		}
		if r, _ := review(s, grassroots, a, "REJECT", ""); r.Code() != "VALIDATION_FAILED" || r.Field() != "comment" {
			t.Fatalf("reject without a comment: %v", r.Errors)
		}

		a = mustReview(t, s, grassroots, a, "APPROVE", "材料齐全")
		if a.Status != "IN_REVIEW" || a.Stage != "DISTRICT" || grantedFen(t, s, program) != 123457 {
			t.Fatalf("after grassroots approval: %+v, granted %d", a, grantedFen(t, s, program))
		}
		a = mustReview(t, s, district, a, "RETURN", "请补充学费发票")
		if a.Status != "RETURNED" || a.GrantFen != 0 || grantedFen(t, s, program) != 0 {
			t.Fatalf("after return: %+v, granted %d", a, grantedFen(t, s, program))
		}
		var re struct {
			ResubmitSubsidyApplication struct{ Application testutil.SubsidyApp }
		}
		in := testutil.ApplyInput(program, s.UploadProof(member.Access), 123457)
		delete(in, "programId")
		in["id"], in["version"] = a.ID, a.Version
		s.MustOK(member.Access, `mutation($in: ResubmitSubsidyApplicationInput!) { resubmitSubsidyApplication(input: $in) {
		  application { id status stage version } } }`, map[string]any{"in": in}, &re)
		a = re.ResubmitSubsidyApplication.Application
		if a.Status != "SUBMITTED" || a.Stage != "GRASSROOTS" {
			t.Fatalf("resubmitted: %+v", a)
		}
		a = mustReview(t, s, grassroots, a, "APPROVE", "")
		a = mustReview(t, s, district, a, "APPROVE", "")
		a = mustReview(t, s, city, a, "APPROVE", "同意资助")
		// 123457 × 3333 / 10000 = 41148.2…, × 3334 = 41160.5…: 1 fen left
		// over, to the district (the largest share).
		wantGrants := []struct {
			Level     string
			AmountFen int64
		}{{"PROVINCE", 41148}, {"CITY", 41148}, {"DISTRICT", 41161}}
		if a.Status != "APPROVED" || a.GrantFen != 123457 || !cmp.Equal(a.Grants, wantGrants) {
			t.Fatalf("approved: %+v, want grants %v", a, wantGrants)
		}
		if g := grantedFen(t, s, program); g != 123457 {
			t.Fatalf("granted %d, want 123457", g)
		}

		var mine struct {
			MySubsidyApplications struct {
				Edges []struct {
					Node struct {
						Status  string
						Reviews []struct{ Stage, Decision, Comment, Reviewer string }
					}
				}
			}
		}
		s.MustOK(member.Access, `{ mySubsidyApplications { edges { node { status reviews { stage decision comment reviewer } } } } }`, nil, &mine)
		var trail []string
		for _, r := range mine.MySubsidyApplications.Edges[0].Node.Reviews {
			if r.Reviewer == "" {
				t.Errorf("review without a reviewer: %+v", r)
			}
			trail = append(trail, r.Stage+" "+r.Decision+" "+r.Comment)
		}
		want := []string{"GRASSROOTS APPROVE 材料齐全", "DISTRICT RETURN 请补充学费发票", "GRASSROOTS APPROVE ", "DISTRICT APPROVE ", "CITY APPROVE 同意资助"}
		if diff := cmp.Diff(want, trail); diff != "" {
			t.Fatalf("trail (-want +got):\n%s", diff)
		}

		var stats struct {
			SubsidyStats struct {
				Total  struct{ Applications, Approved, ApprovedFen, ProvinceFen, CityFen, DistrictFen int64 }
				Levels []struct {
					Level                  string
					Applications, Approved int
				}
			}
		}
		statsQ := `query($p: ID!, $u: ID) { subsidyStats(programId: $p, unionId: $u) {
		  total { applications approved approvedFen provinceFen cityFen districtFen } levels { level applications approved } } }`
		s.MustOK(district, statsQ, map[string]any{"p": program}, &stats)
		tot := stats.SubsidyStats.Total
		if tot.Applications != 1 || tot.Approved != 1 || tot.ApprovedFen != 123457 || tot.DistrictFen != 41161 ||
			len(stats.SubsidyStats.Levels) != 2 || stats.SubsidyStats.Levels[0].Approved != 1 {
			t.Fatalf("stats of the district: %+v", stats.SubsidyStats)
		}
		s.MustOK(city, statsQ, map[string]any{"p": program, "u": s.UnionID("xicheng")}, &stats)
		if stats.SubsidyStats.Total.Applications != 0 {
			t.Fatalf("stats of another subtree: %+v", stats.SubsidyStats.Total)
		}

		status, body := s.Get(district, "/export/subsidy-payments?programId="+program)
		if status != 200 || !bytes.HasPrefix(body, []byte("PK")) {
			t.Fatalf("payment export: %d %.200s", status, body)
		}
		var audited int64
		s.DB.Model(&models.AuditLog{}).Where("action = ?", "SUBSIDY_PAYMENTS_EXPORT").Count(&audited)
		if audited != 1 {
			t.Fatalf("payment export audited %d times, want 1", audited)
		}
	})
}

// 40 applications wait at the grassroots stage for a budget that pays 20
// grants: 40 approvals at once give exactly 20 approvals and 20 FULL, and
// the programme's total is the budget to the fen. A later rejection frees
// exactly one grant, which the next approval takes.
func TestSubsidyConcurrentApprovalsNeverOverspend(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		const grant = 50_000
		program := s.SubsidyProgram(20 * grant)
		members := s.Members(40, "courier")
		apps := make([]testutil.SubsidyApp, len(members))
		for i, m := range members {
			apps[i] = s.ApplyFor(m.Access, program, grant)
		}
		grassroots := s.LoginAdmin("courier_admin").Access
		codes := make([]string, len(apps))
		testutil.Race(len(apps), 40, func(i int) {
			r, err := review(s, grassroots, apps[i], "APPROVE", "")
			switch {
			case err != nil:
				codes[i] = "TRANSPORT " + err.Error()
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
		if n["OK"] != 20 || n["FULL"] != 20 || len(n) != 2 {
			t.Fatalf("outcomes %v, want 20 OK and 20 FULL", n)
		}
		if g := grantedFen(t, s, program); g != 20*grant {
			t.Fatalf("granted %d, want %d", g, 20*grant)
		}
		var held int64
		s.DB.Model(&models.SubsidyApplication{}).Where("program_id = ?", program).Select("COALESCE(SUM(held_fen), 0)").Scan(&held)
		if held != 20*grant {
			t.Fatalf("applications hold %d, want %d", held, 20*grant)
		}

		var approved, refused testutil.SubsidyApp
		for i, c := range codes {
			if c == "OK" && approved.ID == "" {
				var out struct{ SubsidyApplication testutil.SubsidyApp }
				s.MustOK(grassroots, testutil.SubsidyAppQ, map[string]any{"id": apps[i].ID}, &out)
				approved = out.SubsidyApplication
			}
			if c == "FULL" && refused.ID == "" {
				refused = apps[i]
			}
		}
		mustReview(t, s, s.LoginAdmin("dongcheng_admin").Access, approved, "REJECT", "不符合条件")
		if g := grantedFen(t, s, program); g != 19*grant {
			t.Fatalf("after a rejection granted %d, want %d", g, 19*grant)
		}
		mustReview(t, s, grassroots, refused, "APPROVE", "")
		if g := grantedFen(t, s, program); g != 20*grant {
			t.Fatalf("after the freed grant was taken granted %d, want %d", g, 20*grant)
		}
	})
}

// Two reviewers of the same stage act on one application at once, 20
// times over: one decision lands, every other gets CONFLICT, and the trail
// and the budget hold that one decision.
func TestSubsidyConcurrentReviewsOneWins(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		program := s.SubsidyProgram(10_000_000)
		a := s.ApplyFor(s.Members(1, "courier")[0].Access, program, 300_000)
		// courier's own union and its street union both review as grassroots.
		reviewers := []string{s.LoginAdmin("courier_admin").Access, s.LoginAdmin("donghua_admin").Access}
		decisions := []string{"APPROVE", "REJECT"}
		codes := make([]string, 20)
		testutil.Race(len(codes), len(codes), func(i int) {
			r, err := review(s, reviewers[i%2], a, decisions[i/2%2], "并发审核")
			switch {
			case err != nil:
				codes[i] = "TRANSPORT " + err.Error()
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
		if n["OK"] != 1 || n["CONFLICT"] != 19 {
			t.Fatalf("outcomes %v, want 1 OK and 19 CONFLICT", n)
		}
		var reviews []models.SubsidyReview
		s.DB.Where("application_id = ?", a.ID).Find(&reviews)
		var got models.SubsidyApplication
		s.DB.Take(&got, a.ID)
		if len(reviews) != 1 || got.Version != 2 {
			t.Fatalf("%d reviews recorded, version %d; want 1 and 2", len(reviews), got.Version)
		}
		wantHeld := int64(0)
		if reviews[0].Decision == models.DecisionApprove {
			wantHeld = 300_000
		}
		if g := grantedFen(t, s, program); g != wantHeld || got.HeldFen != wantHeld {
			t.Fatalf("after %s granted %d, held %d; want %d", reviews[0].Decision, g, got.HeldFen, wantHeld)
		}
	})
}

// Proofs are read through signed links that expire; another applicant and
// an admin outside the applicant's chain get neither the application nor
// its links, nor can they attach the file elsewhere.
func TestSubsidyProofsReadableOnlyByApplicantAndChain(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		program := s.SubsidyProgram(10_000_000)
		ms := s.Members(2, "courier")
		owner, other := ms[0], ms[1]
		proof := s.UploadProof(owner.Access)
		var out struct {
			ApplySubsidy struct{ Application testutil.SubsidyApp }
		}
		s.MustOK(owner.Access, testutil.ApplySubsidyQ, map[string]any{"in": testutil.ApplyInput(program, proof, 100_000)}, &out)
		id := out.ApplySubsidy.Application.ID

		read := func(token string) *testutil.Response {
			return s.Do(token, testutil.SubsidyAppQ, map[string]any{"id": id})
		}
		var mine struct{ SubsidyApplication testutil.SubsidyApp }
		read(owner.Access).Decode(t, &mine)
		link := s.LocalPath(mine.SubsidyApplication.Proofs[0].URL)
		if st, body := s.Get("", link); st != 200 || !bytes.Equal(body, testutil.ProofPNG) {
			t.Fatalf("applicant's link: %d, %d bytes", st, len(body))
		}
		var chain struct{ SubsidyApplication testutil.SubsidyApp }
		read(s.LoginAdmin("dongcheng_admin").Access).Decode(t, &chain)
		if st, _ := s.Get("", s.LocalPath(chain.SubsidyApplication.Proofs[0].URL)); st != 200 {
			t.Fatalf("reviewer of the chain: %d", st)
		}

		if r := read(other.Access); r.Code() != "NOT_FOUND" {
			t.Fatalf("another applicant reads the application: %v", r.Errors)
		}
		if r := read(s.LoginAdmin("xicheng_admin").Access); r.Code() != "FORBIDDEN" {
			t.Fatalf("an admin outside the chain reads the application: %v", r.Errors)
		}
		stolen := s.Do(other.Access, testutil.ApplySubsidyQ, map[string]any{"in": testutil.ApplyInput(program, proof, 100_000)})
		if stolen.Code() != "VALIDATION_FAILED" || stolen.Field() != "proofFileIds" {
			t.Fatalf("another applicant attaches the file: %v", stolen.Errors)
		}
		if st, _ := s.Get(other.Access, "/files/proof/"+proof); st != 403 {
			t.Fatalf("the file id alone: %d, want 403", st)
		}

		u, _ := url.Parse(link)
		q := u.Query()
		sig := q.Get("sig")
		q.Set("sig", strings.Repeat("0", len(sig)))
		if st, _ := s.Get("", u.Path+"?"+q.Encode()); st != 403 {
			t.Fatalf("tampered signature: %d, want 403", st)
		}
		q.Set("sig", sig)
		q.Set("exp", fmt.Sprint(s.Clock.Now().Add(24*time.Hour).Unix()))
		if st, _ := s.Get("", u.Path+"?"+q.Encode()); st != 403 {
			t.Fatalf("extended expiry: %d, want 403", st)
		}
		s.Clock.Advance(6 * time.Minute)
		if st, _ := s.Get("", link); st != 403 {
			t.Fatalf("expired link: %d, want 403", st)
		}
	})
}

// Bad files and bad input are refused with coded errors, and nothing is
// stored.
func TestSubsidyRefusesBadFilesAndInput(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		program := s.SubsidyProgram(10_000_000)
		member := s.Members(1, "courier")[0]
		var filesBefore int64
		s.DB.Model(&models.UploadedFile{}).Count(&filesBefore)

		exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00"), bytes.Repeat([]byte{0}, 200)...)
		if st, out := s.Upload(member.Access, "PROOF", "receipt.jpg", exe); st != 400 || errCode(out) != "VALIDATION_FAILED" {
			t.Fatalf("an .exe renamed .jpg: %d %v", st, out)
		}
		big := append(append([]byte{}, testutil.ProofPNG...), make([]byte, 50<<20)...)
		if st, out := s.Upload(member.Access, "PROOF", "big.png", big); st != 413 || errCode(out) != "VALIDATION_FAILED" {
			t.Fatalf("a 50 MB file: %d %v", st, out)
		}
		var filesAfter int64
		s.DB.Model(&models.UploadedFile{}).Count(&filesAfter)
		if filesAfter != filesBefore {
			t.Fatalf("refused files stored: %d → %d", filesBefore, filesAfter)
		}

		proof := s.UploadProof(member.Access)
		for _, c := range []struct {
			name        string
			edit        func(in map[string]any)
			code, field string
		}{
			{"tuition zero", func(in map[string]any) { in["tuitionFen"] = 0 }, "VALIDATION_FAILED", "tuitionFen"},
			{"tuition negative", func(in map[string]any) { in["tuitionFen"] = -100 }, "VALIDATION_FAILED", "tuitionFen"},
			{"level not offered", func(in map[string]any) { in["level"] = "DOCTORATE" }, "VALIDATION_FAILED", "level"},
			{"no proofs", func(in map[string]any) { in["proofFileIds"] = []string{} }, "VALIDATION_FAILED", "proofFileIds"},
			{"unknown proof", func(in map[string]any) { in["proofFileIds"] = []string{"nosuchfile00"} }, "VALIDATION_FAILED", "proofFileIds"},
			{"enrolled last year", func(in map[string]any) { in["enrolledOn"] = "2025-09-01" }, "NOT_ELIGIBLE", ""},
		} {
			in := testutil.ApplyInput(program, proof, 100_000)
			c.edit(in)
			r := s.Do(member.Access, testutil.ApplySubsidyQ, map[string]any{"in": in})
			if r.Code() != c.code || r.Field() != c.field {
				t.Errorf("%s: %v, want %s (%s)", c.name, r.Errors, c.code, c.field)
			}
		}
		pending := s.Members(1, "courier", func(_ int, m *models.Member) { m.Status = models.MembershipPending })[0]
		if r := s.Do(pending.Access, testutil.ApplySubsidyQ, map[string]any{"in": testutil.ApplyInput(program, s.UploadProof(pending.Access), 100_000)}); r.Code() != "NOT_ELIGIBLE" {
			t.Errorf("unverified member: %v, want NOT_ELIGIBLE", r.Errors)
		}
		s.Clock.Advance(31 * 24 * time.Hour)
		member = s.Reissue(member)
		if r := s.Do(member.Access, testutil.ApplySubsidyQ, map[string]any{"in": testutil.ApplyInput(program, proof, 100_000)}); r.Code() != "WINDOW_CLOSED" {
			t.Errorf("window closed: %v, want WINDOW_CLOSED", r.Errors)
		}
		var apps, proofs int64
		s.DB.Model(&models.SubsidyApplication{}).Where("program_id = ?", program).Count(&apps)
		s.DB.Model(&models.SubsidyProof{}).Count(&proofs)
		if apps != 0 || proofs != 0 {
			t.Fatalf("refused applications stored: %d applications, %d proofs", apps, proofs)
		}
	})
}

func errCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// A member withdraws before review and may apply again; once a reviewer
// approved, withdrawing is refused.
func TestSubsidyWithdrawBeforeReviewOnly(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		program := s.SubsidyProgram(10_000_000)
		member := s.Members(1, "courier")[0]
		withdrawQ := `mutation($id: ID!, $v: Int!) { withdrawSubsidyApplication(input: {id: $id, version: $v}) { application { status } } }`
		a := s.ApplyFor(member.Access, program, 100_000)
		var out struct {
			WithdrawSubsidyApplication struct{ Application struct{ Status string } }
		}
		s.MustOK(member.Access, withdrawQ, map[string]any{"id": a.ID, "v": a.Version}, &out)
		if out.WithdrawSubsidyApplication.Application.Status != "WITHDRAWN" {
			t.Fatalf("withdrawn: %+v", out)
		}
		b := s.ApplyFor(member.Access, program, 100_000)
		b = mustReview(t, s, s.LoginAdmin("courier_admin").Access, b, "APPROVE", "")
		if r := s.Do(member.Access, withdrawQ, map[string]any{"id": b.ID, "v": b.Version}); r.Code() != "CONFLICT" {
			t.Fatalf("withdraw after approval: %v, want CONFLICT", r.Errors)
		}
		raw, _ := json.Marshal(b)
		if grantedFen(t, s, program) != 100_000 {
			t.Fatalf("granted %d after %s, want 100000", grantedFen(t, s, program), raw)
		}
	})
}

// The reviewer's queue: a programme's applications from the caller's
// subtree, filtered, in keyset pages, each read audited; an admin of
// another subtree sees none of them.
func TestSubsidyApplicationsQueuePagesFiltersAndAudits(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		program := s.SubsidyProgram(10_000_000)
		grassroots := s.LoginAdmin("courier_admin").Access
		var ids []string
		for i, m := range s.Members(5, "courier") {
			a := s.ApplyFor(m.Access, program, 100_000)
			if i < 2 {
				mustReview(t, s, grassroots, a, "APPROVE", "")
			}
			ids = append(ids, a.ID)
		}
		s.ApplyFor(s.Members(1, "rider")[0].Access, program, 100_000)

		queueQ := `query($f: SubsidyApplicationFilter!, $after: String) { subsidyApplications(filter: $f, first: 2, after: $after) {
		  edges { node { id stage member { phone } } } pageInfo { hasNextPage endCursor } } }`
		page := func(token string, f map[string]any) []string {
			t.Helper()
			var got []string
			var after any
			for {
				var out struct {
					SubsidyApplications struct {
						Edges []struct {
							Node struct {
								ID     string
								Member struct{ Phone string }
							}
						}
						PageInfo struct {
							HasNextPage bool
							EndCursor   string
						}
					}
				}
				s.MustOK(token, queueQ, map[string]any{"f": f, "after": after}, &out)
				for _, e := range out.SubsidyApplications.Edges {
					if !strings.Contains(e.Node.Member.Phone, "*") {
						t.Fatalf("phone shown whole to an admin: %q", e.Node.Member.Phone)
					}
					got = append(got, e.Node.ID)
				}
				if !out.SubsidyApplications.PageInfo.HasNextPage {
					return got
				}
				after = out.SubsidyApplications.PageInfo.EndCursor
			}
		}
		district := s.LoginAdmin("dongcheng_admin").Access
		if diff := cmp.Diff(ids, page(district, map[string]any{"programId": program})); diff != "" {
			t.Fatalf("district queue (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(ids[:2], page(district, map[string]any{"programId": program, "stage": "DISTRICT"})); diff != "" {
			t.Fatalf("waiting for the district (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(ids[2:], page(grassroots, map[string]any{"programId": program, "status": "SUBMITTED"})); diff != "" {
			t.Fatalf("submitted, for the grassroots (-want +got):\n%s", diff)
		}
		if got := page(s.LoginAdmin("xicheng_admin").Access, map[string]any{"programId": program, "unionId": s.UnionID("xicheng")}); len(got) != 1 {
			t.Fatalf("xicheng sees %d applications, want its rider's 1", len(got))
		}
		var audited int64
		s.DB.Model(&models.AuditLog{}).Where("action = ?", "SUBSIDY_APPLICATIONS_READ").Count(&audited)
		if audited < 4 {
			t.Fatalf("queue reads audited %d times", audited)
		}
	})
}
