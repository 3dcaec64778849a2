package models

import "testing"

func TestSplitGrantSumsAndGivesRoundingToLargestShare(t *testing.T) {
	for _, c := range []struct {
		grant  int64
		shares [3]int
		want   [3]int64
	}{
		{123457, [3]int{3333, 3333, 3334}, [3]int64{41148, 41148, 41161}},
		{100, [3]int{3333, 3334, 3333}, [3]int64{33, 34, 33}},
		{2, [3]int{3333, 3333, 3334}, [3]int64{0, 0, 2}},
		// Ties between largest shares go to the province, the first.
		{1, [3]int{5000, 5000, 0}, [3]int64{1, 0, 0}},
		{500000, [3]int{10000, 0, 0}, [3]int64{500000, 0, 0}},
		{0, [3]int{4000, 3000, 3000}, [3]int64{0, 0, 0}},
	} {
		got := SplitGrant(c.grant, c.shares)
		if got != c.want || got[0]+got[1]+got[2] != c.grant {
			t.Errorf("SplitGrant(%d, %v) = %v, want %v", c.grant, c.shares, got, c.want)
		}
	}
}

func TestSubsidyGrantIsTuitionCappedByLevel(t *testing.T) {
	c := int64(500000)
	p := SubsidyProgram{CapBachelorFen: &c}
	for _, x := range []struct {
		level         DegreeLevel
		tuition, want int64
	}{{DegreeBachelor, 620000, 500000}, {DegreeBachelor, 1234, 1234}, {DegreeMaster, 620000, 0}} {
		if got := p.GrantFen(x.level, x.tuition); got != x.want {
			t.Errorf("GrantFen(%s, %d) = %d, want %d", x.level, x.tuition, got, x.want)
		}
	}
}
