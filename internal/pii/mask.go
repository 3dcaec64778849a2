package pii

import "strings"

// MaskIDNumber keeps the first 3 and last 4 chars of an ID number and stars
// the rest, keeping the length ("110***********002X").
func MaskIDNumber(s string) string { return maskMiddle(s, 3, 4) }

// MaskPhone keeps the first 3 and last 4 digits ("138****5678").
func MaskPhone(s string) string { return maskMiddle(s, 3, 4) }

// MaskName keeps the first rune of a name and stars each of the others
// ("张**"); a one-rune name is returned as is.
func MaskName(s string) string {
	r := []rune(s)
	if len(r) <= 1 {
		return s
	}
	return string(r[0]) + strings.Repeat("*", len(r)-1)
}

// maskMiddle stars all but the first head and last tail runes. A value too
// short to leave anything hidden is starred entirely: a mask must never
// show a whole (if malformed) value.
func maskMiddle(s string, head, tail int) string {
	r := []rune(s)
	if len(r) <= head+tail {
		return strings.Repeat("*", len(r))
	}
	return string(r[:head]) + strings.Repeat("*", len(r)-head-tail) + string(r[len(r)-tail:])
}
