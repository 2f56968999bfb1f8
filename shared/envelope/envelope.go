// Package envelope encrypts secrets (connection credentials) with envelope encryption:
// each secret gets a fresh 256-bit data key from a key provider (KMS in the cloud, a
// local key in `make run` and plain tests), is sealed with AES-256-GCM under it, and is
// stored with the data key in its wrapped form only. The encryption context (the
// organization and the connection) is bound to both the wrapped key and the ciphertext,
// so a sealed secret copied onto another connection does not open.
package envelope

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Keys makes and unwraps data keys. Implementations: Local here, KMS in kmskeys.
type Keys interface {
	// GenerateDataKey returns a fresh 32-byte data key, plain and wrapped under the
	// provider's key with encCtx, and the id of that key.
	GenerateDataKey(ctx context.Context, encCtx map[string]string) (plain, wrapped []byte, keyID string, err error)
	// Decrypt unwraps a data key GenerateDataKey wrapped with the same encCtx.
	Decrypt(ctx context.Context, wrapped []byte, encCtx map[string]string) ([]byte, error)
}

// Sealed is a secret as stored: never the plaintext, never the plain data key.
type Sealed struct {
	// Provider is "kms" or "local"; KeyID the key that wrapped the data key.
	Provider   string `json:"provider"`
	KeyID      string `json:"keyId"`
	WrappedKey []byte `json:"wrappedKey"`
	Nonce      []byte `json:"nonce"`
	Ciphertext []byte `json:"ciphertext"`
}

// Named is a Keys that says which provider it is, for Sealed.Provider.
type Named interface{ Provider() string }

// ErrOpen: the sealed secret does not open with this context (tampered, moved to
// another object, or sealed under another key).
var ErrOpen = errors.New("envelope: the secret does not open")

// Seal encrypts plaintext under a fresh data key bound to encCtx.
func Seal(ctx context.Context, keys Keys, plaintext []byte, encCtx map[string]string) (Sealed, error) {
	plain, wrapped, keyID, err := keys.GenerateDataKey(ctx, encCtx)
	if err != nil {
		return Sealed{}, fmt.Errorf("generate data key: %w", err)
	}
	defer clear(plain)
	gcm, err := newGCM(plain)
	if err != nil {
		return Sealed{}, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return Sealed{}, fmt.Errorf("nonce: %w", err)
	}
	provider := "kms"
	if n, ok := keys.(Named); ok {
		provider = n.Provider()
	}
	return Sealed{Provider: provider, KeyID: keyID, WrappedKey: wrapped, Nonce: nonce,
		Ciphertext: gcm.Seal(nil, nonce, plaintext, AAD(encCtx))}, nil
}

// Open decrypts s with the data key the provider unwraps for encCtx.
func Open(ctx context.Context, keys Keys, s Sealed, encCtx map[string]string) ([]byte, error) {
	if n, ok := keys.(Named); ok && s.Provider != "" && s.Provider != n.Provider() {
		return nil, fmt.Errorf("%w: sealed by the %s provider, opened with %s", ErrOpen, s.Provider, n.Provider())
	}
	plain, err := keys.Decrypt(ctx, s.WrappedKey, encCtx)
	if err != nil {
		return nil, fmt.Errorf("unwrap data key: %w", err)
	}
	defer clear(plain)
	gcm, err := newGCM(plain)
	if err != nil {
		return nil, err
	}
	if len(s.Nonce) != gcm.NonceSize() {
		return nil, ErrOpen
	}
	out, err := gcm.Open(nil, s.Nonce, s.Ciphertext, AAD(encCtx))
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("envelope: data key of %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return cipher.NewGCM(block)
}

// AAD is encCtx in a canonical form: sorted key=value lines.
func AAD(encCtx map[string]string) []byte {
	keys := make([]string, 0, len(encCtx))
	for k := range encCtx {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + encCtx[k] + "\n")
	}
	return []byte(b.String())
}

// EnvLocalKey holds the local provider's key, 32 bytes in base64.
const EnvLocalKey = "SWITCHBOARD_LOCAL_KEY"

// Local wraps data keys with AES-256-GCM under a key of its own: what KMS does, for
// `make run` and tests without KMS. Its key never leaves the process.
type Local struct {
	gcm cipher.AEAD
	id  string
}

var _ Keys = (*Local)(nil)

// NewLocal is a local provider over a 32-byte key named id.
func NewLocal(key []byte, id string) (*Local, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return &Local{gcm: gcm, id: id}, nil
}

// LocalFromEnv is the local provider of SWITCHBOARD_LOCAL_KEY or, without it, of a key
// made for this process (secrets sealed with it do not open after a restart; the
// embedded engine forgets them anyway).
func LocalFromEnv() (*Local, error) {
	if v := os.Getenv(EnvLocalKey); v != "" {
		key, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("%s must be 32 bytes in base64", EnvLocalKey)
		}
		return NewLocal(key, "local:env")
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return NewLocal(key, "local:process")
}

// Provider is "local".
func (l *Local) Provider() string { return "local" }

// GenerateDataKey makes a random data key and wraps it bound to encCtx.
func (l *Local) GenerateDataKey(_ context.Context, encCtx map[string]string) ([]byte, []byte, string, error) {
	plain := make([]byte, 32)
	if _, err := rand.Read(plain); err != nil {
		return nil, nil, "", err
	}
	nonce := make([]byte, l.gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, "", err
	}
	return plain, l.gcm.Seal(nonce, nonce, plain, AAD(encCtx)), l.id, nil
}

// Decrypt unwraps a data key of GenerateDataKey's.
func (l *Local) Decrypt(_ context.Context, wrapped []byte, encCtx map[string]string) ([]byte, error) {
	n := l.gcm.NonceSize()
	if len(wrapped) < n {
		return nil, ErrOpen
	}
	out, err := l.gcm.Open(nil, wrapped[:n], wrapped[n:], AAD(encCtx))
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}
