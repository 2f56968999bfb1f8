package api

import (
	"errors"
	"testing"
	"time"
)

func TestBeside(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name    string
		v       int
		err     error
		started bool
	}{
		{"a value", 7, nil, true},
		{"an error", 0, boom, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			began := make(chan struct{})
			release := make(chan struct{})
			wait := beside(func() (int, error) {
				close(began)
				<-release
				return tc.v, tc.err
			})
			// The read runs before anyone waits for it.
			select {
			case <-began:
			case <-time.After(5 * time.Second):
				t.Fatal("the read did not start before the wait")
			}
			close(release)
			if v, err := wait(); v != tc.v || !errors.Is(err, tc.err) {
				t.Fatalf("got %d, %v; want %d, %v", v, err, tc.v, tc.err)
			}
		})
	}
}
