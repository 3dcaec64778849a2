// Package clock is the one source of "now", so windows and deadlines can be
// tested by moving a fake clock instead of sleeping.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time, in UTC truncated to microseconds (what both
// databases store).
type Clock interface{ Now() time.Time }

// Real is the wall clock.
type Real struct{}

func (Real) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Fake is a settable clock for tests.
type Fake struct {
	mu sync.Mutex
	t  time.Time
}

// NewFake starts a fake clock at t.
func NewFake(t time.Time) *Fake { return &Fake{t: t.UTC().Truncate(time.Microsecond)} }

func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

// Set moves the clock to t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.t = t.UTC().Truncate(time.Microsecond)
	f.mu.Unlock()
}

// Advance moves the clock by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// China is UTC+8 (China has one zone and no daylight saving), fixed so the
// host's tzdata does not matter. Dates members see, days a programme runs
// and the wire format of times are all China time.
var China = time.FixedZone("CST", 8*3600)

// Minutes formats t as China time to the minute, for messages
// ("报名尚未开始，将于 2026-07-01 09:00 开放").
func Minutes(t time.Time) string { return t.In(China).Format("2006-01-02 15:04") }

// Seconds formats t as China time to the second, for exported lists.
func Seconds(t time.Time) string { return t.In(China).Format("2006-01-02 15:04:05") }

// Today is the calendar date in China at t, as midnight UTC of that date
// (how dates are stored).
func Today(t time.Time) time.Time {
	c := t.In(China)
	return time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, time.UTC)
}
