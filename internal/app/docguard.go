package app

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"unionhall/internal/apperr"
)

// docGuard measures a document before gqlgen validates it or computes its
// complexity: both walk fragments expanded, so a 1 KB chain of fragments
// that each spread the previous one twice costs 2^N. The guard parses the
// document once and counts, memoised per fragment, how many selections and
// how many levels it would expand to, saturating at the limits; a document
// over either is refused before any walk that could blow up.
//
// Validation is also quadratic in how often one response name repeats in
// a selection set (every pair is checked for a conflict): a 20 KB query of
// 2,000 bare __typename costs a quarter of a second. So a name may appear
// at most maxRepeats times in one set, counting what its fragments bring.
//
// The guard's own cost is linear in the document's size, and a verdict is
// cached by document text, so the mini-program's few documents are
// measured once.
type docGuard struct {
	maxSelections int
	maxDepth      int
	maxRepeats    int
	tokenLimit    int
	accepted      *lru.LRU[struct{}]
}

func newDocGuard(maxSelections, maxDepth, tokenLimit int) *docGuard {
	return &docGuard{maxSelections: maxSelections, maxDepth: maxDepth, maxRepeats: maxRepeats,
		tokenLimit: tokenLimit, accepted: lru.New[struct{}](1000)}
}

// maxRepeats: a legitimate document repeats a name a few times (id asked
// by two fragments on the same type), never dozens.
const maxRepeats = 10

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = (*docGuard)(nil)

func (*docGuard) ExtensionName() string                   { return "DocumentGuard" }
func (*docGuard) Validate(graphql.ExecutableSchema) error { return nil }

func (g *docGuard) MutateOperationParameters(ctx context.Context, raw *graphql.RawParams) *gqlerror.Error {
	if raw.Query == "" {
		return nil // gqlgen says "no operation provided"
	}
	if _, ok := g.accepted.Get(ctx, raw.Query); ok {
		return nil
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: raw.Query}, g.tokenLimit)
	if err != nil {
		return nil // gqlgen parses again and reports the syntax error
	}
	if ae := g.measure(doc); ae != nil {
		return &gqlerror.Error{Message: ae.Message, Err: ae}
	}
	g.accepted.Add(ctx, raw.Query, struct{}{})
	return nil
}

// size is what a selection set expands to.
type size struct{ selections, depth int }

// measure sums every operation's expansion (validation walks them all).
func (g *docGuard) measure(doc *ast.QueryDocument) *apperr.Error {
	m := newMeasurer(g)
	for _, f := range doc.Fragments {
		m.frags[f.Name] = f
	}
	total := 0
	for _, op := range doc.Operations {
		s, err := m.set(op.SelectionSet)
		if err != nil {
			return err
		}
		total = sat(total+s.selections, g.maxSelections+1)
		if s.depth > g.maxDepth {
			return apperr.Newf(apperr.ValidationFailed, "查询嵌套层级过深（最多 %d 层）", g.maxDepth)
		}
	}
	// Fragments no operation uses are still validated: count them too.
	for _, f := range doc.Fragments {
		s, err := m.fragment(f.Name)
		if err != nil {
			return err
		}
		total = sat(total+s.selections, g.maxSelections+1)
	}
	if total > g.maxSelections {
		return apperr.Newf(apperr.ValidationFailed, "查询过于复杂（展开后超过 %d 个字段），请精简查询", g.maxSelections)
	}
	return nil
}

type measurer struct {
	g     *docGuard
	frags map[string]*ast.FragmentDefinition
	memo  map[string]size
	open  map[string]bool // fragments being measured: a spread back into one is a cycle
	names map[string]map[string]int
}

func newMeasurer(g *docGuard) *measurer {
	return &measurer{g: g, frags: map[string]*ast.FragmentDefinition{}, memo: map[string]size{},
		open: map[string]bool{}, names: map[string]map[string]int{}}
}

var errRepeats = apperr.New(apperr.ValidationFailed, "查询中同一字段重复次数过多")

// repeats checks set's response names, fragments included, and returns
// their counts (saturated past the limit).
func (m *measurer) repeats(set ast.SelectionSet) (map[string]int, *apperr.Error) {
	counts := map[string]int{}
	add := func(name string, n int) *apperr.Error {
		counts[name] = min(counts[name]+n, m.g.maxRepeats+1)
		if counts[name] > m.g.maxRepeats {
			return errRepeats
		}
		return nil
	}
	for _, sel := range set {
		var err *apperr.Error
		switch sel := sel.(type) {
		case *ast.Field:
			err = add(sel.Alias, 1)
		case *ast.InlineFragment:
			var sub map[string]int
			if sub, err = m.repeats(sel.SelectionSet); err == nil {
				for k, n := range sub {
					if err = add(k, n); err != nil {
						break
					}
				}
			}
		case *ast.FragmentSpread:
			for k, n := range m.names[sel.Name] { // measured before (m.fragment)
				if err = add(k, n); err != nil {
					break
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return counts, nil
}

func (m *measurer) set(set ast.SelectionSet) (size, *apperr.Error) {
	s, _, err := m.measureSet(set)
	return s, err
}

func (m *measurer) measureSet(set ast.SelectionSet) (size, map[string]int, *apperr.Error) {
	var out size
	for _, sel := range set {
		var s size
		var err *apperr.Error
		switch sel := sel.(type) {
		case *ast.Field:
			s, err = m.set(sel.SelectionSet)
			s.selections++
			s.depth++
		case *ast.InlineFragment:
			s, err = m.set(sel.SelectionSet)
		case *ast.FragmentSpread:
			s, err = m.fragment(sel.Name)
		}
		if err != nil {
			return out, nil, err
		}
		out.selections = sat(out.selections+s.selections, m.g.maxSelections+1)
		out.depth = max(out.depth, s.depth)
	}
	// Spreads are measured above, so their names are known by now.
	names, err := m.repeats(set)
	return out, names, err
}

func (m *measurer) fragment(name string) (size, *apperr.Error) {
	if s, ok := m.memo[name]; ok {
		return s, nil
	}
	f := m.frags[name]
	if f == nil {
		return size{}, nil // unknown fragment: validation reports it
	}
	if m.open[name] {
		return size{}, apperr.New(apperr.ValidationFailed, fmt.Sprintf("片段 %s 循环引用了自己", name))
	}
	m.open[name] = true
	s, names, err := m.measureSet(f.SelectionSet)
	delete(m.open, name)
	if err != nil {
		return s, err
	}
	m.memo[name], m.names[name] = s, names
	return s, nil
}

// sat adds without passing limit, so a count never overflows.
func sat(n, limit int) int { return min(n, limit) }
