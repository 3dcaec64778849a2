package training_test

import (
	"strings"
	"testing"

	"unionhall/internal/store"
	"unionhall/internal/testutil"
	"unionhall/models"
)

const checkInBookingQ = `mutation($c: String!) { checkInBooking(input: {code: $c}) { booking { id status checkedInAt } } }`

// A training check-in is taken from two hours before the session until its
// end: days early or after the end it is refused and changes nothing.
func TestTrainingCheckInWindow(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d)
		admin := s.LoginAdmin("donghua_admin").Access
		id := s.PublishedClass(admin, testutil.ClassInput(5, 0, nil)) // testutil.At(4) 09:00–11:30
		m := s.Members(2, "courier")
		early, late := s.MustBook(m[0].Access, id), s.MustBook(m[1].Access, id)
		unchanged := func(b testutil.Booking) {
			t.Helper()
			var row models.TrainingBooking
			s.DB.Take(&row, b.ID)
			if row.Status != models.BookingConfirmed || row.CheckedInAt != nil {
				t.Fatalf("a refused check-in changed the booking: %s %v", row.Status, row.CheckedInAt)
			}
		}

		testutil.WantWindowClosed(t, s.Do(admin, checkInBookingQ, map[string]any{"c": *early.CheckinPayload}), "签到尚未开始")
		testutil.WantWindowClosed(t, s.Do(admin, `mutation($id: ID!) { markAttendance(input: {bookingId: $id, attended: true}) { booking { status } } }`,
			map[string]any{"id": early.ID}), "签到尚未开始")
		unchanged(early)
		s.Clock.Set(testutil.At(4, "06:59"))
		admin = s.LoginAdmin("donghua_admin").Access
		testutil.WantWindowClosed(t, s.Do(admin, checkInBookingQ, map[string]any{"c": *early.CheckinCode}), "07:00")
		unchanged(early)

		s.Clock.Set(testutil.At(4, "07:00"))
		admin = s.LoginAdmin("donghua_admin").Access
		var ci struct {
			CheckInBooking struct{ Booking struct{ ID, Status string } }
		}
		s.MustOK(admin, checkInBookingQ, map[string]any{"c": " " + strings.ToLower(*early.CheckinCode) + "\n"}, &ci)
		if ci.CheckInBooking.Booking.ID != early.ID || ci.CheckInBooking.Booking.Status != "ATTENDED" {
			t.Fatalf("check-in = %+v", ci)
		}

		s.Clock.Set(testutil.At(4, "11:30"))
		admin = s.LoginAdmin("donghua_admin").Access
		s.MustOK(admin, checkInBookingQ, map[string]any{"c": *early.CheckinCode}, nil) // a retry still answers
		testutil.WantWindowClosed(t, s.Do(admin, checkInBookingQ, map[string]any{"c": *late.CheckinCode}), "签到已结束")
		unchanged(late)
		// The list is how an admin corrects the record afterwards.
		s.MustOK(admin, `mutation($id: ID!) { markAttendance(input: {bookingId: $id, attended: true}) { booking { status } } }`,
			map[string]any{"id": late.ID}, nil)
	})
}
