package core

import (
	"time"

	"gorm.io/gorm"

	"unionhall/internal/page"
)

// ByIDPage runs q as one keyset page ordered by id (newest first when
// desc), from the cursor in pa: the tail every id-ordered list shares.
func ByIDPage[T any](q *gorm.DB, pa page.Args[page.IDKey], desc bool) (page.Page[T], error) {
	order, after := "id", "id > ?"
	if desc {
		order, after = "id DESC", "id < ?"
	}
	if pa.HasKey {
		q = q.Where(after, pa.Key.ID)
	}
	var rows []T
	if err := q.Order(order).Limit(pa.Size + 1).Find(&rows).Error; err != nil {
		return page.Page[T]{}, err
	}
	return page.Trim(rows, pa.Size), nil
}

// ByIDs orders rows as ids, nil for missing ones.
func ByIDs[T any](ids []int64, rows []T, id func(T) int64) []T {
	by := make(map[int64]T, len(rows))
	for _, r := range rows {
		by[id(r)] = r
	}
	out := make([]T, len(ids))
	for i, k := range ids {
		out[i] = by[k]
	}
	return out
}

// CursorKey is a list cursor by time, then id (classes soonest first,
// batches by their closing time).
type CursorKey struct {
	T time.Time `json:"t"`
	I int64     `json:"i"`
}
