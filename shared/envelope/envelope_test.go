package envelope_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/envelopetest"
	"github.com/switchboard-msp/switchboard/shared/envelope"
)

func TestLocalKeys(t *testing.T) {
	k, err := envelope.LocalFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	envelopetest.Contract(t, k)
}

func TestAnotherLocalKeyCannotOpen(t *testing.T) {
	a, _ := envelope.NewLocal(bytes.Repeat([]byte{1}, 32), "a")
	b, _ := envelope.NewLocal(bytes.Repeat([]byte{2}, 32), "b")
	s, err := envelope.Seal(context.Background(), a, []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := envelope.Open(context.Background(), b, s, nil); !errors.Is(err, envelope.ErrOpen) {
		t.Fatalf("another key: %v", err)
	}
}
