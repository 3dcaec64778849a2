package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"unionhall/graph"
	"unionhall/internal/apperr"
	"unionhall/internal/config"
	"unionhall/internal/obs"
	"unionhall/internal/service"
	"unionhall/resolvers"
)

// newGraphQL builds the GraphQL handler explicitly: POST and GET (queries
// only, for persisted queries), an LRU query cache, automatic persisted
// queries, complexity and depth limits, a token limit for the parser, one
// error presenter, and introspection only in dev.
func newGraphQL(cfg config.Config, svc *service.Service, log *slog.Logger, m *metrics) *handler.Server {
	schema := graph.NewExecutableSchema(graph.Config{
		Resolvers:  &resolvers.Resolver{Svc: svc},
		Directives: graph.DirectiveRoot{Auth: resolvers.AuthDirective(svc)},
		Complexity: resolvers.Complexity(),
	})
	srv := handler.New(schema)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(5000)
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	srv.Use(extension.FixedComplexityLimit(cfg.ComplexityLimit))
	srv.Use(depthLimit{max: cfg.DepthLimit})
	if cfg.IsDev() {
		srv.Use(extension.Introspection{})
	} else {
		srv.SetDisableSuggestion(true)
	}
	srv.SetErrorPresenter(presentError(log))
	srv.SetRecoverFunc(func(ctx context.Context, v any) error {
		obs.Log(ctx, log).ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		return apperr.New(apperr.Internal, apperr.InternalMessage)
	})
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		oc := graphql.GetOperationContext(ctx)
		op := rootField(oc)
		if info := reqInfoFrom(ctx); info != nil {
			info.op = op
		}
		start := time.Now()
		h := next(ctx)
		return func(ctx context.Context) *graphql.Response {
			resp := h(ctx)
			outcome := "ok"
			if resp != nil && len(resp.Errors) > 0 {
				outcome = fmt.Sprint(resp.Errors[0].Extensions["code"])
			}
			m.observeOperation(op, outcome, time.Since(start))
			return resp
		}
	})
	return srv
}

// rootField names an operation by its first root field: a name from the
// schema, so metric labels stay few whatever clients send.
func rootField(oc *graphql.OperationContext) string {
	if oc == nil || oc.Operation == nil {
		return "unknown"
	}
	for _, sel := range oc.Operation.SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			if f.Definition != nil {
				return f.Name
			}
		}
	}
	return "unknown"
}

// presentError is the one place errors become GraphQL errors: application
// errors keep their code and Chinese message, gqlgen's own (parse,
// validation, limits) become VALIDATION_FAILED, and anything else is
// INTERNAL with its text logged, not shown.
func presentError(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		out := graphql.DefaultErrorPresenter(ctx, err)
		if out.Extensions == nil {
			out.Extensions = map[string]any{}
		}
		if ae, ok := apperr.As(err); ok {
			out.Message = ae.Message
			out.Extensions["code"] = string(ae.Code)
			if ae.Field != "" {
				out.Extensions["field"] = ae.Field
			}
			if ae.Code == apperr.Internal {
				if ae.Err != nil {
					obs.Log(ctx, log).ErrorContext(ctx, "internal error", "error", ae.Err.Error(), "path", out.Path.String())
				}
				out.Message = apperr.InternalMessage
			}
			return out
		}
		// gqlgen's own errors (parse, validation, limits) carry no cause;
		// anything with a foreign cause is a failure of ours.
		var gerr *gqlerror.Error
		if errors.As(err, &gerr) && gerr.Err == nil {
			switch out.Extensions["code"] {
			case "COMPLEXITY_LIMIT_EXCEEDED":
				out.Message = "查询过于复杂，请减少字段或每页条数"
			case "DEPTH_LIMIT_EXCEEDED":
				out.Message = "查询嵌套层级过深"
			}
			out.Extensions["code"] = string(apperr.ValidationFailed)
			return out
		}
		obs.Log(ctx, log).ErrorContext(ctx, "internal error", "error", err.Error(), "path", out.Path.String())
		out.Message = apperr.InternalMessage
		out.Extensions = map[string]any{"code": string(apperr.Internal)}
		return out
	}
}

// depthLimit refuses operations nested deeper than max, fragments included,
// before anything runs.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (d depthLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if depth := selectionDepth(oc.Operation.SelectionSet, 0, d.max); depth > d.max {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("查询嵌套层级过深（最多 %d 层）", d.max),
			Extensions: map[string]any{"code": "DEPTH_LIMIT_EXCEEDED"},
		}
	}
	return nil
}

// selectionDepth measures nesting, stopping once past limit. Fragment cycles
// are refused by validation before this runs.
func selectionDepth(set ast.SelectionSet, depth, limit int) int {
	if depth > limit {
		return depth
	}
	max := depth
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if len(s.SelectionSet) == 0 {
				d = depth + 1
			} else {
				d = selectionDepth(s.SelectionSet, depth+1, limit)
			}
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, depth, limit)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				d = selectionDepth(s.Definition.SelectionSet, depth, limit)
			}
		}
		if d > max {
			max = d
		}
	}
	return max
}
