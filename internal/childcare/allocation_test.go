package childcare_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

type allocationOut struct {
	RanAt, Mode, Seed, Algorithm               string
	Candidates, Admitted, Waitlisted, Rejected int
}

func runAllocation(t *testing.T, s *testutil.Server, admin, id string) allocationOut {
	t.Helper()
	var out struct {
		RunChildcareAllocation struct {
			ChildcareProgram struct{ Allocation *allocationOut }
		}
	}
	s.MustOK(admin, runAllocQ, map[string]any{"id": id}, &out)
	if out.RunChildcareAllocation.ChildcareProgram.Allocation == nil {
		t.Fatal("no allocation after runChildcareAllocation")
	}
	return *out.RunChildcareAllocation.ChildcareProgram.Allocation
}

type placed struct {
	Status  models.ChildSignUpStatus
	WaitSeq *int64
	Reason  string
}

// placements is every sign-up of a programme as stored.
func placements(t *testing.T, s *testutil.Server, id string) map[int64]placed {
	t.Helper()
	var rows []models.ChildSignUp
	if err := s.DB.Where("program_id = ?", id).Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	out := map[int64]placed{}
	for _, r := range rows {
		out[r.ID] = placed{r.Status, r.WaitSeq, r.RejectReason}
	}
	return out
}

// PRIORITY and LOTTERY at close: priority groups first (an employment form,
// a double-worker family), then sign-up time or the draw; the job runs it by
// itself when the window closes; running it again changes nothing; the
// lottery is recomputed here from the seed and the sign-up list alone.
func TestChildcareAllocationAtClose(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		for _, mode := range []string{"PRIORITY", "LOTTERY"} {
			t.Run(mode, func(t *testing.T) {
				s := testutil.NewServer(t, d)
				admin := s.LoginAdmin("city_admin").Access
				var created struct {
					CreateChildcareProgram struct {
						ChildcareProgram struct{ ID, LotterySeedHash string }
					}
				}
				s.MustOK(admin, createProgramQ, map[string]any{"in": programInput(mode, 3, 2, map[string]any{
					"priorityEmploymentForms": []string{"FOOD_DELIVERY"}, "priorityDoubleWorker": true})}, &created)
				id, seedHash := created.CreateChildcareProgram.ChildcareProgram.ID, created.CreateChildcareProgram.ChildcareProgram.LotterySeedHash
				s.MustOK(admin, publishProgQ, map[string]any{"id": id}, nil)
				s.Clock.Advance(10 * time.Minute)
				parents := s.Members(8, "courier", func(i int, m *models.Member) {
					if i < 2 {
						m.EmploymentForm = models.EmploymentFoodDelivery
					}
				})
				type entry struct {
					id       int64
					priority bool
				}
				var entries []entry
				signUpIDs := map[int64]string{}
				for i, p := range parents {
					p = s.Reissue(p)
					child := registerChild(t, s, p.Access, childInput(fmt.Sprintf("孩子%c", '甲'+rune(i)), "2018-03-01"))
					var out struct{ SignUpChild struct{ SignUp childSignUp } }
					s.MustOK(p.Access, signUpChildQ, map[string]any{"p": id, "c": child, "dw": i == 7}, &out)
					su := out.SignUpChild.SignUp
					if su.Status != "PENDING" || su.Priority != (i < 2 || i == 7) {
						t.Fatalf("sign-up %d = %+v", i, su)
					}
					entries = append(entries, entry{testutil.MustID(t, su.ID), su.Priority})
					signUpIDs[testutil.MustID(t, su.ID)] = p.Access
					s.Clock.Advance(time.Minute) // sign-up times in this order
				}

				// The window closes; the periodic job allocates by itself.
				s.Clock.Set(testutil.At(3, "18:01"))
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() { s.App.RunJobs(ctx, time.Hour); close(done) }()
				deadline := time.Now().Add(10 * time.Second)
				for s.Count("childcare_programs", "id = ? AND allocated_at IS NOT NULL", id) == 0 {
					if time.Now().After(deadline) {
						t.Fatal("the job did not allocate")
					}
					time.Sleep(10 * time.Millisecond)
				}
				cancel()
				<-done
				first := placements(t, s, id)

				admin = s.LoginAdmin("city_admin").Access
				got := runAllocation(t, s, admin, id)
				if got.Candidates != 8 || got.Admitted != 3 || got.Waitlisted != 2 || got.Rejected != 3 || got.Mode != mode {
					t.Fatalf("allocation = %+v", got)
				}
				if again := runAllocation(t, s, admin, id); again != got {
					t.Fatalf("second run answered differently:\n%+v\n%+v", got, again)
				}
				if diff := cmp.Diff(first, placements(t, s, id)); diff != "" {
					t.Fatalf("running again changed the result (-first +now):\n%s", diff)
				}
				if n := s.Count("allocation_runs", "kind = ? AND offering_id = ?", "childcare", id); n != 1 {
					t.Fatalf("%d allocation runs", n)
				}

				// Recompute from the published rule: rank, then time (id order
				// here) or SHA-256(seed ":" id).
				if mode == "LOTTERY" {
					sum := sha256.Sum256([]byte(got.Seed))
					if hex.EncodeToString(sum[:]) != seedHash || len(got.Seed) != 64 {
						t.Fatalf("the seed %q does not match the hash %s shown before the draw", got.Seed, seedHash)
					}
				} else if got.Seed != "" {
					t.Fatalf("a priority allocation shows a seed %q", got.Seed)
				}
				key := func(id int64) string {
					if mode == "PRIORITY" {
						return fmt.Sprintf("%020d", id)
					}
					sum := sha256.Sum256([]byte(fmt.Sprintf("%s:%d", got.Seed, id)))
					return hex.EncodeToString(sum[:])
				}
				sort.Slice(entries, func(i, j int) bool {
					if entries[i].priority != entries[j].priority {
						return entries[i].priority
					}
					return key(entries[i].id) < key(entries[j].id)
				})
				for i, e := range entries {
					p := first[e.id]
					switch {
					case i < 3 && p.Status != models.ChildSignUpAdmitted,
						i >= 3 && i < 5 && (p.Status != models.ChildSignUpWaitlisted || p.WaitSeq == nil || *p.WaitSeq != int64(i-2)),
						i >= 5 && (p.Status != models.ChildSignUpRejected || p.Reason == ""):
						t.Fatalf("place %d (sign-up %d, priority %v) = %+v", i+1, e.id, e.priority, p)
					}
				}
				// Parents see the outcome, their ticket and their place.
				headTok := s.Reissue(testutil.Tokens{Access: signUpIDs[entries[3].id], ID: fmt.Sprint(parentOf(t, s, entries[3].id))}).Access
				head := getSignUp(t, s, headTok, fmt.Sprint(entries[3].id))
				if head.WaitlistPosition == nil || *head.WaitlistPosition != 1 || (mode == "LOTTERY") != (head.DrawKey != nil) {
					t.Fatalf("the waitlist head sees %+v", head)
				}
				if head.DrawKey != nil && *head.DrawKey != key(entries[3].id) {
					t.Fatalf("draw key %s, recomputed %s", *head.DrawKey, key(entries[3].id))
				}
				// Sign-ups have ended; a withdrawal moves the head up.
				late := s.Members(1, "courier")[0].Access
				_, r := signUp(t, s, late, id, registerChild(t, s, late, childInput("晚来", "2018-03-01")))
				testutil.WantCode(t, r, "WINDOW_CLOSED")
				firstTok := s.Reissue(testutil.Tokens{Access: signUpIDs[entries[0].id], ID: fmt.Sprint(parentOf(t, s, entries[0].id))}).Access
				s.MustOK(firstTok, withdrawQ, map[string]any{"id": fmt.Sprint(entries[0].id)}, nil)
				if now := placements(t, s, id)[entries[3].id]; now.Status != models.ChildSignUpAdmitted {
					t.Fatalf("the waitlist head after a withdrawal = %+v", now)
				}
			})
		}
	})
}

func parentOf(t *testing.T, s *testutil.Server, signUpID int64) int64 {
	t.Helper()
	var su models.ChildSignUp
	if err := s.DB.Take(&su, signUpID).Error; err != nil {
		t.Fatal(err)
	}
	return su.MemberID
}

// Two instances on one database, admins and the periodic job on both, all
// at the same moment: one run, one result, and every caller sees it.
func TestChildcareAllocationOnTwoInstancesAtOnce(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s1 := testutil.NewServer(t, d)
		s2 := testutil.NewServerOn(t, s1.DB)
		admin := s1.LoginAdmin("donghua_admin").Access
		id := publishedProgram(t, s1, admin, programInput("LOTTERY", 10, 5, map[string]any{"priorityEmploymentForms": []string{"COURIER"}}))
		parents := s1.Members(40, "courier", func(i int, m *models.Member) {
			if i%4 != 0 {
				m.EmploymentForm = models.EmploymentStandard
			}
		})
		for i, p := range parents {
			child := registerChild(t, s1, p.Access, childInput("孩子"+string(rune(0x4e00+i)), "2017-05-05"))
			mustSignUp(t, s1, p.Access, id, child)
		}
		s1.Clock.Set(testutil.At(3, "18:01"))
		s2.Clock.Set(testutil.At(3, "18:01"))
		admin = s1.LoginAdmin("donghua_admin").Access
		servers := []*testutil.Server{s1, s2}
		results := make([]string, 16)
		testutil.Race(16, 16, func(i int) {
			s := servers[i%2]
			if i%4 == 3 { // the job on this instance
				if _, err := s.App.Childcare.AllocateDueChildcare(t.Context()); err != nil {
					results[i] = "job error " + err.Error()
				}
				return
			}
			r, err := s.Try(admin, runAllocQ, map[string]any{"id": id})
			if err != nil || len(r.Errors) > 0 {
				results[i] = fmt.Sprint("error ", err, r)
				return
			}
			results[i] = string(r.Data)
		})
		var want string
		for i, r := range results {
			if i%4 == 3 {
				if r != "" {
					t.Fatal(r)
				}
				continue
			}
			if want == "" {
				want = r
			}
			if r != want {
				t.Fatalf("callers saw different results:\n%s\n%s", want, r)
			}
		}
		var out struct {
			RunChildcareAllocation struct {
				ChildcareProgram struct {
					AdmittedCount, WaitlistCount int
					Allocation                   allocationOut
				}
			}
		}
		if err := json.Unmarshal([]byte(want), &out); err != nil {
			t.Fatal(err)
		}
		p := out.RunChildcareAllocation.ChildcareProgram
		if p.AdmittedCount != 10 || p.WaitlistCount != 5 || p.Allocation.Admitted != 10 || p.Allocation.Rejected != 25 {
			t.Fatalf("result = %+v", p)
		}
		if n := s1.Count("allocation_runs", "kind = ? AND offering_id = ?", "childcare", id); n != 1 {
			t.Fatalf("%d allocation runs, want 1", n)
		}
		for status, want := range map[string]int64{"ADMITTED": 10, "WAITLISTED": 5, "REJECTED": 25, "PENDING": 0} {
			if n := s1.Count("child_sign_ups", "program_id = ? AND status = ?", id, status); n != want {
				t.Fatalf("%d %s, want %d", n, status, want)
			}
		}
		// The ten priority (courier) children come first: all admitted.
		if n := s1.Count("child_sign_ups", "program_id = ? AND status = ? AND priority_rank = 0", id, "ADMITTED"); n != 10 {
			t.Fatalf("%d priority children admitted, want 10", n)
		}
		if n := s1.Count("audit_logs", "action = ?", "CHILDCARE_ALLOCATE"); n > 1 {
			t.Fatalf("%d allocation audit rows", n)
		}
	})
}
