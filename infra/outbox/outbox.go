// Package outbox is the local server's mail.Sender: it keeps the emails the server
// would have sent and lists them at GET /dev/outbox, newest first.
package outbox

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-msp/switchboard/shared/mail"
)

// Outbox holds sent messages in memory.
type Outbox struct {
	mu   sync.Mutex
	sent []mail.Message
}

var _ mail.Sender = (*Outbox)(nil)

// Send records m.
func (o *Outbox) Send(_ context.Context, m mail.Message) error {
	if m.SentAt.IsZero() {
		m.SentAt = time.Now().UTC()
	}
	if m.Links == nil {
		m.Links = []string{}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, m)
	return nil
}

// Messages returns the sent messages, newest first.
func (o *Outbox) Messages() []mail.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := slices.Clone(o.sent)
	slices.Reverse(out)
	if out == nil {
		out = []mail.Message{}
	}
	return out
}

// Handler serves GET /dev/outbox.
func (o *Outbox) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"items": o.Messages()})
	})
}
