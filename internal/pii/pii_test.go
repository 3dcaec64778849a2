package pii

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"unionhall/internal/apperr"
)

// testNow is a fixed "today" so that future-date checks do not drift.
var testNow = time.Date(2025, 6, 15, 10, 0, 0, 0, time.UTC)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// withCheck replaces the check char of a 17- or 18-char number with the
// right one, to build inputs that fail only on their birth date.
func withCheck(s string) string { return s[:17] + string(idCheckChar(s[:17])) }

// wrongCheck returns n with a check char that is not the correct one.
func wrongCheck(n string) string {
	c := byte('0')
	if n[17] == '0' {
		c = '1'
	}
	return n[:17] + string(c)
}

func TestParseIDNumberValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want IDNumber
	}{
		{
			name: "known valid with X",
			in:   "11010519491231002X",
			want: IDNumber{Number: "11010519491231002X", BirthDate: date(1949, 12, 31), Gender: GenderFemale},
		},
		{
			name: "lower-case x normalised",
			in:   "11010519491231002x",
			want: IDNumber{Number: "11010519491231002X", BirthDate: date(1949, 12, 31), Gender: GenderFemale},
		},
		{
			name: "surrounding spaces trimmed",
			in:   "  11010519491231002X\t",
			want: IDNumber{Number: "11010519491231002X", BirthDate: date(1949, 12, 31), Gender: GenderFemale},
		},
		{
			name: "known valid, male",
			in:   "320106197808151232",
			want: IDNumber{Number: "320106197808151232", BirthDate: date(1978, 8, 15), Gender: GenderMale},
		},
		{
			name: "made, male",
			in:   MakeIDNumber("310101", date(1990, 2, 28), 123),
			want: IDNumber{Number: MakeIDNumber("310101", date(1990, 2, 28), 123), BirthDate: date(1990, 2, 28), Gender: GenderMale},
		},
		{
			name: "made, female",
			in:   MakeIDNumber("510104", date(1985, 7, 9), 42),
			want: IDNumber{Number: MakeIDNumber("510104", date(1985, 7, 9), 42), BirthDate: date(1985, 7, 9), Gender: GenderFemale},
		},
		{
			name: "leap day",
			in:   MakeIDNumber("110105", date(2000, 2, 29), 1),
			want: IDNumber{Number: MakeIDNumber("110105", date(2000, 2, 29), 1), BirthDate: date(2000, 2, 29), Gender: GenderMale},
		},
		{
			name: "1900-01-01 is the earliest",
			in:   MakeIDNumber("110105", date(1900, 1, 1), 2),
			want: IDNumber{Number: MakeIDNumber("110105", date(1900, 1, 1), 2), BirthDate: date(1900, 1, 1), Gender: GenderFemale},
		},
		{
			name: "born today",
			in:   MakeIDNumber("110105", date(2025, 6, 15), 3),
			want: IDNumber{Number: MakeIDNumber("110105", date(2025, 6, 15), 3), BirthDate: date(2025, 6, 15), Gender: GenderMale},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIDNumber(tt.in, testNow)
			if err != nil {
				t.Fatalf("ParseIDNumber(%q) error: %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseIDNumber(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseIDNumberInvalid(t *testing.T) {
	const (
		shape    = "身份证号码格式不正确"
		checksum = "身份证号码校验位不正确"
		birth    = "身份证号码中的出生日期不正确"
	)
	tests := []struct {
		name    string
		in      string
		wantMsg string
	}{
		{"empty", "", shape},
		{"spaces only", "   ", shape},
		{"17 chars", "11010519491231002", shape},
		{"19 chars", "11010519491231002X1", shape},
		{"15-digit old format", "110105491231002", shape},
		{"letter in body", "1101051949123100AX", shape},
		{"X not last", "X10105194912310021", shape},
		{"bad check letter", "11010519491231002Y", shape},
		{"inner space", "110105 9491231002X", shape},
		{"full-width digit", "１10105194912310021", shape},
		{"wrong checksum", "110105194912310021", checksum},
		{"wrong checksum, X for digit", "11010519491231003X", checksum},
		{"wrong checksum on made number", wrongCheck(MakeIDNumber("310101", date(1990, 1, 1), 5)), checksum},
		{"Feb 30", withCheck("11010519900230123"), birth},
		{"Feb 29 in non-leap year", withCheck("11010519000229123"), birth},
		{"month 13", withCheck("11010519901301123"), birth},
		{"month 00", withCheck("11010519900001123"), birth},
		{"day 00", withCheck("11010519900100123"), birth},
		{"day 32", withCheck("11010519900132123"), birth},
		{"before 1900 (checksum valid)", "440524188001010014", birth},
		{"tomorrow", MakeIDNumber("110105", date(2025, 6, 16), 3), birth},
		{"far future", MakeIDNumber("110105", date(2999, 1, 1), 3), birth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseIDNumber(tt.in, testNow)
			e, ok := apperr.As(err)
			if !ok {
				t.Fatalf("ParseIDNumber(%q) = %v, want *apperr.Error", tt.in, err)
			}
			want := &apperr.Error{Code: apperr.ValidationFailed, Field: "idNumber", Message: tt.wantMsg}
			if diff := cmp.Diff(want, e); diff != "" {
				t.Errorf("ParseIDNumber(%q) error mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// "Today" is China's date: at 20:00 UTC on June 15 it is already June 16
// in Beijing, so someone born June 16 is valid.
func TestParseIDNumberChinaToday(t *testing.T) {
	n := MakeIDNumber("110105", date(2025, 6, 16), 7)
	if _, err := ParseIDNumber(n, time.Date(2025, 6, 15, 20, 0, 0, 0, time.UTC)); err != nil {
		t.Errorf("born on China's today: %v", err)
	}
	if _, err := ParseIDNumber(n, time.Date(2025, 6, 15, 15, 0, 0, 0, time.UTC)); err == nil {
		t.Errorf("born on China's tomorrow: accepted")
	}
}

func TestMakeIDNumber(t *testing.T) {
	tests := []struct {
		region string
		birth  time.Time
		seq    int
		want   string
	}{
		{"110105", date(1949, 12, 31), 2, "11010519491231002X"},
		{"110105", date(1949, 12, 31), 1002, "11010519491231002X"}, // seq mod 1000
		{"110105", date(1949, 12, 31), -998, "11010519491231002X"}, // negative wraps
	}
	for _, tt := range tests {
		if got := MakeIDNumber(tt.region, tt.birth, tt.seq); got != tt.want {
			t.Errorf("MakeIDNumber(%q, %v, %d) = %q, want %q", tt.region, tt.birth, tt.seq, got, tt.want)
		}
	}
	// Every sequence makes a number that parses back to its own parts.
	birth := date(1975, 10, 1)
	for seq := 0; seq < 1000; seq++ {
		n := MakeIDNumber("440305", birth, seq)
		got, err := ParseIDNumber(n, testNow)
		if err != nil {
			t.Fatalf("MakeIDNumber seq %d = %q: %v", seq, n, err)
		}
		wantGender := GenderFemale
		if seq%2 == 1 {
			wantGender = GenderMale
		}
		if !got.BirthDate.Equal(birth) || got.Gender != wantGender {
			t.Fatalf("seq %d: got %+v", seq, got)
		}
	}
}

func TestMakeIDNumberBadRegionPanics(t *testing.T) {
	for _, region := range []string{"", "11010", "1101055", "11010a"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("MakeIDNumber(%q, ...) did not panic", region)
				}
			}()
			MakeIDNumber(region, date(1990, 1, 1), 1)
		}()
	}
}

func TestValidateMobile(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means invalid
	}{
		{"13812345678", "13812345678"},
		{" 13812345678 ", "13812345678"},
		{"138 1234 5678", "13812345678"},
		{"138-1234-5678", "13812345678"},
		{"+8613812345678", "13812345678"},
		{"+86 138 1234 5678", "13812345678"},
		{"+86-138-1234-5678", "13812345678"},
		{"8613812345678", "13812345678"},
		{"86 13812345678", "13812345678"},
		{"19912345678", "19912345678"},
		{"", ""},
		{"1381234567", ""},     // 10 digits
		{"138123456789", ""},   // 12 digits
		{"12812345678", ""},    // second digit 2
		{"23812345678", ""},    // not starting with 1
		{"1381234567a", ""},    // letter
		{"+8513812345678", ""}, // other country
		{"+86+8613812345678", ""},
		{"(138)12345678", ""},
		{"１3812345678", ""},  // full-width digit
		{"861381234567", ""}, // 86 + 10 digits
	}
	for _, tt := range tests {
		got, err := ValidateMobile(tt.in)
		if tt.want == "" {
			want := &apperr.Error{Code: apperr.ValidationFailed, Field: "phone", Message: "手机号码格式不正确"}
			e, _ := apperr.As(err)
			if diff := cmp.Diff(want, e); diff != "" || got != "" {
				t.Errorf("ValidateMobile(%q) = %q, %v; want invalid (-want +got):\n%s", tt.in, got, err, diff)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ValidateMobile(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestMasks(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) string
		in   string
		want string
	}{
		{"id", MaskIDNumber, "11010519491231002X", "110***********002X"},
		{"id empty", MaskIDNumber, "", ""},
		{"id short is fully starred", MaskIDNumber, "1234567", "*******"},
		{"id 8 chars", MaskIDNumber, "12345678", "123*5678"},
		{"phone", MaskPhone, "13812345678", "138****5678"},
		{"phone empty", MaskPhone, "", ""},
		{"phone short", MaskPhone, "138", "***"},
		{"name 3 runes", MaskName, "张三丰", "张**"},
		{"name 2 runes", MaskName, "李四", "李*"},
		{"name 1 rune", MaskName, "王", "王"},
		{"name empty", MaskName, "", ""},
		{"name ascii", MaskName, "Alice", "A****"},
		{"name minority with dot", MaskName, "阿依古丽·买买提", "阿*******"},
		{"name supplementary-plane rune", MaskName, "𠀋小明", "𠀋**"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.fn(tt.in)
			if got != tt.want {
				t.Errorf("mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if len([]rune(got)) != len([]rune(tt.in)) {
				t.Errorf("mask(%q) changed rune count: %q", tt.in, got)
			}
		})
	}
}

func testKeys(t *testing.T) (enc, hash []byte) {
	t.Helper()
	return bytes.Repeat([]byte{0x11}, KeySize), bytes.Repeat([]byte{0x22}, KeySize)
}

func TestNewSealerKeySizes(t *testing.T) {
	good := make([]byte, KeySize)
	for _, tc := range []struct {
		name      string
		enc, hash []byte
	}{
		{"nil enc", nil, good},
		{"short enc", make([]byte, 16), good},
		{"long hash", good, make([]byte, 33)},
		{"nil hash", good, nil},
	} {
		if _, err := NewSealer(tc.enc, tc.hash); err == nil {
			t.Errorf("%s: NewSealer accepted", tc.name)
		}
	}
	if _, err := NewSealer(good, good); err != nil {
		t.Errorf("NewSealer with 32-byte keys: %v", err)
	}
}

func TestSealOpen(t *testing.T) {
	enc, hash := testKeys(t)
	s, err := NewSealer(enc, hash)
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"11010519491231002X", "", "张三", strings.Repeat("x", 1000)} {
		sealed, err := s.Seal(plain)
		if err != nil {
			t.Fatalf("Seal(%q): %v", plain, err)
		}
		if sealed[0] != 0x01 {
			t.Errorf("Seal(%q) version = %#x, want 0x01", plain, sealed[0])
		}
		if want := 1 + 12 + len(plain) + 16; len(sealed) != want {
			t.Errorf("Seal(%q) len = %d, want %d", plain, len(sealed), want)
		}
		if plain != "" && bytes.Contains(sealed, []byte(plain)) {
			t.Errorf("Seal(%q) contains the plaintext", plain)
		}
		got, err := s.Open(sealed)
		if err != nil || got != plain {
			t.Errorf("Open(Seal(%q)) = %q, %v", plain, got, err)
		}
	}

	// A random nonce: the same value seals differently each time.
	a, _ := s.Seal("11010519491231002X")
	b, _ := s.Seal("11010519491231002X")
	if bytes.Equal(a, b) {
		t.Error("two seals of one value are equal; nonce not random")
	}
}

func TestOpenRejectsTampering(t *testing.T) {
	enc, hash := testKeys(t)
	s, _ := NewSealer(enc, hash)
	sealed, err := s.Seal("11010519491231002X")
	if err != nil {
		t.Fatal(err)
	}
	// Flip each byte in turn: version, nonce, ciphertext and tag are all
	// covered.
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if got, err := s.Open(bad); err == nil {
			t.Errorf("flipping byte %d: Open = %q, want error", i, got)
		}
	}
	for _, bad := range [][]byte{nil, {}, {0x01}, sealed[:len(sealed)-1], sealed[:28]} {
		if _, err := s.Open(bad); err == nil {
			t.Errorf("Open(%d bytes) accepted", len(bad))
		}
	}
	// Another key cannot open it.
	other, _ := NewSealer(bytes.Repeat([]byte{0x33}, KeySize), hash)
	if _, err := other.Open(sealed); err == nil {
		t.Error("Open with another key succeeded")
	}
}

func TestHash(t *testing.T) {
	enc, hash := testKeys(t)
	s1, _ := NewSealer(enc, hash)
	s2, _ := NewSealer(bytes.Repeat([]byte{0x44}, KeySize), hash) // other enc key, same hash key
	s3, _ := NewSealer(enc, bytes.Repeat([]byte{0x55}, KeySize))  // other hash key

	const n = "11010519491231002X"
	h := s1.Hash(n)
	if len(h) != 64 {
		t.Fatalf("Hash len = %d, want 64 hex chars", len(h))
	}
	if _, err := hex.DecodeString(h); err != nil {
		t.Fatalf("Hash not hex: %v", err)
	}
	if s1.Hash(n) != h || s2.Hash(n) != h {
		t.Error("Hash not deterministic for one hash key")
	}
	if s3.Hash(n) == h {
		t.Error("Hash does not depend on the hash key")
	}
	if s1.Hash("11010519491231002x") == h {
		t.Error("Hash of different input collides")
	}
	// Known answer (computed with Python's hmac): guards against changing
	// the algorithm by accident, which would orphan every indexed row.
	if want := "daf9a965e23e7548ab1f96fd4d3fce50c514d31d086d13bc1c9b62bb1fc301e4"; h != want {
		t.Errorf("Hash(%q) = %s, want %s", n, h, want)
	}
}

func TestHashKeyNotAliased(t *testing.T) {
	enc, hash := testKeys(t)
	s, _ := NewSealer(enc, hash)
	before := s.Hash("x")
	hash[0] ^= 0xff
	if s.Hash("x") != before {
		t.Error("Sealer follows changes to the caller's key buffer")
	}
}

func TestParseKey(t *testing.T) {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = byte(i*7 + 250) // spans bytes that differ between std and URL base64
	}
	valid := map[string]string{
		"hex lower":      hex.EncodeToString(key),
		"hex upper":      strings.ToUpper(hex.EncodeToString(key)),
		"std padded":     base64.StdEncoding.EncodeToString(key),
		"std raw":        base64.RawStdEncoding.EncodeToString(key),
		"url padded":     base64.URLEncoding.EncodeToString(key),
		"url raw":        base64.RawURLEncoding.EncodeToString(key),
		"spaces trimmed": "  " + hex.EncodeToString(key) + "\n",
	}
	for name, in := range valid {
		got, err := ParseKey(in)
		if err != nil {
			t.Errorf("%s: ParseKey(%q): %v", name, in, err)
			continue
		}
		if !bytes.Equal(got, key) {
			t.Errorf("%s: ParseKey(%q) = %x, want %x", name, in, got, key)
		}
	}

	invalid := map[string]string{
		"empty":          "",
		"hex 31 bytes":   hex.EncodeToString(key[:31]),
		"hex 33 bytes":   hex.EncodeToString(append(bytes.Clone(key), 0)),
		"hex bad char":   "zz" + hex.EncodeToString(key)[2:],
		"base64 16":      base64.StdEncoding.EncodeToString(key[:16]),
		"base64 40":      base64.StdEncoding.EncodeToString(make([]byte, 40)),
		"not a key":      "changeme",
		"base64 garbage": strings.Repeat("!", 44),
	}
	for name, in := range invalid {
		if got, err := ParseKey(in); err == nil {
			t.Errorf("%s: ParseKey(%q) = %x, want error", name, in, got)
		} else if in != "" && strings.Contains(err.Error(), in) {
			t.Errorf("%s: error text contains the key: %v", name, err)
		}
	}
}

func FuzzParseIDNumber(f *testing.F) {
	for _, s := range []string{
		"11010519491231002X", "11010519491231002x", "110105194912310021",
		"", "X", "  11010519491231002X  ", withCheck("11010519900230123"),
		MakeIDNumber("310101", date(1990, 2, 28), 123), "１10105194912310021",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseIDNumber(s, testNow)
		if err != nil {
			if !apperr.Is(err, apperr.ValidationFailed) {
				t.Fatalf("ParseIDNumber(%q) error %v is not VALIDATION_FAILED", s, err)
			}
			return
		}
		n := got.Number
		if len(n) != 18 || !strings.EqualFold(n, strings.TrimSpace(s)) {
			t.Fatalf("ParseIDNumber(%q).Number = %q", s, n)
		}
		// Recompute the check char independently of idCheckChar: the sum
		// over all 18 positions with weight 2^(17-i) mod 11, counting X
		// as 10, is 1 mod 11 for a valid number.
		sum := 0
		for i := range 18 {
			v := int(n[i] - '0')
			if i == 17 && n[i] == 'X' {
				v = 10
			} else if n[i] < '0' || n[i] > '9' {
				t.Fatalf("accepted %q with non-digit at %d", n, i)
			}
			w := 1
			for range 17 - i {
				w = w * 2 % 11
			}
			sum += v * w
		}
		if sum%11 != 1 {
			t.Fatalf("accepted %q with a bad checksum", n)
		}
		if got.BirthDate.Year() < 1900 || got.BirthDate.After(testNow) {
			t.Fatalf("accepted %q with birth date %v", n, got.BirthDate)
		}
		if got.Gender != GenderMale && got.Gender != GenderFemale {
			t.Fatalf("accepted %q with gender %q", n, got.Gender)
		}
	})
}
