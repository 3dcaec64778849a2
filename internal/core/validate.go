package core

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"unionhall/internal/apperr"
)

// CleanText trims s and checks its length in characters (not bytes) and that
// it holds no control characters. Codes: VALIDATION_FAILED naming field.
func CleanText(field, s string, min, max int) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if !utf8.ValidString(s) {
		return "", apperr.Invalid(field, "含有无效字符")
	}
	if n < min {
		if n == 0 {
			return "", apperr.Invalid(field, "不能为空")
		}
		return "", apperr.Invalid(field, "内容过短")
	}
	if n > max {
		return "", apperr.Invalid(field, "内容过长，最多 "+strconv.Itoa(max)+" 个字")
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return "", apperr.Invalid(field, "含有无效字符")
		}
	}
	return s, nil
}

// ValidRealName accepts Chinese names (with the middle dot of minority names)
// and Latin names, 2–30 characters.
func ValidRealName(s string) bool {
	n := utf8.RuneCountInString(s)
	if n < 2 || n > 30 {
		return false
	}
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Han, r), unicode.IsLetter(r):
		case r == '·' || r == '•' || r == ' ' || r == '.':
		default:
			return false
		}
	}
	return true
}

func ValidUsername(s string) bool {
	if len(s) < 3 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// EscapeLike escapes LIKE wildcards in user input with '!', for use as
// "LIKE ? ESCAPE '!'" ('!' because a backslash literal is spelled differently
// in MySQL and SQLite).
func EscapeLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}
