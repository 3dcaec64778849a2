// Package page implements keyset (cursor) pagination: the cursor is the
// opaque encoding of the last row's sort key, so page 5,000 costs what page 1
// costs.
package page

import (
	"encoding/base64"
	"encoding/json"

	"unionhall/internal/apperr"
)

const (
	DefaultSize = 20
	MaxSize     = 100
)

// Size validates a requested page size.
func Size(first *int) (int, error) {
	if first == nil {
		return DefaultSize, nil
	}
	if *first < 1 || *first > MaxSize {
		return 0, apperr.Invalid("first", "每页条数应在 1 到 100 之间")
	}
	return *first, nil
}

// Encode turns a sort key into an opaque cursor.
func Encode(key any) string {
	b, _ := json.Marshal(key)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode reads a cursor made by Encode into key. A nil or empty cursor leaves
// key untouched and reports false.
func Decode(after *string, key any) (bool, error) {
	if after == nil || *after == "" {
		return false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*after)
	if err != nil || len(b) > 512 || json.Unmarshal(b, key) != nil {
		return false, apperr.Invalid("after", "分页游标无效")
	}
	return true, nil
}

// Page is one page of rows and whether more follow.
type Page[T any] struct {
	Items   []T
	HasNext bool
}

// Trim cuts a LIMIT size+1 result to size and notes whether more exist.
func Trim[T any](rows []T, size int) Page[T] {
	if len(rows) > size {
		return Page[T]{Items: rows[:size], HasNext: true}
	}
	return Page[T]{Items: rows}
}

// IDKey is the key of lists ordered by id descending.
type IDKey struct {
	ID int64 `json:"i"`
}

// Args is a validated page request: its size and, past the first page, the
// key of the row to continue after.
type Args[K any] struct {
	Size   int
	Key    K
	HasKey bool
}

// Parse validates first and after. Codes: VALIDATION_FAILED (first, after).
func Parse[K any](first *int, after *string) (Args[K], error) {
	var a Args[K]
	var err error
	if a.Size, err = Size(first); err != nil {
		return a, err
	}
	a.HasKey, err = Decode(after, &a.Key)
	return a, err
}
