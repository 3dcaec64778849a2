package service

import (
	"gorm.io/gorm"

	"unionhall/internal/page"
)

// byIDPage runs q as one keyset page ordered by id (newest first when
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
