package matchmaking_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"unionhall/internal/config"
	"unionhall/internal/store"
	"unionhall/internal/testutil"
)

// With PUBLIC_BASE_URL set, proof and photo links are absolute under it
// (the mini-program's <image> needs that) and still serve the file.
func TestFileLinksAreAbsolute(t *testing.T) {
	t.Parallel()
	const base = "https://hall.example.cn/api"
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		s := testutil.NewServer(t, d, func(c *config.Config) { c.PublicBaseURL = base })

		program := s.SubsidyProgram(10_000_000)
		owner := s.Members(1, "courier")[0]
		app := s.ApplyFor(owner.Access, program, 100_000)
		var mine struct{ SubsidyApplication testutil.SubsidyApp }
		s.MustOK(owner.Access, testutil.SubsidyAppQ, map[string]any{"id": app.ID}, &mine)
		proofURL := mine.SubsidyApplication.Proofs[0].URL
		if !strings.HasPrefix(proofURL, base+"/files/proof/") {
			t.Fatalf("proof link %q", proofURL)
		}
		if st, body := s.Get("", strings.TrimPrefix(proofURL, base)); st != 200 || !bytes.Equal(body, testutil.ProofPNG) {
			t.Fatalf("proof link: %d, %d bytes", st, len(body))
		}

		admin := s.LoginAdmin("donghua_admin").Access
		ev := publishedMatch(t, s, admin, matchInput("FIRST_COME", 5, 5, nil))
		s.Clock.Set(testutil.Epoch.Add(time.Minute))
		p := singles(t, s, 2, "courier") // a man, a woman
		for _, m := range p {
			s.MustOK(m.Access, signUpMatchQ, map[string]any{"e": ev.ID}, nil)
		}
		_, up := s.Upload(p[1].Access, "PHOTO", "me.png", testutil.ProofPNG)
		photoID, _ := up["id"].(string)
		s.MustOK(p[1].Access, profileQ, map[string]any{"in": map[string]any{"nickname": "小李", "photoFileId": photoID}}, nil)
		s.Clock.Set(testutil.At(2, "15:00"))
		for i := range p {
			p[i] = s.Reissue(p[i])
			s.MustOK(p[i].Access, checkInMatchQ, map[string]any{"e": ev.ID, "code": ev.Code}, nil)
		}
		var seen struct {
			MatchEventParticipants []struct {
				Profile struct {
					PhotoURL *string `json:"photoUrl"`
				}
			}
		}
		s.MustOK(p[0].Access, `query($e: ID!) { matchEventParticipants(eventId: $e) { id profile { photoUrl } } }`, map[string]any{"e": ev.ID}, &seen)
		if len(seen.MatchEventParticipants) != 1 || seen.MatchEventParticipants[0].Profile.PhotoURL == nil {
			t.Fatalf("participants = %+v", seen)
		}
		photoURL := *seen.MatchEventParticipants[0].Profile.PhotoURL
		if !strings.HasPrefix(photoURL, base+"/files/photo/") {
			t.Fatalf("photo link %q", photoURL)
		}
		if st, body := s.Get("", strings.TrimPrefix(photoURL, base)); st != 200 || !bytes.Equal(body, testutil.ProofPNG) {
			t.Fatalf("photo link: %d, %d bytes", st, len(body))
		}
	})
}
