package training_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

func TestTrainingClassEndToEnd(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		var created struct {
			CreateTrainingClass struct{ TrainingClass struct{ ID string } }
		}
		s.MustOK(admin, testutil.CreateClassQ, map[string]any{"in": testutil.ClassInput(30, 5, nil)}, &created)
		id := created.CreateTrainingClass.TrainingClass.ID
		member := s.LoginMember("ivan") // not bound yet
		_ = member
		courierTok := s.Members(1, "courier")[0]
		courier := courierTok.Access

		// A draft is invisible to members.
		testutil.WantCode(t, s.Do(courier, testutil.ClassQ, map[string]any{"id": id}), "NOT_FOUND")
		var list struct {
			TrainingClasses struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		s.MustOK(courier, `{ trainingClasses { edges { node { id } } } }`, nil, &list)
		listed := func() bool {
			for _, e := range list.TrainingClasses.Edges {
				if e.Node.ID == id {
					return true
				}
			}
			return false
		}
		if listed() {
			t.Fatalf("draft listed to a member: %+v", list)
		}
		s.MustOK(admin, testutil.PublishClassQ, map[string]any{"id": id}, nil)
		s.Clock.Advance(10 * time.Minute) // the window opens

		s.MustOK(courier, `{ trainingClasses(filter: {upcoming: true, hasSeats: true, category: SAFETY}) { edges { node { id } } } }`, nil, &list)
		if !listed() {
			t.Fatalf("published class not listed: %+v", list)
		}
		b := s.MustBook(courier, id)
		if b.Status != "CONFIRMED" || b.CheckinCode == nil || len(*b.CheckinCode) != 20 ||
			*b.CheckinPayload != "unionhall:checkin:"+*b.CheckinCode {
			t.Fatalf("booking = %+v", b)
		}
		// A retry returns the same booking.
		if again := s.MustBook(courier, id); again.ID != b.ID {
			t.Fatalf("retry gave booking %s, want %s", again.ID, b.ID)
		}
		var cls struct {
			TrainingClass struct {
				SeatsLeft        int
				IneligibleReason *string
				MyBooking        *testutil.Booking
				Sessions         []struct{ Place string }
			}
		}
		s.MustOK(courier, testutil.ClassQ, map[string]any{"id": id}, &cls)
		if cls.TrainingClass.SeatsLeft != 29 || cls.TrainingClass.MyBooking == nil || cls.TrainingClass.MyBooking.ID != b.ID ||
			cls.TrainingClass.IneligibleReason != nil || cls.TrainingClass.Sessions[0].Place != "职工服务中心 301" {
			t.Fatalf("class seen by its booker = %+v", cls)
		}

		// The admin's list shows the member masked, and no check-in code.
		var bookings struct {
			ClassBookings struct {
				Edges []struct {
					Node struct {
						Status      string
						CheckinCode *string
						Member      struct{ Phone string }
					}
				}
			}
		}
		s.MustOK(admin, `query($id: ID!) { classBookings(classId: $id) { edges { node { status checkinCode member { phone } } } } }`,
			map[string]any{"id": id}, &bookings)
		if n := bookings.ClassBookings.Edges; len(n) != 1 || n[0].Node.CheckinCode != nil || n[0].Node.Member.Phone[3:7] != "****" {
			t.Fatalf("admin list = %+v", bookings)
		}

		// Check-in by the QR payload (from two hours before the session),
		// idempotent; stats count it.
		s.Clock.Set(testutil.At(4, "08:30"))
		admin = s.LoginAdmin("donghua_admin").Access
		courier = s.Reissue(courierTok).Access
		checkin := `mutation($c: String!) { checkInBooking(input: {code: $c}) { booking { id status checkedInAt } } }`
		var ci struct {
			CheckInBooking struct{ Booking struct{ ID, Status string } }
		}
		s.MustOK(admin, checkin, map[string]any{"c": *b.CheckinPayload}, &ci)
		s.MustOK(admin, checkin, map[string]any{"c": *b.CheckinCode}, &ci)
		if ci.CheckInBooking.Booking.ID != b.ID || ci.CheckInBooking.Booking.Status != "ATTENDED" {
			t.Fatalf("check-in = %+v", ci)
		}
		testutil.WantCode(t, s.Do(admin, checkin, map[string]any{"c": "0000000000AAAAAAAAAA"}), "NOT_FOUND")
		var stats struct {
			TrainingClass struct{ Stats map[string]int }
		}
		s.MustOK(admin, `query($id: ID!) { trainingClass(id: $id) { stats { confirmed waitlisted attended noShows cancelled } } }`,
			map[string]any{"id": id}, &stats)
		if diff := cmp.Diff(map[string]int{"confirmed": 0, "waitlisted": 0, "attended": 1, "noShows": 0, "cancelled": 0}, stats.TrainingClass.Stats); diff != "" {
			t.Fatalf("stats (-want +got):\n%s", diff)
		}
		// Members never see stats.
		var ms struct {
			TrainingClass struct{ Stats *map[string]int }
		}
		s.MustOK(courier, `query($id: ID!) { trainingClass(id: $id) { stats { confirmed } } }`, map[string]any{"id": id}, &ms)
		if ms.TrainingClass.Stats != nil {
			t.Fatal("a member saw stats")
		}
	})
}

func TestWaitlistPromotionAndCancellation(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := s.PublishedClass(admin, testutil.ClassInput(2, 2, nil))
		m := s.Members(5, "courier")
		b0, b1 := s.MustBook(m[0].Access, id), s.MustBook(m[1].Access, id)
		w2, w3 := s.MustBook(m[2].Access, id), s.MustBook(m[3].Access, id)
		if b0.Status != "CONFIRMED" || b1.Status != "CONFIRMED" || w2.Status != "WAITLISTED" || *w2.WaitlistPosition != 1 ||
			w3.Status != "WAITLISTED" || *w3.WaitlistPosition != 2 {
			t.Fatalf("bookings = %+v %+v %+v %+v", b0, b1, w2, w3)
		}
		_, r := s.Book(m[4].Access, id)
		testutil.WantCode(t, r, "FULL")
		// The full class explains itself to the one left out, not to those in.
		var seen struct {
			TrainingClass struct{ IneligibleReason *string }
		}
		s.MustOK(m[4].Access, testutil.ClassQ, map[string]any{"id": id}, &seen)
		if seen.TrainingClass.IneligibleReason == nil || *seen.TrainingClass.IneligibleReason != "名额已满，候补名单也已排满" {
			t.Fatalf("left out sees reason %v", seen.TrainingClass.IneligibleReason)
		}
		s.MustOK(m[0].Access, testutil.ClassQ, map[string]any{"id": id}, &seen)
		if seen.TrainingClass.IneligibleReason != nil {
			t.Fatalf("a booked member sees reason %q", *seen.TrainingClass.IneligibleReason)
		}

		// A confirmed member cancels: the head of the waitlist gets the seat.
		var c struct {
			CancelBooking struct{ Booking testutil.Booking }
		}
		s.MustOK(m[0].Access, testutil.CancelBookingQ, map[string]any{"id": b0.ID}, &c)
		if c.CancelBooking.Booking.Status != "CANCELLED" || c.CancelBooking.Booking.CancelReason != "本人取消" {
			t.Fatalf("cancel = %+v", c)
		}
		s.MustOK(m[0].Access, testutil.CancelBookingQ, map[string]any{"id": b0.ID}, &c) // a retry is harmless
		var cls struct {
			TrainingClass struct {
				SeatsLeft, ConfirmedCount, WaitlistCount int
				MyBooking                                testutil.Booking
			}
		}
		s.MustOK(m[2].Access, testutil.ClassQ, map[string]any{"id": id}, &cls)
		if cls.TrainingClass.MyBooking.Status != "CONFIRMED" || cls.TrainingClass.ConfirmedCount != 2 || cls.TrainingClass.WaitlistCount != 1 {
			t.Fatalf("after cancel, head of waitlist sees %+v", cls)
		}
		s.MustOK(m[3].Access, testutil.ClassQ, map[string]any{"id": id}, &cls)
		if cls.TrainingClass.MyBooking.Status != "WAITLISTED" || *cls.TrainingClass.MyBooking.WaitlistPosition != 1 {
			t.Fatalf("second in line sees %+v", cls)
		}
		// Another member cannot cancel someone else's booking.
		testutil.WantCode(t, s.Do(m[4].Access, testutil.CancelBookingQ, map[string]any{"id": b1.ID}), "NOT_FOUND")
		// The waitlisted member withdraws: the waitlist frees a place.
		s.MustOK(m[3].Access, testutil.CancelBookingQ, map[string]any{"id": w3.ID}, nil)
		if b := s.MustBook(m[4].Access, id); b.Status != "WAITLISTED" || *b.WaitlistPosition != 1 {
			t.Fatalf("late booking = %+v", b)
		}
		// The member who cancelled may book again: at the back of the queue.
		if b := s.MustBook(m[0].Access, id); b.Status != "WAITLISTED" || *b.WaitlistPosition != 2 || b.ID == b0.ID {
			t.Fatalf("booking again = %+v", b)
		}
		_, r = s.Book(m[1].Access, id) // holds a seat already: the same booking
		if r.Code() != "" {
			t.Fatalf("rebooking a held seat: %+v", r.Errors)
		}

		var mine struct {
			MyBookings struct {
				Edges []struct{ Node struct{ Status string } }
			}
		}
		s.MustOK(m[0].Access, `{ myBookings { edges { node { status class { id title } } } } }`, nil, &mine)
		if len(mine.MyBookings.Edges) != 2 || mine.MyBookings.Edges[0].Node.Status != "WAITLISTED" || mine.MyBookings.Edges[1].Node.Status != "CANCELLED" {
			t.Fatalf("myBookings = %+v", mine)
		}
		assertSeatInvariants(t, s, id)
	})
}

func TestBookingWindowsAndCancelDeadline(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		var out struct {
			CreateTrainingClass struct{ TrainingClass struct{ ID string } }
		}
		s.MustOK(admin, testutil.CreateClassQ, map[string]any{"in": testutil.ClassInput(5, 0, nil)}, &out)
		id := out.CreateTrainingClass.TrainingClass.ID
		s.MustOK(admin, testutil.PublishClassQ, map[string]any{"id": id}, nil)
		m := s.Members(2, "courier")

		_, r := s.Book(m[0].Access, id) // before the window opens
		testutil.WantCode(t, r, "WINDOW_CLOSED")
		s.Clock.Set(testutil.Epoch.Add(6 * time.Minute))
		b := s.MustBook(m[0].Access, id)

		s.Clock.Set(testutil.At(2, "18:00")) // the window has just closed
		m = []testutil.Tokens{s.Reissue(m[0]), s.Reissue(m[1])}
		_, r = s.Book(m[1].Access, id)
		testutil.WantCode(t, r, "WINDOW_CLOSED")

		s.Clock.Set(testutil.At(3, "12:00")) // the cancel deadline
		m[0] = s.Reissue(m[0])
		testutil.WantCode(t, s.Do(m[0].Access, testutil.CancelBookingQ, map[string]any{"id": b.ID}), "WINDOW_CLOSED")
		var cls struct{ TrainingClass struct{ ConfirmedCount int } }
		s.MustOK(m[0].Access, testutil.ClassQ, map[string]any{"id": id}, &cls)
		if cls.TrainingClass.ConfirmedCount != 1 {
			t.Fatalf("a refused cancel changed the count: %+v", cls)
		}
	})
}

// assertSeatInvariants checks a class's counters against its booking rows:
// never more seats given than capacity, counters equal to the rows, no one
// waiting while a seat is free, and one active booking per member.
func assertSeatInvariants(t *testing.T, s *testutil.Server, classID string) {
	t.Helper()
	var c models.TrainingClass
	if err := s.DB.Take(&c, classID).Error; err != nil {
		t.Fatal(err)
	}
	count := func(where string, args ...any) int {
		var n int64
		if err := s.DB.Model(&models.TrainingBooking{}).Where("class_id = ?", c.ID).Where(where, args...).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return int(n)
	}
	seated := count("status IN ?", []string{"CONFIRMED", "ATTENDED", "NO_SHOW"})
	waiting := count("status = ?", "WAITLISTED")
	if seated > c.Capacity || seated != c.ConfirmedCount || waiting != c.WaitlistCount || waiting > c.WaitlistLimit {
		t.Fatalf("class %d: capacity %d, counters %d/%d, rows seated %d waiting %d", c.ID, c.Capacity, c.ConfirmedCount, c.WaitlistCount, seated, waiting)
	}
	if waiting > 0 && seated < c.Capacity {
		t.Fatalf("class %d: %d waiting while %d of %d seats are taken", c.ID, waiting, seated, c.Capacity)
	}
	var dup int64
	s.DB.Raw("SELECT COUNT(*) FROM (SELECT member_id FROM training_bookings WHERE class_id = ? AND active = 1 GROUP BY member_id HAVING COUNT(*) > 1) x", c.ID).Scan(&dup)
	if dup > 0 {
		t.Fatalf("class %d: %d members with more than one active booking", c.ID, dup)
	}
}
