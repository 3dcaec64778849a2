package testutil

import (
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"unionhall/internal/config"
)

// Store is one kind of file store for a suite to run on: Options configure
// every instance of one deployment to share it, Held counts the files its
// bytes are kept for.
type Store struct {
	Kind string
	Opt  Option
	S3   *FakeS3 // the s3 kind's server
	held func(tb testing.TB, s *Server) int
}

// Stores are the three kinds: disk (a directory every instance mounts),
// the database, and S3 (a fake on loopback).
func Stores(tb testing.TB) []Store {
	tb.Helper()
	dir := tb.TempDir()
	fake := NewFakeS3(tb)
	return []Store{
		{Kind: "disk", Opt: func(c *config.Config) { c.FileStore, c.DataDir = "disk", dir },
			held: func(tb testing.TB, s *Server) int {
				n := 0
				filepath.WalkDir(filepath.Join(dir, "uploads"), func(p string, e fs.DirEntry, err error) error {
					if err == nil && e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
						n++
					}
					return nil
				})
				return n
			}},
		{Kind: "db", Opt: func(c *config.Config) { c.FileStore = "db" },
			held: func(tb testing.TB, s *Server) int {
				var n int64
				s.DB.Raw("SELECT COUNT(DISTINCT file_id) FROM file_chunks").Scan(&n)
				return int(n)
			}},
		{Kind: "s3", Opt: fake.Use("uh/"), S3: fake,
			held: func(tb testing.TB, s *Server) int { return len(fake.Keys(tb)) }},
	}
}

// Held is how many files the store holds bytes for.
func (st Store) Held(tb testing.TB, s *Server) int { tb.Helper(); return st.held(tb, s) }

// Fetch GETs a file link as the mini-program's <image> would: a server
// link through this instance, a presigned one from the store itself.
func (s *Server) Fetch(link string) (int, http.Header, []byte) {
	s.tb.Helper()
	u := link
	if base := s.App.Cfg.PublicBaseURL; strings.HasPrefix(link, base+"/") {
		u = s.URL + strings.TrimPrefix(link, base)
	}
	resp, err := s.HTTP.Get(u)
	if err != nil {
		s.tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}
