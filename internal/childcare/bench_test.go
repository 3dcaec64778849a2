package childcare_test

import (
	"fmt"
	"testing"
	"time"

	"unionhall/internal/testutil"
	"unionhall/models"
)

// BenchmarkChildcareAllocation is the allocation at close of a city's
// holiday: 3,000 sign-ups over 60 programmes (40 places and 5 waitlist
// places each, a quarter of the parents in a priority group; half the
// programmes PRIORITY, half LOTTERY), run by the periodic job's entry
// point. It reports the SQL statements a run takes. Results are in
// docs/BENCHMARKS.md:
//
//	TEST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/' go test -run '^$' -bench ChildcareAllocation -benchtime 10x ./internal/app/
func BenchmarkChildcareAllocation(b *testing.B) {
	for _, d := range testutil.Backends(b) {
		b.Run(string(d), func(b *testing.B) {
			const programmes, perProgramme = 60, 50
			s := testutil.NewServer(b, d)
			now := s.Clock.Now()
			var admin models.Admin
			if err := s.DB.Where("username = ?", "city_admin").Take(&admin).Error; err != nil {
				b.Fatal(err)
			}
			var city models.Union
			if err := s.DB.Take(&city, s.Demo.Unions["city"]).Error; err != nil {
				b.Fatal(err)
			}
			progs := make([]*models.ChildcareProgram, programmes)
			for i := range progs {
				mode := models.AdmissionPriority
				if i%2 == 1 {
					mode = models.AdmissionLottery
				}
				progs[i] = &models.ChildcareProgram{UnionID: city.ID, Title: fmt.Sprintf("托管班 %d", i), Place: "职工服务中心",
					StartsOn: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), EndsOn: time.Date(2026, 7, 31, 0, 0, 0, 0, time.UTC),
					DailyStart: "08:00", DailyEnd: "17:30", ChildMinAge: 6, ChildMaxAge: 12, Capacity: 40, WaitlistLimit: 5,
					SignUpOpensAt: now.Add(-time.Hour), SignUpClosesAt: now.Add(time.Hour), AdmissionMode: mode,
					LotterySeed: fmt.Sprintf("%064x", i+1), Eligibility: models.Eligibility{EligPath: city.Path},
					Status: models.OfferingPublished, Version: 1, CreatedBy: admin.ID, PublishedAt: &now, CreatedAt: now, UpdatedAt: now}
			}
			if err := s.DB.Create(&progs).Error; err != nil {
				b.Fatal(err)
			}
			parents := s.Members(programmes*perProgramme, "courier")
			children := childrenOf(b, s, parents, time.Date(2017, 4, 1, 0, 0, 0, 0, time.UTC))
			signUps := make([]*models.ChildSignUp, len(parents))
			for i := range signUps {
				var member, child int64
				fmt.Sscan(parents[i].ID, &member)
				fmt.Sscan(children[i], &child)
				signUps[i] = &models.ChildSignUp{ProgramID: progs[i/perProgramme].ID, ChildID: child, MemberID: member,
					Status: models.ChildSignUpPending, Active: testutil.Ptr(true), PriorityRank: min(i%4, 1),
					CreatedAt: now.Add(time.Duration(i) * time.Second), UpdatedAt: now}
			}
			if err := s.DB.CreateInBatches(signUps, 500).Error; err != nil {
				b.Fatal(err)
			}
			s.Clock.Advance(2 * time.Hour) // the windows have closed
			reset := func() {
				for _, q := range []string{
					"UPDATE child_sign_ups SET status = 'PENDING', active = 1, wait_seq = NULL, reject_reason = '', ended_at = NULL",
					"UPDATE childcare_programs SET allocated_at = NULL, confirmed_count = 0, waitlist_count = 0, waitlist_seq = 0",
					"DELETE FROM allocation_runs",
				} {
					if err := s.DB.Exec(q).Error; err != nil {
						b.Fatal(err)
					}
				}
			}
			var statements int64
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				reset()
				before := s.DB.Statements()
				b.StartTimer()
				n, err := s.App.Childcare.AllocateDueChildcare(b.Context())
				b.StopTimer()
				statements += s.DB.Statements() - before
				if err != nil || n != programmes {
					b.Fatalf("allocated %d programmes: %v", n, err)
				}
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(float64(statements)/float64(b.N), "statements/op")
			if got := s.Count("child_sign_ups", "status = ?", "ADMITTED"); got != programmes*40 {
				b.Fatalf("%d admitted, want %d", got, programmes*40)
			}
		})
	}
}
