package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of both Sealer keys (AES-256, HMAC-SHA256).
const KeySize = 32

// sealVersion prefixes every sealed value so that a later key (or algorithm)
// can be introduced while old rows still open with the old one.
const sealVersion byte = 0x01

// Sealer encrypts ID numbers at rest and hashes them for exact-match
// lookups. Its methods are safe for concurrent use.
type Sealer struct {
	aead    cipher.AEAD
	hashKey []byte
}

// NewSealer returns a Sealer using encKey for AES-256-GCM and hashKey for
// HMAC-SHA256. Both must be KeySize bytes.
func NewSealer(encKey, hashKey []byte) (*Sealer, error) {
	if len(encKey) != KeySize {
		return nil, fmt.Errorf("pii: encryption key is %d bytes, want %d", len(encKey), KeySize)
	}
	if len(hashKey) != KeySize {
		return nil, fmt.Errorf("pii: hash key is %d bytes, want %d", len(hashKey), KeySize)
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, fmt.Errorf("pii: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("pii: %w", err)
	}
	// Copy the key so a caller reusing its buffer cannot change our hashes.
	return &Sealer{aead: aead, hashKey: append([]byte(nil), hashKey...)}, nil
}

// Seal encrypts plain as version(1) || nonce(12) || ciphertext+tag. The
// nonce is random, so sealing the same value twice gives different bytes;
// use Hash to find a value.
func (s *Sealer) Seal(plain string) ([]byte, error) {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plain)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1 : 1+ns]); err != nil {
		return nil, fmt.Errorf("pii: nonce: %w", err)
	}
	// The version byte is authenticated too, so it cannot be swapped.
	return s.aead.Seal(out, out[1:1+ns], []byte(plain), out[:1]), nil
}

// ErrSealed is returned by Open for a value that is malformed, of an unknown
// version, sealed with another key, or tampered with.
var ErrSealed = errors.New("pii: cannot open sealed value")

// Open decrypts a value made by Seal.
func (s *Sealer) Open(sealed []byte) (string, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() {
		return "", fmt.Errorf("%w: too short", ErrSealed)
	}
	if sealed[0] != sealVersion {
		return "", fmt.Errorf("%w: unknown version %#x", ErrSealed, sealed[0])
	}
	plain, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], sealed[:1])
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrSealed, err)
	}
	return string(plain), nil
}

// Hash returns the hex HMAC-SHA256 of plain: deterministic, for a unique
// index and lookups, yet useless without the key (ID numbers are few enough
// to brute-force a plain hash). Pass the normalised form (ParseIDNumber's
// Number) so equal numbers hash equal.
func (s *Sealer) Hash(plain string) string {
	m := hmac.New(sha256.New, s.hashKey)
	m.Write([]byte(plain))
	return hex.EncodeToString(m.Sum(nil))
}

// ParseKey decodes a KeySize-byte key given as 64 hex chars or as base64
// (standard or URL alphabet, padded or not). 64 hex chars are read as hex
// even though they are also valid base64 (of 48 bytes, so never a key).
// Errors never include the key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding,
		base64.URLEncoding, base64.RawURLEncoding,
	} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("pii: key must be %d bytes as 64 hex chars or base64 (got %d chars)", KeySize, len(s))
}
