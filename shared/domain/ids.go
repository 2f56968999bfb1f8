package domain

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID returns a random, URL-safe id of 128 bits: never a guessable sequence.
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return strings.ToLower(idEncoding.EncodeToString(b))
}

// DerivedID is an id in NewID's form derived from parts: the same parts always give the
// same id, which makes a write under attribute_not_exists happen once. Its 128 bits of
// a hash reveal nothing of the parts.
func DerivedID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return strings.ToLower(idEncoding.EncodeToString(h.Sum(nil)[:16]))
}

// ValidID reports whether s looks like an id this system could have issued: short,
// URL-safe characters only. Seeded and test ids may be readable words.
func ValidID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Truncate shortens s to at most n characters.
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
