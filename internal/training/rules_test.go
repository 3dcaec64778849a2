package training_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"unionhall/internal/config"
	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

func TestEligibilityIsExplainedAndEnforced(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("dongcheng_admin").Access
		id := s.PublishedClass(admin, testutil.ClassInput(10, 0, map[string]any{"eligibility": map[string]any{
			"employmentForms": []string{"COURIER", "FOOD_DELIVERY"}, "gender": "FEMALE", "minAge": 20, "maxAge": 45, "verifiedOnly": true,
		}}))
		young := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
		cases := []struct {
			name   string
			spec   testutil.MemberSpec
			reason string
		}{
			{"eligible", func(_ int, m *models.Member) { m.Gender = models.GenderFemale }, ""},
			{"male", nil, "仅限女职工参加"},
			{"form", func(_ int, m *models.Member) {
				m.Gender, m.EmploymentForm = models.GenderFemale, models.EmploymentStandard
			}, "仅限快递员、外卖骑手参加"},
			{"pending", func(_ int, m *models.Member) { m.Gender, m.Status = models.GenderFemale, models.MembershipPending }, "仅限已通过审核的会员，您的会员资格正在审核中"},
			{"age", func(_ int, m *models.Member) { m.Gender, m.BirthDate = models.GenderFemale, &young }, "年龄需满 20 周岁"},
		}
		for _, tc := range cases {
			specs := []testutil.MemberSpec{}
			if tc.spec != nil {
				specs = append(specs, tc.spec)
			}
			tok := s.Members(1, "courier", specs...)[0].Access
			var out struct {
				TrainingClass struct{ IneligibleReason *string }
			}
			s.MustOK(tok, testutil.ClassQ, map[string]any{"id": id}, &out)
			_, r := s.Book(tok, id)
			if tc.reason == "" {
				if out.TrainingClass.IneligibleReason != nil || len(r.Errors) > 0 {
					t.Fatalf("%s: reason %v, booking errors %+v", tc.name, out.TrainingClass.IneligibleReason, r.Errors)
				}
				continue
			}
			if out.TrainingClass.IneligibleReason == nil || *out.TrainingClass.IneligibleReason != tc.reason {
				t.Fatalf("%s: ineligibleReason = %v, want %q", tc.name, out.TrainingClass.IneligibleReason, tc.reason)
			}
			testutil.WantCode(t, r, "NOT_ELIGIBLE")
			if r.Errors[0].Message != tc.reason {
				t.Fatalf("%s: message %q, want %q", tc.name, r.Errors[0].Message, tc.reason)
			}
		}
		// A member of another district does not see the class at all.
		other := s.Members(1, "rider", func(_ int, m *models.Member) { m.Gender = models.GenderFemale })[0].Access
		testutil.WantCode(t, s.Do(other, testutil.ClassQ, map[string]any{"id": id}), "NOT_FOUND")
		_, r := s.Book(other, id)
		testutil.WantCode(t, r, "NOT_FOUND")
		assertSeatInvariants(t, s, id)
	})
}

func TestNoShowRuleBarsBooking(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d, func(c *config.Config) { c.NoShowLimit, c.NoShowBanDays = 2, 30 })
		admin := s.LoginAdmin("donghua_admin")
		ids := []string{s.PublishedClass(admin.Access, testutil.ClassInput(2, 1, nil)), s.PublishedClass(admin.Access, testutil.ClassInput(5, 0, nil))}
		m := s.Members(3, "courier")
		for _, id := range ids {
			s.MustBook(m[0].Access, id)
			s.MustBook(m[1].Access, id)
		}
		if w := s.MustBook(m[2].Access, ids[0]); w.Status != "WAITLISTED" {
			t.Fatalf("third booking = %+v", w)
		}
		// m[1] attends the first class; m[0] attends neither.
		var b struct {
			TrainingClass struct{ MyBooking testutil.Booking }
		}
		s.MustOK(m[1].Access, testutil.ClassQ, map[string]any{"id": ids[0]}, &b)
		s.Clock.Set(testutil.At(4, "08:55"))
		admin = s.LoginAdmin("donghua_admin")
		s.MustOK(admin.Access, `mutation($id: ID!) { markAttendance(input: {bookingId: $id, attended: true}) { booking { status } } }`,
			map[string]any{"id": b.TrainingClass.MyBooking.ID}, nil)

		s.Clock.Set(testutil.At(5, "09:00")) // both classes are over
		n, err := s.App.Training.SweepNoShows(t.Context())
		if err != nil || n != 3 {
			t.Fatalf("swept %d, %v; want 3 no-shows", n, err)
		}
		if n, _ := s.App.Training.SweepNoShows(t.Context()); n != 0 {
			t.Fatalf("a second sweep marked %d", n)
		}
		// The ended class's waitlist is closed.
		var w struct {
			TrainingClass struct{ MyBooking testutil.Booking }
		}
		s.MustOK(s.Reissue(m[2]).Access, testutil.ClassQ, map[string]any{"id": ids[0]}, &w)
		if w.TrainingClass.MyBooking.Status != "CANCELLED" || w.TrainingClass.MyBooking.CancelReason != "课程已结束，候补未获得名额" {
			t.Fatalf("waitlisted booking after the class = %+v", w.TrainingClass.MyBooking)
		}
		assertSeatInvariants(t, s, ids[0])
		admin = s.LoginAdmin("donghua_admin")
		next := s.PublishedClass(admin.Access, testutil.ClassInput(5, 0, map[string]any{
			"sessions":        []map[string]any{{"startsAt": testutil.RFC(testutil.At(20, "09:00")), "endsAt": testutil.RFC(testutil.At(20, "11:00")), "place": "301"}},
			"bookingOpensAt":  testutil.RFC(testutil.At(5, "09:05")),
			"bookingClosesAt": testutil.RFC(testutil.At(19, "18:00")),
			"cancelDeadline":  testutil.RFC(testutil.At(19, "18:00")),
		}))
		m = []testutil.Tokens{s.Reissue(m[0]), s.Reissue(m[1])}
		_, r := s.Book(m[0].Access, next)
		testutil.WantCode(t, r, "NOT_ELIGIBLE")
		if !strings.Contains(r.Errors[0].Message, "缺席培训达 2 次") {
			t.Fatalf("reason = %q", r.Errors[0].Message)
		}
		s.MustBook(m[1].Access, next) // one no-show is under the limit

		var st struct {
			TrainingClass struct{ Stats map[string]int }
		}
		s.MustOK(admin.Access, `query($id: ID!) { trainingClass(id: $id) { stats { attended noShows } } }`, map[string]any{"id": ids[0]}, &st)
		if st.TrainingClass.Stats["attended"] != 1 || st.TrainingClass.Stats["noShows"] != 1 {
			t.Fatalf("stats = %v", st.TrainingClass.Stats)
		}
		// The bar ends 30 days after the last no-show (the second class's end).
		s.Clock.Set(testutil.At(4, "11:31").Add(30 * 24 * time.Hour))
		admin = s.LoginAdmin("donghua_admin")
		later := s.PublishedClass(admin.Access, testutil.ClassInput(5, 0, map[string]any{
			"sessions":        []map[string]any{{"startsAt": testutil.RFC(testutil.At(40, "09:00")), "endsAt": testutil.RFC(testutil.At(40, "11:00")), "place": "301"}},
			"bookingOpensAt":  testutil.RFC(testutil.At(34, "12:00")),
			"bookingClosesAt": testutil.RFC(testutil.At(39, "18:00")),
			"cancelDeadline":  testutil.RFC(testutil.At(39, "18:00")),
		}))
		s.MustBook(s.Reissue(m[0]).Access, later)
	})
}

func TestClassAdminRules(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := s.PublishedClass(admin, testutil.ClassInput(3, 5, nil))
		m := s.Members(6, "courier")
		for _, tok := range m {
			s.MustBook(tok.Access, id)
		}
		update := `mutation($in: UpdateTrainingClassInput!) { updateTrainingClass(input: $in) { trainingClass { version capacity confirmedCount waitlistCount } } }`

		// Another union's admin is refused, and so is a member.
		rider := s.LoginAdmin("rider_admin").Access
		for _, q := range []struct {
			q    string
			vars map[string]any
		}{
			{update, map[string]any{"in": map[string]any{"id": id, "version": 2, "title": "改标题"}}},
			{testutil.PublishClassQ, map[string]any{"id": id}},
			{`query($id: ID!) { classBookings(classId: $id) { edges { node { id } } } }`, map[string]any{"id": id}},
			{`query($id: ID!) { trainingClass(id: $id) { id } }`, map[string]any{"id": id}},
			{`mutation($id: ID!) { cancelTrainingClass(input: {id: $id, reason: "天气原因"}) { trainingClass { id } } }`, map[string]any{"id": id}},
		} {
			testutil.WantCode(t, s.Do(rider, q.q, q.vars), "FORBIDDEN")
		}
		testutil.WantCode(t, s.Do(m[0].Access, update, map[string]any{"in": map[string]any{"id": id, "version": 2}}), "FORBIDDEN")

		// Capacity never drops below the confirmed count.
		r := s.Do(admin, update, map[string]any{"in": map[string]any{"id": id, "version": 2, "capacity": 2}})
		testutil.WantCode(t, r, "VALIDATION_FAILED")
		if r.Field() != "capacity" {
			t.Fatalf("field = %q", r.Field())
		}
		// Growing it moves the waitlist up at once.
		var up struct {
			UpdateTrainingClass struct {
				TrainingClass struct{ Version, Capacity, ConfirmedCount, WaitlistCount int }
			}
		}
		s.MustOK(admin, update, map[string]any{"in": map[string]any{"id": id, "version": 2, "capacity": 5}}, &up)
		if got := up.UpdateTrainingClass.TrainingClass; got.Version != 3 || got.ConfirmedCount != 5 || got.WaitlistCount != 1 {
			t.Fatalf("after growing capacity: %+v", got)
		}
		// A stale edit is refused.
		testutil.WantCode(t, s.Do(admin, update, map[string]any{"in": map[string]any{"id": id, "version": 2, "title": "旧版本的修改"}}), "CONFLICT")
		assertSeatInvariants(t, s, id)

		// Cancelling the class cancels every booking, with the reason.
		s.MustOK(admin, `mutation($id: ID!) { cancelTrainingClass(input: {id: $id, reason: "授课老师临时有事"}) { trainingClass { status } } }`,
			map[string]any{"id": id}, nil)
		var seen struct {
			TrainingClass struct {
				Status, CancelReason string
				MyBooking            testutil.Booking
			}
		}
		s.MustOK(m[5].Access, testutil.ClassQ, map[string]any{"id": id}, &seen)
		if seen.TrainingClass.Status != "CANCELLED" || seen.TrainingClass.MyBooking.Status != "CANCELLED" ||
			seen.TrainingClass.MyBooking.CancelReason != "课程已取消：授课老师临时有事" {
			t.Fatalf("member sees %+v", seen)
		}
		_, r = s.Book(m[0].Access, id)
		testutil.WantCode(t, r, "WINDOW_CLOSED")
		assertSeatInvariants(t, s, id)
	})
}

func TestCreateClassRejectsBadInputAndStoresNothing(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		var before int64
		s.DB.Model(&models.TrainingClass{}).Count(&before)
		past := testutil.RFC(testutil.Epoch.Add(-time.Hour))
		for _, tc := range []struct {
			name, field string
			extra       map[string]any
		}{
			{"capacity", "capacity", map[string]any{"capacity": 0}},
			{"window in the past", "bookingClosesAt", map[string]any{"bookingOpensAt": testutil.RFC(testutil.Epoch.Add(-2 * time.Hour)), "bookingClosesAt": past, "cancelDeadline": past}},
			{"window reversed", "bookingClosesAt", map[string]any{"bookingOpensAt": testutil.RFC(testutil.At(2, "19:00"))}},
			{"no place", "sessions.0.place", map[string]any{"sessions": []map[string]any{{"startsAt": testutil.RFC(testutil.At(4, "09:00")), "endsAt": testutil.RFC(testutil.At(4, "10:00"))}}}},
			{"session ends first", "sessions.0.endsAt", map[string]any{"sessions": []map[string]any{{"startsAt": testutil.RFC(testutil.At(4, "09:00")), "endsAt": testutil.RFC(testutil.At(4, "08:00")), "place": "x"}}}},
			{"no sessions", "sessions", map[string]any{"sessions": []map[string]any{}}},
			{"title", "title", map[string]any{"title": " "}},
			{"http link", "coverUrl", map[string]any{"coverUrl": "javascript:alert(1)"}},
			{"ages", "eligibility.maxAge", map[string]any{"eligibility": map[string]any{"minAge": 50, "maxAge": 20}}},
			{"union outside", "eligibility.unionId", map[string]any{"eligibility": map[string]any{"unionId": s.UnionID("rider")}}},
		} {
			r := s.Do(admin, testutil.CreateClassQ, map[string]any{"in": testutil.ClassInput(10, 0, tc.extra)})
			if r.Code() != "VALIDATION_FAILED" || r.Field() != tc.field {
				t.Errorf("%s: code %q field %q (%v), want VALIDATION_FAILED on %s", tc.name, r.Code(), r.Field(), r.Errors, tc.field)
			}
		}
		var n int64
		s.DB.Model(&models.TrainingClass{}).Count(&n)
		if n != before {
			t.Fatalf("%d classes stored from bad input", n-before)
		}
		// Unknown ids and garbage are coded errors, not crashes.
		m := s.Members(1, "courier")[0].Access
		testutil.WantCode(t, s.Do(m, testutil.BookQ, map[string]any{"id": "999999"}), "NOT_FOUND")
		testutil.WantCode(t, s.Do(m, testutil.BookQ, map[string]any{"id": "abc"}), "VALIDATION_FAILED")
		testutil.WantCode(t, s.Do(m, testutil.CancelBookingQ, map[string]any{"id": "999999"}), "NOT_FOUND")
		testutil.WantCode(t, s.Do("", testutil.BookQ, map[string]any{"id": "1"}), "UNAUTHENTICATED")
	})
}

// The browse page of 20 classes with their union and the member's booking
// costs a fixed number of SQL statements, whatever the page size.
func TestBrowseStatementCount(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admins := map[string]string{"city": s.LoginAdmin("city_admin").Access, "donghua": s.LoginAdmin("donghua_admin").Access,
			"courier": s.LoginAdmin("courier_admin").Access}
		var ids []string
		for i := 0; i < 24; i++ {
			key := []string{"city", "donghua", "courier"}[i%3]
			ids = append(ids, s.PublishedClass(admins[key], testutil.ClassInput(5, 0, map[string]any{"title": fmt.Sprintf("课程 %d", i)})))
		}
		m := s.Members(1, "courier")[0].Access
		for _, id := range ids[:7] {
			s.MustBook(m, id)
		}
		q := `query($n: Int!) { trainingClasses(first: $n) { edges { node { id title seatsLeft ineligibleReason
			union { id name } myBooking { id status } } } pageInfo { hasNextPage endCursor } } }`
		counts := map[int]int64{}
		for _, size := range []int{5, 20} {
			before := s.DB.Statements()
			var out struct {
				TrainingClasses struct {
					Edges []struct {
						Node struct{ MyBooking *testutil.Booking }
					}
				}
			}
			s.MustOK(m, q, map[string]any{"n": size}, &out)
			counts[size] = s.DB.Statements() - before
			if len(out.TrainingClasses.Edges) != size {
				t.Fatalf("page of %d has %d classes", size, len(out.TrainingClasses.Edges))
			}
		}
		if counts[5] > 4 || counts[20] > counts[5] { // the second page finds the unions in the short cache
			t.Fatalf("statements per browse: %v (want at most 4, and no more for a larger page)", counts)
		}
		t.Logf("statements per browse page: %v", counts)
	})
}

func TestExportClassBookings(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := s.PublishedClass(admin, testutil.ClassInput(5, 5, nil))
		formula := func(i int, m *models.Member) {
			if i == 0 {
				m.RealName = "=HYPERLINK(\"x\")" // must not become a formula in the sheet
			}
		}
		for _, tok := range s.Members(3, "courier", formula) {
			s.MustBook(tok.Access, id)
		}
		get := func(token, query string) (*http.Response, []byte) {
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/export/class-bookings?"+query, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := s.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp, body
		}
		resp, body := get(admin, "classId="+id)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "filename*=UTF-8''") {
			t.Fatalf("export: %d %s", resp.StatusCode, body)
		}
		f, err := excelize.OpenReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := f.GetRows("报名名单")
		if len(rows) != 4 || rows[0][1] != "姓名" || !strings.HasPrefix(rows[1][1], "'=") || !strings.Contains(rows[1][2], "****") {
			t.Fatalf("rows = %v", rows)
		}
		if resp, _ := get(s.LoginAdmin("rider_admin").Access, "classId="+id); resp.StatusCode != 403 {
			t.Fatalf("another union's admin got %d", resp.StatusCode)
		}
		if resp, _ := get(s.Members(1, "courier")[0].Access, "classId="+id); resp.StatusCode != 403 {
			t.Fatalf("a member got %d", resp.StatusCode)
		}
		var n int64
		s.DB.Model(&models.AuditLog{}).Where("action = ?", "TRAINING_BOOKINGS_EXPORT").Count(&n)
		if n != 1 {
			t.Fatalf("%d export audit rows, want 1", n)
		}
	})
}

// The server's periodic job marks no-shows by itself.
func TestJobsMarkNoShows(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, store.SQLite)
	admin := s.LoginAdmin("donghua_admin").Access
	id := s.PublishedClass(admin, testutil.ClassInput(5, 0, nil))
	s.MustBook(s.Members(1, "courier")[0].Access, id)
	s.Clock.Set(testutil.At(5, "09:00"))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.App.RunJobs(ctx, time.Hour); close(done) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var n int64
		s.DB.Model(&models.TrainingBooking{}).Where("class_id = ? AND status = ?", id, "NO_SHOW").Count(&n)
		if n == 1 {
			return
		}
	}
	t.Fatal("the job did not mark the no-show")
}
