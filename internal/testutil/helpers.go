package testutil

import (
	"unionhall/internal/store"

	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// At is a China-time moment days after Epoch, at hh:mm.
func At(days int, hhmm string) time.Time {
	var h, m int
	fmt.Sscanf(hhmm, "%d:%d", &h, &m)
	d := Epoch.Add(time.Duration(days) * 24 * time.Hour).In(time.FixedZone("CST", 8*3600))
	return time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, d.Location())
}

// RFC formats t as the API's time scalar takes it.
func RFC(t time.Time) string { return t.Format(time.RFC3339) }

// WantCode fails the test unless r's first error carries code.
func WantCode(t testing.TB, r *Response, code string) {
	t.Helper()
	if r.Code() != code {
		t.Fatalf("code = %q (%+v), want %s", r.Code(), r.Errors, code)
	}
}

// Race runs f(0) … f(n-1) on workers goroutines at once: the rush a popular
// offering meets.
func Race(n, workers int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// Count counts table's rows matching where (all with "").
func (s *Server) Count(table, where string, args ...any) int64 {
	s.tb.Helper()
	var n int64
	q := s.DB.Table(table)
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		s.tb.Fatal(err)
	}
	return n
}

// MustID parses an API id.
func MustID(t testing.TB, s string) int64 {
	t.Helper()
	var id int64
	if _, err := fmt.Sscan(s, &id); err != nil {
		t.Fatal(err)
	}
	return id
}

// Ptr is &v, for optional inputs.
func Ptr[T any](v T) *T { return &v }

// Dump shows a response in a failure message.
func Dump(r *Response) string { return fmt.Sprintf("data=%s errors=%+v", r.Data, r.Errors) }

// LocalPath is the path of an absolute file link this server handed out,
// failing the test when the link is not under its public base URL.
func (s *Server) LocalPath(link string) string {
	s.tb.Helper()
	base := s.App.Cfg.PublicBaseURL
	if base == "" || !strings.HasPrefix(link, base+"/") {
		s.tb.Fatalf("link %q is not absolute under %q", link, base)
	}
	return strings.TrimPrefix(link, base)
}

// WantWindowClosed fails the test unless r was refused as WINDOW_CLOSED with
// a message that says says.
func WantWindowClosed(t testing.TB, r *Response, says string) {
	t.Helper()
	WantCode(t, r, "WINDOW_CLOSED")
	if !strings.Contains(r.Errors[0].Message, says) {
		t.Fatalf("message %q, want it to say %q", r.Errors[0].Message, says)
	}
}

// RushSize is how many callers a rush sends on dialect d: the full number
// on MariaDB, where row locks and real concurrency are what the rush
// proves, and a fifth of it on SQLite, whose single writer serialises
// every request and so proves only the bookkeeping.
func RushSize(d store.Dialect, full int) int {
	if d == store.MySQL {
		return full
	}
	return full / 5
}
