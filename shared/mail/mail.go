// Package mail defines the emails Switchboard sends. Bodies are rendered in Go (moto's
// SES v2 keeps no template content), and a Sender delivers them: SES v2 in the cloud,
// the outbox in the local server.
package mail

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"os"
	"strings"
	"time"
)

// EnvMailFrom is the sender address, e.g. "Switchboard <no-reply@example.com>"; its
// address or domain must be a verified SES identity.
const EnvMailFrom = "MAIL_FROM"

// ErrInvalidMessage marks a message (or its rendering input) that can never be sent as
// it is. Permanent reports true for it.
var ErrInvalidMessage = errors.New("invalid email")

// ErrRefused marks a message the provider refused for good (SES: rejected content, an
// unverified sender, a suspended account). Permanent reports true for it.
var ErrRefused = errors.New("email refused")

// Permanent reports whether err means the message will never be sent as it is, so a
// retry is pointless. Throttling, 5xx and network errors are transient and report false.
func Permanent(err error) bool {
	return errors.Is(err, ErrInvalidMessage) || errors.Is(err, ErrRefused)
}

// FromAddress is the sender address of MAIL_FROM, checked.
func FromAddress() (string, error) {
	from := strings.TrimSpace(os.Getenv(EnvMailFrom))
	if from == "" {
		return "", fmt.Errorf("%s is not set", EnvMailFrom)
	}
	if _, err := netmail.ParseAddress(from); err != nil {
		return "", fmt.Errorf("%s: %w", EnvMailFrom, err)
	}
	return from, nil
}

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
