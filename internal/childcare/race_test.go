package childcare_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

// childrenOf registers one child for each parent straight in the database
// (registration is tested through GraphQL elsewhere) and returns their ids.
func childrenOf(t testing.TB, s *testutil.Server, parents []testutil.Tokens, birth time.Time) []string {
	t.Helper()
	now := s.Clock.Now()
	children := make([]*models.Child, len(parents))
	for i, p := range parents {
		var owner int64
		fmt.Sscan(p.ID, &owner)
		children[i] = &models.Child{OwnerID: owner, Name: "测试孩子", BirthDate: birth, Gender: models.GenderMale,
			EmergencyContactName: "家长", EmergencyContactPhone: "13900000000", Version: 1, CreatedAt: now, UpdatedAt: now}
	}
	if err := s.DB.CreateInBatches(children, 500).Error; err != nil {
		t.Fatal(err)
	}
	links := make([]*models.ChildGuardian, len(children))
	ids := make([]string, len(children))
	for i, c := range children {
		links[i] = &models.ChildGuardian{ChildID: c.ID, MemberID: c.OwnerID, Role: models.GuardianOwner, CreatedAt: now}
		ids[i] = fmt.Sprint(c.ID)
	}
	if err := s.DB.CreateInBatches(links, 500).Error; err != nil {
		t.Fatal(err)
	}
	return ids
}

// 1,000 parents (200 on SQLite) rush a first-come programme with 50 places and 20 waitlist
// places, across two instances: never more admitted than places.
func TestChildcareFirstComeRushNeverOverfills(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s1 := testutil.NewServer(t, d)
		s2 := testutil.NewServerOn(t, s1.DB)
		admin := s1.LoginAdmin("donghua_admin").Access
		id := publishedProgram(t, s1, admin, programInput("FIRST_COME", 50, 20, nil))
		s2.Clock.Set(s1.Clock.Now())
		parents := s1.Members(testutil.RushSize(d, 1000), "courier")
		children := childrenOf(t, s1, parents, time.Date(2017, 4, 1, 0, 0, 0, 0, time.UTC))
		servers := []*testutil.Server{s1, s2}
		outcomes := make([]string, len(parents))
		testutil.Race(len(parents), 128, func(i int) {
			r, err := servers[i%2].Try(parents[i].Access, signUpChildQ, map[string]any{"p": id, "c": children[i]})
			switch {
			case err != nil:
				outcomes[i] = "TRANSPORT " + err.Error()
			case len(r.Errors) > 0:
				outcomes[i] = r.Code()
			default:
				var out struct{ SignUpChild struct{ SignUp childSignUp } }
				if jerr := json.Unmarshal(r.Data, &out); jerr != nil {
					outcomes[i] = "DECODE " + jerr.Error()
					return
				}
				outcomes[i] = out.SignUpChild.SignUp.Status
			}
		})
		n := map[string]int{}
		for _, o := range outcomes {
			n[o]++
		}
		want := map[string]int{"ADMITTED": 50, "WAITLISTED": 20, "FULL": len(parents) - 70}
		if diff := cmp.Diff(want, n); diff != "" {
			t.Fatalf("outcomes (-want +got):\n%s", diff)
		}
		var p models.ChildcareProgram
		if err := s1.DB.Take(&p, id).Error; err != nil {
			t.Fatal(err)
		}
		admitted := s1.Count("child_sign_ups", "program_id = ? AND status = ?", id, "ADMITTED")
		waiting := s1.Count("child_sign_ups", "program_id = ? AND status = ?", id, "WAITLISTED")
		if p.ConfirmedCount != 50 || p.WaitlistCount != 20 || admitted != 50 || waiting != 20 {
			t.Fatalf("counters %d/%d, rows %d/%d, want 50/20", p.ConfirmedCount, p.WaitlistCount, admitted, waiting)
		}
	})
}
