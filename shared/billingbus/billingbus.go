// Package billingbus is the billing bus's contract: the events Switchboard publishes on
// the EventBridge bus `switchboard-billing` for a billing system to consume, and the
// events that billing system publishes back (invoices, payments). The EventBridge
// client lives in eventbridgebus, so that only the functions that publish link it.
package billingbus

import (
	"context"
	"encoding/json"
	"os"
)

// The bus and its events (docs/decisions.md, "Billing bus", documents their schemas).
const (
	// EnvBusName names the bus; template.yaml sets it on the functions that publish.
	EnvBusName = "BILLING_BUS_NAME"
	// DefaultBusName is the bus template.yaml creates, suffixed by nothing locally.
	DefaultBusName = "switchboard-billing"
	// Source is the source of the events Switchboard publishes.
	Source = "switchboard.metering"
	// DetailTypeUsageRecorded carries one store.UsageRecord.
	DetailTypeUsageRecorded = "usage.recorded"
	// BillingSource is the source of the downstream billing system's events, and the
	// two detail types the billing-events function turns into emails.
	BillingSource             = "switchboard.billing"
	DetailTypeInvoiceIssued   = "invoice.issued"
	DetailTypePaymentSucceded = "payment.succeeded"
)

// BusName is the bus from the environment, DefaultBusName when unset.
func BusName() string {
	if n := os.Getenv(EnvBusName); n != "" {
		return n
	}
	return DefaultBusName
}

// Event is one event to publish: its detail type and its detail, as JSON.
type Event struct {
	DetailType string
	Detail     json.RawMessage
}

// MaxBatch is how many events one PutEvents call takes.
const MaxBatch = 10

// Publisher puts events on the billing bus. Publish returns an error when any event
// was not accepted; the caller publishes them again (consumers deduplicate by the
// detail's id).
type Publisher interface {
	Publish(ctx context.Context, events []Event) error
}

// InvoiceEvent is the detail of invoice.issued and payment.succeeded, as the billing
// system publishes it.
type InvoiceEvent struct {
	OrganizationID string `json:"organizationId"`
	InvoiceID      string `json:"invoiceId"`
	Amount         string `json:"amount"`
	Currency       string `json:"currency"`
	// PeriodStart and PeriodEnd are the billed period (RFC 3339), for an invoice.
	PeriodStart string `json:"periodStart,omitempty"`
	PeriodEnd   string `json:"periodEnd,omitempty"`
	DueDate     string `json:"dueDate,omitempty"`
	PaidAt      string `json:"paidAt,omitempty"`
	URL         string `json:"url,omitempty"`
}
