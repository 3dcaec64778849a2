package app

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"unionhall/internal/apperr"
	"unionhall/internal/obs"
)

func chain(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "query { ...F%d }\nfragment F0 on Query { __typename }\n", n)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i-1, i-1)
	}
	return b.String()
}

// TestGuardCountsExpansion: the guard's count is the expanded tree's, so
// its limit means what it says.
func TestGuardCountsExpansion(t *testing.T) {
	t.Parallel()
	g := newDocGuard(1<<20, 100, 100000)
	for n, want := range map[int]int{0: 1, 1: 2, 10: 1024} {
		doc, err := parser.ParseQuery(&ast.Source{Input: chain(n)})
		if err != nil {
			t.Fatal(err)
		}
		g.maxRepeats = 1 << 20
		m := newMeasurer(g)
		for _, f := range doc.Fragments {
			m.frags[f.Name] = f
		}
		s, aerr := m.set(doc.Operations[0].SelectionSet)
		if aerr != nil || s.selections != want {
			t.Errorf("chain %d: %d selections (%v), want %d", n, s.selections, aerr, want)
		}
	}
}

// TestStatusForEveryCode: every code has a status, and only INTERNAL is a
// server failure (a sold-out class must not page the engineer on call).
func TestStatusForEveryCode(t *testing.T) {
	t.Parallel()
	for _, c := range apperr.Codes {
		got := statusFor(apperr.New(c, "x"))
		if c == apperr.Internal && got != http.StatusInternalServerError || c != apperr.Internal && (got < 400 || got >= 500) {
			t.Errorf("%s → %d", c, got)
		}
	}
}

// TestPlainHTTPErrorLogsCause: a 500 on /upload, /export or /files logs its
// cause with the request id, and shows neither.
func TestPlainHTTPErrorLogsCause(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	a := &App{Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	r := httptest.NewRequest("GET", "/export/vouchers", nil)
	r = r.WithContext(obs.WithRequestID(r.Context(), "req-42"))
	w := httptest.NewRecorder()
	a.writeError(w, r, fmt.Errorf("disk on fire"))
	if w.Code != 500 || strings.Contains(w.Body.String(), "disk") || !strings.Contains(w.Body.String(), `"INTERNAL"`) {
		t.Fatalf("answer %d %s", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), "disk on fire") || !strings.Contains(logs.String(), "req-42") {
		t.Fatalf("log %s", logs.String())
	}
}

// BenchmarkDocGuard: what the guard costs a legitimate document (first
// sight: parse and measure; then a cache hit) against refusing the
// 40-level chain (always first sight: refusals are not cached).
func BenchmarkDocGuard(b *testing.B) {
	legit := `query Home($first: Int) { me { id name union { id name } } trainingClasses(first: $first) { edges { node { id title startsAt seatsLeft } } pageInfo { hasNextPage endCursor } } }`
	g := newDocGuard(maxSelections, 10, parserTokenLimit)
	b.Run("legit-first-sight", func(b *testing.B) {
		for b.Loop() {
			doc, _ := parser.ParseQueryWithTokenLimit(&ast.Source{Input: legit}, parserTokenLimit)
			if g.measure(doc) != nil {
				b.Fatal("refused")
			}
		}
	})
	b.Run("legit-cached", func(b *testing.B) {
		for b.Loop() {
			if g.MutateOperationParameters(b.Context(), &graphql.RawParams{Query: legit}) != nil {
				b.Fatal("refused")
			}
		}
	})
	b.Run("chain40-refused", func(b *testing.B) {
		doc := chain(40)
		for b.Loop() {
			if g.MutateOperationParameters(b.Context(), &graphql.RawParams{Query: doc}) == nil {
				b.Fatal("accepted")
			}
		}
	})
}
