// Package eventbridgebus publishes billing events with EventBridge's PutEvents. It is
// its own package so that only the functions that publish link the EventBridge SDK.
package eventbridgebus

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/billingbus"
)

// EnvEndpoint overrides the EventBridge endpoint (moto in tests); unset in the cloud.
const EnvEndpoint = "EVENTBRIDGE_ENDPOINT"

// Bus publishes on one EventBridge bus.
type Bus struct {
	client *eventbridge.Client
	name   string
}

var _ billingbus.Publisher = (*Bus)(nil)

// New returns a publisher on bus name through client.
func New(client *eventbridge.Client, name string) *Bus { return &Bus{client: client, name: name} }

// Connect is the publisher on BILLING_BUS_NAME, at EVENTBRIDGE_ENDPOINT when set.
func Connect(cfg aws.Config) (billingbus.Publisher, error) {
	endpoint := os.Getenv(EnvEndpoint)
	if endpoint != "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		cfg.Credentials = awsconfig.LocalCredentials()
	}
	return New(eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), billingbus.BusName()), nil
}

// Publish puts events in batches of billingbus.MaxBatch. PutEvents answers 200 with
// failed entries; any is an error, naming how many, so the caller publishes again.
func (b *Bus) Publish(ctx context.Context, events []billingbus.Event) error {
	for start := 0; start < len(events); start += billingbus.MaxBatch {
		batch := events[start:min(start+billingbus.MaxBatch, len(events))]
		entries := make([]types.PutEventsRequestEntry, len(batch))
		for i, e := range batch {
			entries[i] = types.PutEventsRequestEntry{EventBusName: aws.String(b.name), Source: aws.String(billingbus.Source),
				DetailType: aws.String(e.DetailType), Detail: aws.String(string(e.Detail))}
		}
		out, err := b.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			return fmt.Errorf("put %d events on %s: %w", len(entries), b.name, err)
		}
		if out.FailedEntryCount > 0 {
			return fmt.Errorf("put events on %s: %d of %d failed", b.name, out.FailedEntryCount, len(entries))
		}
	}
	return nil
}
