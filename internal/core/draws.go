package core

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"
)

// What the draws at close (childcare, matchmaking) share.

// NewSeed is a lottery seed: 32 random bytes in hex.
func NewSeed() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// ErrNothingToAllocate rolls back a claim on a programme that does not
// allocate at close (or is no longer published).
var ErrNothingToAllocate = errors.New("nothing to allocate")

// IDChunk bounds the ids one UPDATE names.
const IDChunk = 500

// DateOf is the calendar date of t (as the Date scalar gives it: UTC
// midnight).
func DateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
