package ratelimit

import (
	"testing"
	"time"
)

// Attempts in flight count as spent; a success gives its event back, a
// failure keeps it spent.
func TestBegin(t *testing.T) {
	k := New(time.Hour, 3) // no refill within the test
	var ends []func(bool)
	for i := range 3 {
		end, ok := k.Begin("a")
		if !ok {
			t.Fatalf("attempt %d refused within the burst", i)
		}
		ends = append(ends, end)
	}
	if _, ok := k.Begin("a"); ok {
		t.Fatal("a fourth attempt passed while three were in flight")
	}
	if _, ok := k.Begin("b"); !ok {
		t.Fatal("another key was refused")
	}
	ends[0](false) // success: given back
	ends[0](true)  // a second end is ignored
	end, ok := k.Begin("a")
	if !ok {
		t.Fatal("a success did not give its event back")
	}
	end(true)
	ends[1](true)
	ends[2](true)
	if _, ok := k.Begin("a"); ok {
		t.Fatal("three failures left an event")
	}
}
