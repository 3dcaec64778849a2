package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"unionhall/internal/app"
	"unionhall/internal/config"
	"unionhall/internal/core"
	"unionhall/internal/store"
	"unionhall/internal/subsidies"
	"unionhall/internal/testutil"
	"unionhall/internal/upload"
)

// eachStore runs f on every database and every kind of file store.
func eachStore(t *testing.T, f func(t *testing.T, d store.Dialect, st testutil.Store)) {
	t.Helper()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		for _, st := range testutil.Stores(t) {
			t.Run(st.Kind, func(t *testing.T) { f(t, d, st) })
		}
	})
}

// proofOf is the first proof link of application id, as who sees it.
func proofOf(t *testing.T, s *testutil.Server, who, id string) string {
	t.Helper()
	var out struct{ SubsidyApplication testutil.SubsidyApp }
	s.MustOK(who, testutil.SubsidyAppQ, map[string]any{"id": id}, &out)
	if len(out.SubsidyApplication.Proofs) != 1 {
		t.Fatalf("proofs = %+v", out.SubsidyApplication.Proofs)
	}
	return out.SubsidyApplication.Proofs[0].URL
}

// A member uploads a proof through one instance and applies through the
// other; the reviewer's link works from both (or, with object storage,
// from the store itself): on every kind of store.
func TestFilesReadableFromEveryInstance(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, d store.Dialect, st testutil.Store) {
		a := testutil.NewServer(t, d, st.Opt)
		b := testutil.NewServerOn(t, a.DB, st.Opt)
		b.Clock.Set(a.Clock.Now())
		program := a.SubsidyProgram(10_000_000)
		owner := a.Members(1, "courier")[0]
		proof := a.UploadProof(owner.Access)
		var applied struct {
			ApplySubsidy struct{ Application testutil.SubsidyApp }
		}
		b.MustOK(owner.Access, testutil.ApplySubsidyQ, map[string]any{"in": testutil.ApplyInput(program, proof, 100_000)}, &applied)
		reviewer := b.LoginAdmin("city_admin").Access
		link := proofOf(t, b, reviewer, applied.ApplySubsidy.Application.ID)
		if st.Kind == "s3" && !strings.HasPrefix(link, st.S3.URL+"/") {
			t.Fatalf("with object storage the link %q should go to the store", link)
		}
		for _, s := range []*testutil.Server{a, b} {
			status, h, body := s.Fetch(link)
			if status != 200 || !bytes.Equal(body, testutil.ProofPNG) || h.Get("Content-Type") != "image/png" {
				t.Fatalf("%s link via %s: %d %q, %d bytes", st.Kind, s.URL, status, h.Get("Content-Type"), len(body))
			}
			if cd := h.Get("Content-Disposition"); !strings.Contains(cd, "filename*=UTF-8''"+url.PathEscape("录取通知书.png")) {
				t.Fatalf("Content-Disposition %q", cd)
			}
		}
		if n := st.Held(t, a); n != 1 {
			t.Fatalf("the store holds %d files, want 1", n)
		}
	})
}

// A presigned link is checked by the store: it works until it expires,
// and a changed one does not work at all.
func TestPresignedLinksExpire(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		fake := testutil.NewFakeS3(t)
		s := testutil.NewServer(t, d, fake.Use(""))
		owner := s.Members(1, "courier")[0]
		applied := s.ApplyFor(owner.Access, s.SubsidyProgram(10_000_000), 100_000)
		link := proofOf(t, s, owner.Access, applied.ID)
		if status, _, body := s.Fetch(link); status != 200 || !bytes.Equal(body, testutil.ProofPNG) {
			t.Fatalf("fresh link: %d, %d bytes", status, len(body))
		}
		other := strings.Replace(link, "response-content-type=image%2Fpng", "response-content-type=text%2Fhtml", 1)
		if other == link {
			t.Fatalf("link %q does not fix the content type", link)
		}
		if status, _, _ := s.Fetch(other); status != http.StatusForbidden {
			t.Fatalf("a changed link answered %d, want 403", status)
		}
		fake.Advance(subsidies.ProofLinkTTL - 30*time.Second)
		if status, _, _ := s.Fetch(link); status != 200 {
			t.Fatalf("a link before its expiry answered %d", status)
		}
		fake.Advance(time.Minute)
		if status, _, _ := s.Fetch(link); status != http.StatusForbidden {
			t.Fatalf("an expired link answered %d, want 403", status)
		}
	})
}

// streamUpload sends size bytes (head, then zeros) as one multipart file
// with no Content-Length, as a slow phone streams it, and says how many
// bytes the server let the client send before it answered.
func streamUpload(t *testing.T, s *testutil.Server, token, purpose, name string, head []byte, size int) (int, map[string]any, int64) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	var sent int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = mw.WriteField("purpose", purpose)
		fw, _ := mw.CreateFormFile("file", name)
		n, err := fw.Write(head)
		sent += int64(n)
		chunk := make([]byte, 32<<10)
		for left := size - len(head); left > 0 && err == nil; left -= len(chunk) {
			n, err = fw.Write(chunk[:min(left, len(chunk))])
			sent += int64(n)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/upload", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = jsonDecode(resp.Body, &out)
	pr.CloseWithError(errors.New("answered"))
	wg.Wait()
	return resp.StatusCode, out, sent
}

func errorCode(out map[string]any) (code, msg string) {
	e, _ := out["error"].(map[string]any)
	code, _ = e["code"].(string)
	msg, _ = e["message"].(string)
	return code, msg
}

// A body over the limit is refused while it is read, and a type lie (a
// program named .jpg) by its bytes; neither leaves a row or bytes.
func TestUploadRefusalsStoreNothing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, d store.Dialect, st testutil.Store) {
		s := testutil.NewServer(t, d, st.Opt, func(c *config.Config) { c.MaxUploadBytes = 64 << 10 })
		m := s.Members(1, "courier")[0]
		png := testutil.ProofPNG[:16]

		status, out, _ := streamUpload(t, s, m.Access, "PROOF", "大.png", png, 100<<10)
		if code, msg := errorCode(out); status != 400 || code != "VALIDATION_FAILED" || msg != "文件过大" {
			t.Fatalf("100 KiB over a 64 KiB limit: %d %v", status, out)
		}
		status, out, sent := streamUpload(t, s, m.Access, "PROOF", "更大.png", png, 50<<20)
		if code, msg := errorCode(out); status/100 != 4 || code != "VALIDATION_FAILED" || msg != "文件过大" {
			t.Fatalf("50 MiB streamed: %d %v", status, out)
		}
		if sent > 8<<20 {
			t.Fatalf("the server read %d bytes of a 50 MiB body over a 64 KiB limit before answering", sent)
		}
		exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), make([]byte, 2048)...)
		status, out = s.Upload(m.Access, "PHOTO", "me.jpg", exe)
		if code, msg := errorCode(out); status != 400 || code != "VALIDATION_FAILED" || msg != "文件类型不支持" {
			t.Fatalf("an .exe named .jpg: %d %v", status, out)
		}
		if rows, held := s.Count("uploaded_files", ""), st.Held(t, s); rows != 0 || held != 0 {
			t.Fatalf("refused uploads left %d rows and %d stored files", rows, held)
		}
	})
}

// sweep runs the clean-up on every instance at once and adds up what they
// deleted: the lease lets one of them do it.
func sweep(t *testing.T, servers ...*testutil.Server) int {
	t.Helper()
	var mu sync.Mutex
	total := 0
	testutil.Race(len(servers), len(servers), func(i int) {
		n, err := servers[i].App.Core.SweepFiles(context.Background())
		if err != nil {
			t.Errorf("sweep: %v", err)
		}
		mu.Lock()
		total += n
		mu.Unlock()
	})
	return total
}

// Uploads attached to nothing go after UNUSED_UPLOAD_TTL, and a failed
// upload's row and bytes after the grace; attached files stay. Two
// instances sweeping at once delete each file once.
func TestUnusedAndFailedUploadsAreCleanedUp(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, d store.Dialect, st testutil.Store) {
		a := testutil.NewServer(t, d, st.Opt)
		b := testutil.NewServerOn(t, a.DB, st.Opt)
		owner := a.Members(1, "courier")[0]
		applied := a.ApplyFor(owner.Access, a.SubsidyProgram(10_000_000), 100_000)
		unused := a.UploadProof(owner.Access)
		// A failed upload: its bytes reached the store, its row was never
		// marked stored (the instance died in between).
		failed := "failedupload0000000000000000000a"
		if err := a.App.Core.Files().Put(context.Background(), failed, bytes.NewReader(testutil.ProofPNG), int64(len(testutil.ProofPNG)), upload.Meta{}); err != nil {
			t.Fatal(err)
		}
		if err := a.DB.Exec(`INSERT INTO uploaded_files (id, owner_kind, owner_id, purpose, file_name, content_type, size, sha256, created_at)
			VALUES (?, 'member', ?, 'PROOF', 'x.png', 'image/png', 1, ?, ?)`, failed, 1, strings.Repeat("0", 64), a.Clock.Now()).Error; err != nil {
			t.Fatal(err)
		}
		if n := sweep(t, a, b); n != 0 || st.Held(t, a) != 3 {
			t.Fatalf("a sweep right away deleted %d; the store holds %d of 3", n, st.Held(t, a))
		}
		later := a.Clock.Now().Add(2 * time.Hour)
		a.Clock.Set(later)
		b.Clock.Set(later)
		if n := sweep(t, a, b); n != 1 || st.Held(t, a) != 2 || a.Count("uploaded_files", "id = ?", failed) != 0 {
			t.Fatalf("after the grace: deleted %d, store holds %d, failed row %d; want the failed upload gone",
				n, st.Held(t, a), a.Count("uploaded_files", "id = ?", failed))
		}
		later = later.Add(24 * time.Hour)
		a.Clock.Set(later)
		b.Clock.Set(later)
		if n := sweep(t, a, b); n != 1 || st.Held(t, a) != 1 || a.Count("uploaded_files", "id = ?", unused) != 0 {
			t.Fatalf("after a day: deleted %d, store holds %d, unused row %d; want only the unused upload gone",
				n, st.Held(t, a), a.Count("uploaded_files", "id = ?", unused))
		}
		owner = a.Reissue(owner)
		status, _, body := a.Fetch(proofOf(t, a, owner.Access, applied.ID))
		if status != 200 || !bytes.Equal(body, testutil.ProofPNG) {
			t.Fatalf("the attached proof after the sweep: %d, %d bytes", status, len(body))
		}
	})
}

// The object store going down: /readyz says so, an upload (refused before
// it is sent, or cut in the middle) is a coded 503 and leaves no stored
// row; when the store is back everything works again by itself, and the
// clean-up takes what the failures left.
func TestFileStoreOutage(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		fake := testutil.NewFakeS3(t)
		s := testutil.NewServer(t, d, fake.Use(""))
		m := s.Members(1, "courier")[0]
		ready := func() int {
			st, _ := s.Get("", "/readyz")
			return st
		}
		for _, c := range []struct {
			name       string
			fail       func(bool)
			readyWhile int
		}{
			{"store down", fake.Down, http.StatusServiceUnavailable},
			{"upload cut in the middle", fake.DropPuts, http.StatusOK}, // the store still answers a probe
		} {
			c.fail(true)
			if st := ready(); st != c.readyWhile {
				t.Fatalf("%s: /readyz %d, want %d", c.name, st, c.readyWhile)
			}
			status, out := s.Upload(m.Access, "PROOF", "p.png", testutil.ProofPNG)
			if code, msg := errorCode(out); status != http.StatusServiceUnavailable || code != "INTERNAL" || msg != "文件服务暂时不可用，请稍后重试" {
				t.Fatalf("%s: upload %d %v", c.name, status, out)
			}
			c.fail(false)
		}
		if n := s.Count("uploaded_files", "stored_at IS NOT NULL"); n != 0 {
			t.Fatalf("%d stored rows after failed uploads", n)
		}
		if st := ready(); st != 200 {
			t.Fatalf("/readyz with the store back: %d", st)
		}
		s.UploadProof(m.Access)
		s.Clock.Set(s.Clock.Now().Add(2 * time.Hour))
		if _, err := s.App.Core.SweepFiles(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n, held := s.Count("uploaded_files", "stored_at IS NULL"), len(fake.Keys(t)); n != 0 || held != 1 {
			t.Fatalf("after the clean-up: %d unstored rows, %d objects; want 0 and 1", n, held)
		}
	})
}

// Migrating from disk to S3 copies and verifies every file, can be run
// again (it copies only what is missing or wrong), and a server on S3 then
// serves what was uploaded on disk.
func TestFilesMigrateReRun(t *testing.T) {
	t.Parallel()
	testutil.Each(t, func(t *testing.T, d store.Dialect) {
		a := testutil.NewServer(t, d)
		owner := a.Members(1, "courier")[0]
		applied := a.ApplyFor(owner.Access, a.SubsidyProgram(10_000_000), 100_000)
		a.UploadProof(owner.Access)
		a.UploadProof(owner.Access)
		fake := testutil.NewFakeS3(t)
		cfg := a.App.Cfg
		fake.Use("")(&cfg)
		dst, err := app.NewFileStore(cfg, "s3", a.DB)
		if err != nil {
			t.Fatal(err)
		}
		run := func() (copied, present int) {
			t.Helper()
			err := a.App.Core.MigrateFiles(context.Background(), dst, func(c core.FileCopy) {
				switch {
				case c.Err != nil:
					t.Errorf("%s: %v", c.ID, c.Err)
				case c.Copied:
					copied++
				default:
					present++
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			return copied, present
		}
		if c, p := run(); c != 3 || p != 0 {
			t.Fatalf("first run: %d copied, %d present; want 3, 0", c, p)
		}
		if c, p := run(); c != 0 || p != 3 {
			t.Fatalf("re-run: %d copied, %d present; want 0, 3", c, p)
		}
		var damaged string
		a.DB.Table("uploaded_files").Order("id").Limit(1).Pluck("id", &damaged)
		bad := bytes.Repeat([]byte{1}, len(testutil.ProofPNG))
		if err := dst.Put(context.Background(), damaged, bytes.NewReader(bad), int64(len(bad)), upload.Meta{}); err != nil {
			t.Fatal(err)
		}
		if c, p := run(); c != 1 || p != 2 {
			t.Fatalf("after damage: %d copied, %d present; want 1, 2", c, p)
		}
		b := testutil.NewServerOn(t, a.DB, fake.Use(""))
		b.Clock.Set(a.Clock.Now())
		link := proofOf(t, b, owner.Access, applied.ID)
		if status, _, body := b.Fetch(link); status != 200 || !bytes.Equal(body, testutil.ProofPNG) {
			t.Fatalf("a migrated proof from S3: %d, %d bytes", status, len(body))
		}
	})
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// Many uploads at once (a class's members sending receipts) through two
// instances: every one is stored whole, none is refused. On MariaDB the
// database store's chunk inserts contend for index gaps; they must not
// surface as errors.
func TestConcurrentUploadsAllStored(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, d store.Dialect, st testutil.Store) {
		a := testutil.NewServer(t, d, st.Opt)
		b := testutil.NewServerOn(t, a.DB, st.Opt)
		m := a.Members(4, "courier")
		body := append(append([]byte{}, testutil.ProofPNG...), bytes.Repeat([]byte{7}, 600<<10)...) // three chunks
		const n = 24
		statuses := make([]int, n)
		testutil.Race(n, 16, func(i int) {
			statuses[i], _ = []*testutil.Server{a, b}[i%2].Upload(m[i%4].Access, "PROOF", "p.png", body)
		})
		for i, s := range statuses {
			if s != 200 {
				t.Fatalf("upload %d answered %d", i, s)
			}
		}
		if rows, held := a.Count("uploaded_files", "stored_at IS NOT NULL"), st.Held(t, a); rows != n || held != n {
			t.Fatalf("%d stored rows and %d stored files, want %d", rows, held, n)
		}
	})
}
