// Package gqlscalar marshals the schema's scalars: IDs are int64 in Go and
// strings on the wire; times are RFC 3339 in China time (+08:00) on the wire
// and UTC inside; dates are YYYY-MM-DD.
package gqlscalar

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
	"unionhall/internal/apperr"
	"unionhall/internal/clock"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalID64 writes an int64 id as a GraphQL ID string.
func MarshalID64(id int64) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(strconv.FormatInt(id, 10)))
	})
}

// UnmarshalID64 accepts "123" (or 123) and refuses anything else.
func UnmarshalID64(v any) (int64, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	case int64:
		s = strconv.FormatInt(x, 10)
	case int:
		s = strconv.Itoa(x)
	default:
		return 0, apperr.New(apperr.ValidationFailed, "编号格式不正确")
	}
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.New(apperr.ValidationFailed, "编号格式不正确")
	}
	return id, nil
}

// MarshalTime writes RFC 3339 in +08:00.
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.In(clock.China).Format(time.RFC3339)))
	})
}

// UnmarshalTime reads RFC 3339 (any offset) into UTC.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, apperr.New(apperr.ValidationFailed, "时间格式应为 RFC 3339，如 2026-07-01T09:00:00+08:00")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, apperr.New(apperr.ValidationFailed, "时间格式应为 RFC 3339，如 2026-07-01T09:00:00+08:00")
	}
	return t.UTC().Truncate(time.Microsecond), nil
}

// MarshalDate writes YYYY-MM-DD.
func MarshalDate(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.Format(time.DateOnly)))
	})
}

// UnmarshalDate reads YYYY-MM-DD as UTC midnight.
func UnmarshalDate(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, apperr.New(apperr.ValidationFailed, "日期格式应为 YYYY-MM-DD")
	}
	t, err := time.ParseInLocation(time.DateOnly, s, time.UTC)
	if err != nil {
		return time.Time{}, apperr.New(apperr.ValidationFailed, "日期格式应为 YYYY-MM-DD")
	}
	return t, nil
}
