// Package mail defines the emails Switchboard sends. Bodies are rendered in Go (moto's
// SES v2 keeps no template content), and a Sender delivers them: SES v2 in the cloud,
// the outbox in the local server.
package mail

import (
	"context"
	"time"
)

// Message is one rendered email.
type Message struct {
	To      []string  `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html"`
	Links   []string  `json:"links"`
	SentAt  time.Time `json:"sentAt"`
}

// Sender delivers messages.
type Sender interface {
	Send(ctx context.Context, m Message) error
}
