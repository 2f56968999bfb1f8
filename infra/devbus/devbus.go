// Package devbus is the local server's billing bus: it keeps the events the metering
// schedule publishes (as EventBridge would deliver them to a rule's target) and lists
// them at GET /dev/billing-events, newest first. It is never linked into a Lambda.
package devbus

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-msp/switchboard/shared/billingbus"
)

// Delivered is one event as a rule's target receives it from EventBridge.
type Delivered struct {
	ID         string          `json:"id"`
	Time       time.Time       `json:"time"`
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Bus        string          `json:"eventBusName"`
	Detail     json.RawMessage `json:"detail"`
}

// Bus holds published events in memory.
type Bus struct {
	mu     sync.Mutex
	events []Delivered
	seq    int
}

var _ billingbus.Publisher = (*Bus)(nil)

// Publish records events.
func (b *Bus) Publish(_ context.Context, events []billingbus.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range events {
		b.seq++
		b.events = append(b.events, Delivered{ID: "local-" + time.Now().UTC().Format("20060102T150405") + "-" + strconv.Itoa(b.seq),
			Time: time.Now().UTC(), Source: billingbus.Source, DetailType: e.DetailType, Bus: billingbus.BusName(), Detail: e.Detail})
	}
	return nil
}

// Events returns the published events, newest first.
func (b *Bus) Events() []Delivered {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := slices.Clone(b.events)
	slices.Reverse(out)
	if out == nil {
		out = []Delivered{}
	}
	return out
}

// Handler serves GET /dev/billing-events.
func (b *Bus) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"items": b.Events()})
	})
}
