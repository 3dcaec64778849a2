package members

import (
	"testing"
	"time"

	"unionhall/internal/auth"
	"unionhall/internal/clock"
	"unionhall/models"
)

func TestSessionCache(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 6, 2, 1, 0, 0, 0, time.UTC))
	c := newSessionCache(clk, 5*time.Second)
	p := &auth.Principal{Kind: models.SubjectMember, ID: 7, SessionID: 70}

	c.remember(p, c.begin())
	if !c.live(p) {
		t.Fatal("a session read live is not remembered")
	}
	if other := (auth.Principal{Kind: models.SubjectAdmin, ID: 7, SessionID: 70}); c.live(&other) {
		t.Fatal("the entry answers for another subject")
	}
	clk.Advance(5 * time.Second)
	if c.live(p) {
		t.Fatal("the entry outlived the TTL")
	}

	c.remember(p, c.begin())
	c.Forget(70)
	if c.live(p) {
		t.Fatal("a revoked session is still live")
	}
	// A read that began before a revocation is not remembered: it may have
	// seen the session just before.
	r := c.begin()
	c.Forget(71)
	c.remember(p, r)
	if c.live(p) {
		t.Fatal("a read older than a revocation was remembered")
	}

	off := newSessionCache(clk, 0)
	off.remember(p, off.begin())
	if off.live(p) {
		t.Fatal("a zero TTL cached")
	}
}
