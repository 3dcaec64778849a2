// Package loader holds the per-request dataloaders that batch the lookups
// nested fields make (a page of members each asking for its union becomes
// one query). A new set is made for every request, never shared.
package loader

import (
	"context"
	"net/http"
	"time"

	"github.com/graph-gophers/dataloader/v7"

	"unionhall/models"
)

// Source is what the loaders read from (the service).
type Source interface {
	UnionsByIDs(ctx context.Context, ids []int64) ([]*models.Union, error)
	AdminsByIDs(ctx context.Context, ids []int64) ([]*models.Admin, error)
}

// Loaders is one request's set.
type Loaders struct {
	Union *dataloader.Loader[int64, *models.Union]
	Admin *dataloader.Loader[int64, *models.Admin]
}

func batch[V any](fetch func(context.Context, []int64) ([]V, error)) dataloader.BatchFunc[int64, V] {
	return func(ctx context.Context, keys []int64) []*dataloader.Result[V] {
		out := make([]*dataloader.Result[V], len(keys))
		vals, err := fetch(ctx, keys)
		for i := range keys {
			if err != nil {
				out[i] = &dataloader.Result[V]{Error: err}
			} else {
				out[i] = &dataloader.Result[V]{Data: vals[i]}
			}
		}
		return out
	}
}

// New makes a request's loaders.
func New(src Source) *Loaders {
	opts := func() []dataloader.Option[int64, *models.Union] {
		return []dataloader.Option[int64, *models.Union]{dataloader.WithWait[int64, *models.Union](time.Millisecond)}
	}
	return &Loaders{
		Union: dataloader.NewBatchedLoader(batch(src.UnionsByIDs), opts()...),
		Admin: dataloader.NewBatchedLoader(batch(src.AdminsByIDs), dataloader.WithWait[int64, *models.Admin](time.Millisecond)),
	}
}

type ctxKey struct{}

// Middleware puts a fresh set of loaders in every request's context.
func Middleware(src Source, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), ctxKey{}, New(src))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// For returns the request's loaders.
func For(ctx context.Context) *Loaders {
	l, _ := ctx.Value(ctxKey{}).(*Loaders)
	return l
}

// Union loads one union by id through the request's loader.
func Union(ctx context.Context, id int64) (*models.Union, error) {
	return For(ctx).Union.Load(ctx, id)()
}

// Admin loads one admin by id through the request's loader.
func Admin(ctx context.Context, id int64) (*models.Admin, error) {
	return For(ctx).Admin.Load(ctx, id)()
}
