package training

import (
	"testing"
	"time"
)

func TestBanUntil(t *testing.T) {
	day := 24 * time.Hour
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(days ...int) []time.Time {
		out := make([]time.Time, len(days))
		for i, d := range days {
			out[i] = t0.Add(time.Duration(d) * day)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		noShows []time.Time
		want    time.Time
	}{
		{"none", nil, time.Time{}},
		{"under the limit", at(0, 10), time.Time{}},
		{"three within 90 days", at(0, 10, 80), t0.Add(110 * day)},
		{"spread over more than 90 days", at(0, 50, 91), time.Time{}},
		{"a later window counts", at(0, 50, 91, 120), t0.Add(150 * day)},
		{"exactly 90 days", at(0, 45, 90), t0.Add(120 * day)},
	} {
		if got := BanUntil(tc.noShows, 3, 90*day, 30*day); !got.Equal(tc.want) {
			t.Errorf("%s: BanUntil = %v, want %v", tc.name, got, tc.want)
		}
	}
}
