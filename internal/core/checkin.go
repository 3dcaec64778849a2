package core

import (
	"time"

	"unionhall/internal/apperr"
	"unionhall/internal/clock"
)

// Every check-in (a training booking's code, an event sign-up's code, a
// matchmaking participant at the venue, a child at the childcare door) is
// taken only around the session it is for: from checkInLead before the
// start until the end, or, for a session with no end, until
// checkInNoEndSpan after the start. A code scanned days early is refused,
// and changes nothing.
const (
	checkInLead      = 2 * time.Hour
	checkInNoEndSpan = 4 * time.Hour
)

// CheckInWindow is when a session from start to end (zero: none) takes
// check-ins: [from, to).
func CheckInWindow(start, end time.Time) (from, to time.Time) {
	from = start.Add(-checkInLead)
	if end.IsZero() || end.Before(start) {
		return from, start.Add(checkInNoEndSpan)
	}
	return from, end
}

// CheckInOpen is the one check-in window rule: nil when now is inside the
// window of the session from start to end (zero end: none).
// Codes: WINDOW_CLOSED (too early, saying from when; or over).
func CheckInOpen(now, start, end time.Time) error {
	from, to := CheckInWindow(start, end)
	switch {
	case now.Before(from):
		return apperr.Newf(apperr.WindowClosed, "签到尚未开始（开始前 %d 小时起可签到，即 %s 起）",
			int(checkInLead/time.Hour), clock.Minutes(from))
	case !now.Before(to):
		return apperr.Newf(apperr.WindowClosed, "签到已结束（%s 截止）", clock.Minutes(to))
	}
	return nil
}

// Span is one session's start and end.
type Span struct{ Start, End time.Time }

// CheckInOpenAny is checkInOpen for an offering of several sessions (in
// time order): open while any session's window is; otherwise the refusal
// names the next session's window, or says the last one is over.
func CheckInOpenAny(now time.Time, sessions []Span) error {
	if len(sessions) == 0 {
		return apperr.New(apperr.WindowClosed, "没有可签到的场次")
	}
	var err error
	for _, s := range sessions {
		if err = CheckInOpen(now, s.Start, s.End); err == nil {
			return nil
		}
		if _, to := CheckInWindow(s.Start, s.End); now.Before(to) {
			return err // the next session's window has not opened yet
		}
	}
	return err // every session is over
}
