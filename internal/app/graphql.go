package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"unionhall/graph"
	"unionhall/internal/apperr"
	"unionhall/internal/config"
	"unionhall/internal/obs"
	"unionhall/resolvers"
)

// Document limits. A mini-program screen's query expands to a few dozen
// selections and five or six levels; the admin lists to a few hundred.
const (
	parserTokenLimit = 5000
	maxSelections    = 1000
)

// newGraphQL builds the GraphQL handler explicitly: one strict transport
// (see transport), an LRU query cache, persisted documents (automatic, or
// a trusted list), a document guard ahead of validation, complexity and
// depth limits, one login per request, one error presenter, and
// introspection and suggestions only in dev.
func newGraphQL(cfg config.Config, mods modules, log *slog.Logger, m *metrics) (*handler.Server, error) {
	schema := graph.NewExecutableSchema(graph.Config{
		Resolvers:  &resolvers.Resolver{Core: mods.Core, Training: mods.training, Vouchers: mods.vouchers, Posts: mods.events, Childcare: mods.childcare, Matchmaking: mods.matchmaking, Subsidies: mods.subsidies, Membership: mods.members, Activity: mods.activity},
		Directives: graph.DirectiveRoot{Auth: resolvers.AuthDirective(mods.members)},
		Complexity: resolvers.Complexity(),
	})
	docs := &persistedDocuments{cache: lru.New[string](1000)}
	if cfg.TrustedDocuments != "" {
		var err error
		if docs.trusted, err = loadTrustedDocuments(cfg.TrustedDocuments); err != nil {
			return nil, err
		}
	}
	srv := handler.New(schema)
	srv.AddTransport(transport{persistedGETOnly: !cfg.IsDev()})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(parserTokenLimit)
	// Order matters: the document is known after persistedDocuments, and
	// measured by the guard before gqlgen parses and validates it.
	srv.Use(docs)
	srv.Use(newDocGuard(maxSelections, cfg.DepthLimit, parserTokenLimit))
	srv.Use(extension.FixedComplexityLimit(cfg.ComplexityLimit))
	srv.Use(oneLogin{})
	if cfg.IsDev() {
		srv.Use(extension.Introspection{})
	} else {
		srv.SetDisableSuggestion(true)
	}
	srv.SetErrorPresenter(presentError(log, !cfg.IsDev()))
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
	return srv, nil
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

// presentError turns errors into GraphQL errors: application errors and
// our own failures go through forClient, as plain HTTP's do; gqlgen's own (parse,
// validation, limits) become VALIDATION_FAILED, and in production say only
// what kind of mistake it was (their text names schema types, fields and
// arguments, and suggests others); anything else is INTERNAL with its text
// logged, not shown.
func presentError(log *slog.Logger, prod bool) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		out := graphql.DefaultErrorPresenter(ctx, err)
		if out.Extensions == nil {
			out.Extensions = map[string]any{}
		}
		if _, ok := apperr.As(err); ok {
			ae := forClient(ctx, log, err, out.Path.String())
			out.Message = ae.Message
			out.Extensions = map[string]any{"code": string(ae.Code)}
			if ae.Field != "" {
				out.Extensions["field"] = ae.Field
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
			case errcode.ParseFailed:
				if prod {
					out.Message = "查询语法错误"
				}
			default:
				if prod {
					out.Message = "查询无效，请检查字段、参数和变量"
				}
			}
			out.Extensions = map[string]any{"code": string(apperr.ValidationFailed)}
			return out
		}
		ae := forClient(ctx, log, err, out.Path.String())
		out.Message = ae.Message
		out.Extensions = map[string]any{"code": string(ae.Code)}
		return out
	}
}
