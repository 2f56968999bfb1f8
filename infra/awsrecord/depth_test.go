package awsrecord

import (
	"testing"
	"time"
)

func TestDepth(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	call := func(start, end int) Call { return Call{Start: at(start), End: at(end)} }
	tests := []struct {
		name   string
		calls  []Call
		before int // answer time, ms
		depth  int
		prior  int // depth before the answer
	}{
		{"none", nil, 10, 0, 0},
		{"overlapping calls are one round trip", []Call{call(0, 5), call(1, 6), call(2, 4)}, 10, 1, 1},
		{"a call after another is a second", []Call{call(0, 5), call(5, 9)}, 10, 2, 2},
		{"work after the answer is left out", []Call{call(0, 5), call(6, 9)}, 6, 2, 1},
		{"a chain beside a long call", []Call{call(0, 20), call(0, 3), call(3, 6), call(6, 9)}, 30, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &Log{calls: tt.calls}
			if got := l.Depth(); got != tt.depth {
				t.Errorf("Depth = %d, want %d", got, tt.depth)
			}
			if got := l.DepthBefore(at(tt.before)); got != tt.prior {
				t.Errorf("DepthBefore = %d, want %d", got, tt.prior)
			}
		})
	}
}
