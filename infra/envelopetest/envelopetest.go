// Package envelopetest is the contract every envelope.Keys provider passes: the local
// provider in envelope's tests, KMS on moto in kmskeys'.
package envelopetest

import (
	"bytes"
	"context"
	"testing"

	"github.com/switchboard-msp/switchboard/shared/envelope"
)

// Contract seals and opens a secret with k, and checks that it does not open with
// another encryption context or tampered, and that no two seals share a key.
func Contract(t testing.TB, k envelope.Keys) {
	ctx := context.Background()
	encCtx := map[string]string{"organization": "acme", "connection": "c1"}
	secret := []byte(`{"clientSecret":"s3cr3t-value"}`)
	sealed, err := envelope.Seal(ctx, k, secret, encCtx)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed.Ciphertext, secret) || bytes.Contains(sealed.WrappedKey, []byte("s3cr3t")) || len(sealed.WrappedKey) == 0 {
		t.Fatalf("sealed holds the secret or no wrapped key: %+v", sealed)
	}
	got, err := envelope.Open(ctx, k, sealed, encCtx)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %q %v", got, err)
	}
	cases := []struct {
		name   string
		s      envelope.Sealed
		encCtx map[string]string
	}{
		{"another connection", sealed, map[string]string{"organization": "acme", "connection": "c2"}},
		{"another organization", sealed, map[string]string{"organization": "acme-corp", "connection": "c1"}},
		{"tampered ciphertext", func() envelope.Sealed {
			s := sealed
			s.Ciphertext = append([]byte{}, s.Ciphertext...)
			s.Ciphertext[0] ^= 1
			return s
		}(), encCtx},
	}
	for _, tc := range cases {
		if _, err := envelope.Open(ctx, k, tc.s, tc.encCtx); err == nil {
			t.Errorf("%s: opened", tc.name)
		}
	}
	again, err := envelope.Seal(ctx, k, secret, encCtx)
	if err != nil || bytes.Equal(again.Ciphertext, sealed.Ciphertext) || bytes.Equal(again.WrappedKey, sealed.WrappedKey) {
		t.Errorf("a second seal reuses a key or nonce")
	}
}
