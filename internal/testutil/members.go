package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"unionhall/internal/auth"
	"unionhall/models"
)

// MemberSpec adjusts the members Members creates.
type MemberSpec func(i int, m *models.Member)

// Members creates n verified members of the demo union unionKey straight in
// the database, each with a live login, and returns their access tokens
// (valid for the access-token lifetime from the fake clock's now). It is
// how concurrency tests get thousands of real, distinct callers quickly.
func (s *Server) Members(n int, unionKey string, specs ...MemberSpec) []Tokens {
	s.tb.Helper()
	unionID := s.Demo.Unions[unionKey]
	if unionID == 0 {
		s.tb.Fatalf("no demo union %q", unionKey)
	}
	now := s.Clock.Now()
	birth := time.Date(1990, 5, 20, 0, 0, 0, 0, time.UTC)
	base := memberSeq.add(n)
	members := make([]*models.Member, n)
	for i := range members {
		k := base + i
		sum := sha256.Sum256(fmt.Appendf(nil, "test-member-%d", k))
		hash := hex.EncodeToString(sum[:])
		members[i] = &models.Member{
			OpenID: fmt.Sprintf("o-test-%d", k), UnionID: &unionID, RealName: fmt.Sprintf("测试%d", k),
			IDHash: &hash, IDMask: "110***********000X", Phone: fmt.Sprintf("137%08d", k), BirthDate: &birth,
			Gender: models.GenderMale, EmploymentForm: models.EmploymentCourier, Occupation: "快递员",
			Status: models.MembershipVerified, VerifiedAt: &now, BoundAt: &now, Version: 1, CreatedAt: now, UpdatedAt: now,
		}
		for _, spec := range specs {
			spec(i, members[i])
		}
	}
	if err := s.DB.CreateInBatches(members, 500).Error; err != nil {
		s.tb.Fatal(err)
	}
	sessions := make([]*models.AuthSession, n)
	for i, m := range members {
		sessions[i] = &models.AuthSession{SubjectKind: models.SubjectMember, SubjectID: m.ID, CreatedAt: now}
	}
	if err := s.DB.CreateInBatches(sessions, 500).Error; err != nil {
		s.tb.Fatal(err)
	}
	out := make([]Tokens, n)
	for i, m := range members {
		tok, _, err := s.App.Tokens.Issue(auth.Principal{Kind: models.SubjectMember, ID: m.ID, SessionID: sessions[i].ID})
		if err != nil {
			s.tb.Fatal(err)
		}
		out[i] = Tokens{Access: tok, ID: fmt.Sprint(m.ID)}
	}
	return out
}

// Reissue mints a fresh access token for the same login (after the fake
// clock moved past the token's lifetime).
func (s *Server) Reissue(t Tokens) Tokens {
	s.tb.Helper()
	if _, err := s.App.Tokens.Verify(t.Access); err == nil {
		return t
	}
	var sess models.AuthSession
	if err := s.DB.Where("subject_kind = ? AND subject_id = ?", models.SubjectMember, t.ID).Order("id DESC").Take(&sess).Error; err != nil {
		s.tb.Fatal(err)
	}
	tok, _, err := s.App.Tokens.Issue(auth.Principal{Kind: models.SubjectMember, ID: sess.SubjectID, SessionID: sess.ID})
	if err != nil {
		s.tb.Fatal(err)
	}
	return Tokens{Access: tok, Refresh: t.Refresh, ID: t.ID}
}

type seq struct{ ch chan int }

func (q seq) add(n int) int {
	v := <-q.ch
	q.ch <- v + n
	return v
}

var memberSeq = func() seq { q := seq{make(chan int, 1)}; q.ch <- 1; return q }()
