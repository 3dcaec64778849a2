package pii

import (
	"regexp"
	"strings"

	"unionhall/internal/apperr"
)

var mobileRE = regexp.MustCompile(`^1[3-9]\d{9}$`)

// ValidateMobile normalises a mainland mobile number to its 11 digits. It
// strips spaces and dashes (as members type or paste "138 1234 5678") and an
// optional +86 or 86 country prefix.
func ValidateMobile(s string) (string, error) {
	d := strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(strings.TrimSpace(s))
	switch {
	case strings.HasPrefix(d, "+86"):
		d = d[3:]
	case len(d) == 13 && strings.HasPrefix(d, "86"):
		// Only with 13 chars: an 11-digit number never starts with 86.
		d = d[2:]
	}
	if !mobileRE.MatchString(d) {
		return "", apperr.Invalid("phone", "手机号码格式不正确")
	}
	return d, nil
}
