package core

import (
	"context"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"unionhall/internal/store"
)

// OfferingCache keeps offerings (classes, voucher batches) read on the rush
// path for a moment, per instance. It only ever speeds up a decision the
// database makes again (the seat UPDATE checks the offering is open), and a
// refusal is re-read fresh, so a stale entry can delay a member by one
// fresh read, never wrong them. Writes on this instance drop the entry.
type OfferingCache[T any] struct {
	lru  *expirable.LRU[int64, T]
	load func(ctx context.Context, id int64) (T, error)
	id   func(T) int64
}

// offeringTTL bounds how stale an entry may be (edits made on another
// instance show here within it).
const offeringTTL = time.Second

func NewOfferingCache[T any](db *store.DB, id func(T) int64) *OfferingCache[T] {
	return NewCacheWith(func(ctx context.Context, key int64) (T, error) {
		var v T
		err := db.WithContext(ctx).Take(&v, key).Error
		return v, err
	}, id)
}

// NewCacheWith is an offering cache that loads with load (an offering
// with what its rush check needs besides its own row).
func NewCacheWith[T any](load func(ctx context.Context, id int64) (T, error), id func(T) int64) *OfferingCache[T] {
	return &OfferingCache[T]{lru: expirable.NewLRU[int64, T](10_000, nil, offeringTTL), load: load, id: id}
}

func (c *OfferingCache[T]) Get(ctx context.Context, id int64) (*T, error) {
	if v, ok := c.lru.Get(id); ok {
		return &v, nil
	}
	v, err := c.load(ctx, id)
	if err != nil {
		return nil, err
	}
	c.lru.Add(id, v)
	return &v, nil
}

func (c *OfferingCache[T]) Put(v *T) { c.lru.Add(c.id(*v), *v) }

func (c *OfferingCache[T]) Forget(id int64) { c.lru.Remove(id) }
