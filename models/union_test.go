package models

import (
	"sort"
	"testing"
)

func TestSubtreeRange(t *testing.T) {
	paths := []string{"/1/", "/1/3/", "/1/3/7/", "/1/30/", "/1/31/4/", "/1/3/70/", "/2/", "/1/4/", "/1/2/"}
	sort.Strings(paths)
	lo, hi := SubtreeRange("/1/3/")
	var in []string
	for _, p := range paths {
		if p >= lo && p < hi {
			in = append(in, p)
		}
		if (p >= lo && p < hi) != PathContains("/1/3/", p) {
			t.Errorf("range and prefix disagree on %s", p)
		}
	}
	if len(in) != 3 {
		t.Fatalf("subtree of /1/3/ = %v, want /1/3/, /1/3/7/, /1/3/70/", in)
	}
}

func TestAgeOn(t *testing.T) {
	birth := mustDate("2000-02-29")
	for _, tc := range []struct {
		on   string
		want int
	}{{"2018-02-28", 17}, {"2018-03-01", 18}, {"2000-02-29", 0}, {"2024-02-29", 24}} {
		if got := AgeOn(birth, mustDate(tc.on)); got != tc.want {
			t.Errorf("AgeOn(%s) = %d, want %d", tc.on, got, tc.want)
		}
	}
}
