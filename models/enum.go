// Package models holds the GORM entities, their enums and invariants. It has
// no HTTP, GraphQL or database calls: the service layer loads and saves these,
// the GraphQL layer autobinds to them.
package models

import (
	"fmt"
	"io"
	"slices"
	"strconv"
)

// The enum types implement gqlgen's Marshaler/Unmarshaler by method shape
// (MarshalGQL/UnmarshalGQL), which needs no import of gqlgen here.

func unmarshalEnum[T ~string](v any, valid []T, dst *T) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("enum must be a string")
	}
	if !slices.Contains(valid, T(s)) {
		return fmt.Errorf("%q is not a valid value", s)
	}
	*dst = T(s)
	return nil
}

func marshalEnum[T ~string](w io.Writer, v T) {
	_, _ = io.WriteString(w, strconv.Quote(string(v)))
}

func slicesContains[T comparable](s []T, v T) bool { return slices.Contains(s, v) }
