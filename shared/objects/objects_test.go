package objects_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/objects"
)

// TestNone: without a bucket every call answers ErrNotConfigured.
func TestNone(t *testing.T) {
	ctx := context.Background()
	var b objects.Bucket = objects.None{}
	for name, err := range map[string]error{
		"PresignPut": func() error { _, err := b.PresignPut(ctx, "k", "text/plain", 1, time.Minute); return err }(),
		"PresignGet": func() error { _, err := b.PresignGet(ctx, "k", "f.txt", "text/plain", time.Minute); return err }(),
		"Head":       func() error { _, err := b.Head(ctx, "k"); return err }(),
		"Delete":     b.Delete(ctx, "k"),
	} {
		if !errors.Is(err, objects.ErrNotConfigured) {
			t.Errorf("%s: %v, want ErrNotConfigured", name, err)
		}
	}
}
