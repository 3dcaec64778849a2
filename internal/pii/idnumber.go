// Package pii handles members' personal data: validating and normalising
// resident ID numbers and mobile numbers, masking them for display, and
// sealing ID numbers at rest.
package pii

import (
	"fmt"
	"strings"
	"time"

	"unionhall/internal/apperr"
	"unionhall/internal/clock"
)

// IDNumber is a validated mainland resident ID number (GB 11643-1999).
type IDNumber struct {
	Number    string    // 18 chars, check char upper-cased
	BirthDate time.Time // UTC midnight
	Gender    string    // "MALE" or "FEMALE"
}

// Genders as derived from the sequence code.
const (
	GenderMale   = "MALE"
	GenderFemale = "FEMALE"
)

const idLen = 18

// idWeights are the ISO 7064 MOD 11-2 weights 2^(17-i) mod 11 for the first
// 17 digits; idCheckChars maps the weighted sum mod 11 to the check char.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheckChars = "10X98765432"

// ID birth dates are Chinese calendar days, so "not in the future" is
// judged against today's date in China.
var chinaZone = clock.China

// Each call returns a fresh *apperr.Error so callers may annotate it safely.
func errIDShape() error {
	return apperr.Invalid("idNumber", "身份证号码格式不正确")
}

func errIDChecksum() error {
	return apperr.Invalid("idNumber", "身份证号码校验位不正确")
}

func errIDBirth() error {
	return apperr.Invalid("idNumber", "身份证号码中的出生日期不正确")
}

// ParseIDNumber validates s as an 18-char resident ID number: shape, check
// char, and a real birth date between 1900-01-01 and today (as of now, in
// China). Surrounding spaces are ignored and a lower-case 'x' is accepted.
func ParseIDNumber(s string, now time.Time) (IDNumber, error) {
	s = strings.TrimSpace(s)
	if len(s) != idLen {
		return IDNumber{}, errIDShape()
	}
	for i := 0; i < idLen-1; i++ {
		if !isDigit(s[i]) {
			return IDNumber{}, errIDShape()
		}
	}
	last := s[idLen-1]
	switch {
	case isDigit(last):
	case last == 'X' || last == 'x':
		s = s[:idLen-1] + "X"
	default:
		return IDNumber{}, errIDShape()
	}

	if s[idLen-1] != idCheckChar(s[:idLen-1]) {
		return IDNumber{}, errIDChecksum()
	}

	birth, ok := parseBirth(s[6:14])
	if !ok || birth.Year() < 1900 {
		return IDNumber{}, errIDBirth()
	}
	y, m, d := now.In(chinaZone).Date()
	if birth.After(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) {
		return IDNumber{}, errIDBirth()
	}

	gender := GenderFemale
	if (s[16]-'0')%2 == 1 {
		gender = GenderMale
	}
	return IDNumber{Number: s, BirthDate: birth, Gender: gender}, nil
}

// MakeIDNumber builds a valid 18-char ID number from a 6-digit region code,
// a birth date (its own calendar date is used) and a sequence number, of
// which only seq mod 1000 is kept; the sequence's last digit decides the
// gender (odd is male). It is for synthetic demo and test data and panics
// if region is not 6 digits, which is a programming error.
func MakeIDNumber(region string, birth time.Time, seq int) string {
	if len(region) != 6 || strings.IndexFunc(region, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		panic(fmt.Sprintf("pii.MakeIDNumber: region %q is not 6 digits", region))
	}
	seq %= 1000
	if seq < 0 {
		seq += 1000
	}
	body := fmt.Sprintf("%s%04d%02d%02d%03d", region, birth.Year(), int(birth.Month()), birth.Day(), seq)
	return body + string(idCheckChar(body))
}

// idCheckChar computes the ISO 7064 MOD 11-2 check char of 17 digits.
func idCheckChar(body string) byte {
	sum := 0
	for i := range idWeights {
		sum += int(body[i]-'0') * idWeights[i]
	}
	return idCheckChars[sum%11]
}

// parseBirth parses YYYYMMDD, rejecting dates time.Date would normalise
// (Feb 30 becoming Mar 2).
func parseBirth(s string) (time.Time, bool) {
	y := atoi(s[0:4])
	m := atoi(s[4:6])
	d := atoi(s[6:8])
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return time.Time{}, false
	}
	return t, true
}

// atoi converts a string already known to be ASCII digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
