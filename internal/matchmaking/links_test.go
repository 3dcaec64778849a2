package matchmaking_test

import (
	"bytes"
	"net/url"
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

		_, photoURL := photoSeenByParticipant(t, s, "me.png")
		if !strings.HasPrefix(photoURL, base+"/files/photo/") {
			t.Fatalf("photo link %q", photoURL)
		}
		if st, body := s.Get("", strings.TrimPrefix(photoURL, base)); st != 200 || !bytes.Equal(body, testutil.ProofPNG) {
			t.Fatalf("photo link: %d, %d bytes", st, len(body))
		}
	})
}

// With object storage a profile photo's link is the store's presigned GET:
// a participant loads it straight from the bucket, typed and named as the
// server stored it, and only while the link lasts.
func TestPhotoLinksFromObjectStorage(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		fake := testutil.NewFakeS3(t)
		s := testutil.NewServer(t, d, fake.Use("photos/"))
		photoID, link := photoSeenByParticipant(t, s, "我.png")
		if !strings.HasPrefix(link, fake.URL+"/"+fake.Bucket+"/photos/"+photoID+"?") {
			t.Fatalf("photo link %q is not the store's", link)
		}
		status, h, body := s.Fetch(link)
		if status != 200 || !bytes.Equal(body, testutil.ProofPNG) || h.Get("Content-Type") != "image/png" ||
			!strings.Contains(h.Get("Content-Disposition"), "filename*=UTF-8''"+url.PathEscape("我.png")) {
			t.Fatalf("photo from the store: %d %q %q, %d bytes", status, h.Get("Content-Type"), h.Get("Content-Disposition"), len(body))
		}
		fake.Advance(11 * time.Minute)
		if status, _, _ := s.Fetch(link); status != 403 {
			t.Fatalf("a photo link after 11 minutes answered %d, want 403", status)
		}
	})
}

// photoSeenByParticipant has a woman upload a photo named name onto her
// profile for a first-come event, both singles check in during it, and
// returns the photo's id and the link the man is shown.
func photoSeenByParticipant(t *testing.T, s *testutil.Server, name string) (string, string) {
	t.Helper()
	admin := s.LoginAdmin("donghua_admin").Access
	ev := publishedMatch(t, s, admin, matchInput("FIRST_COME", 5, 5, nil))
	s.Clock.Set(testutil.Epoch.Add(time.Minute))
	p := singles(t, s, 2, "courier") // a man, a woman
	for _, m := range p {
		s.MustOK(m.Access, signUpMatchQ, map[string]any{"e": ev.ID}, nil)
	}
	_, up := s.Upload(p[1].Access, "PHOTO", name, testutil.ProofPNG)
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
	return photoID, *seen.MatchEventParticipants[0].Profile.PhotoURL
}
