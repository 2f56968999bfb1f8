package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-msp/switchboard/shared/billingbus"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// KindBusRule is the Job kind of a function an EventBridge rule on the billing bus
// invokes with the events its DetailTypes match (from billingbus.BillingSource).
const KindBusRule = "bus-rule"

// BillingEventsFunction turns the billing system's invoices and payments into emails.
const BillingEventsFunction = "billing-events"

func billingEventsJob() Job {
	return Job{Function: BillingEventsFunction, Kind: KindBusRule,
		Summary:     "Emails the billing contact, with the organization's company information and tax ID, when the billing system publishes invoice.issued or payment.succeeded on the billing bus",
		Actions:     []string{"dynamodb:GetItem", "ses:SendEmail"},
		DetailTypes: []string{billingbus.DetailTypeInvoiceIssued, billingbus.DetailTypePaymentSucceded},
		BusEvent:    BillingEvent}
}

// BillingEventResult is what one invocation did.
type BillingEventResult struct {
	OrganizationID string `json:"organizationId"`
	Emailed        bool   `json:"emailed"`
	// Skipped says why nothing was sent: an event for no organization we know, or an
	// organization without a billing contact. Neither is retried.
	Skipped string `json:"skipped,omitempty"`
}

// BillingEvent emails the billing contact of the event's organization (system scope:
// the event names it). A malformed event or an unknown organization is logged and
// dropped, as a retry cannot mend it; a failed email is an error, so Lambda retries the
// asynchronous invocation.
func BillingEvent(ctx context.Context, d *Deps, ev events.CloudWatchEvent) (BillingEventResult, error) {
	var in billingbus.InvoiceEvent
	if err := json.Unmarshal(ev.Detail, &in); err != nil || !domain.ValidID(in.OrganizationID) || in.InvoiceID == "" {
		slog.WarnContext(ctx, "billing event dropped", "detailType", ev.DetailType, "id", ev.ID)
		return BillingEventResult{Skipped: "malformed event"}, nil
	}
	res := BillingEventResult{OrganizationID: in.OrganizationID}
	org, err := d.Store.GetOrganization(ctx, in.OrganizationID)
	if errors.Is(err, store.ErrNotFound) {
		res.Skipped = "unknown organization"
		return res, nil
	}
	if err != nil {
		return res, err
	}
	var headline string
	details := [][2]string{{"Invoice", in.InvoiceID}, {"Amount", in.Amount + " " + in.Currency}}
	switch ev.DetailType {
	case billingbus.DetailTypeInvoiceIssued:
		headline = fmt.Sprintf("Invoice %s issued: %s %s", in.InvoiceID, in.Amount, in.Currency)
		details = append(details, [2]string{"Period", in.PeriodStart + " – " + in.PeriodEnd}, [2]string{"Due", in.DueDate})
	case billingbus.DetailTypePaymentSucceded:
		headline = fmt.Sprintf("Payment received for invoice %s: %s %s", in.InvoiceID, in.Amount, in.Currency)
		details = append(details, [2]string{"Paid", in.PaidAt})
	default:
		res.Skipped = "detail-type " + ev.DetailType
		return res, nil
	}
	if in.URL != "" {
		details = append(details, [2]string{"Invoice link", in.URL})
	}
	err = sendBillingNotice(ctx, d.Mail, d.ConsoleURL, org, headline, details)
	if errors.Is(err, errNoBillingContact) {
		res.Skipped = "no billing contact"
		return res, nil
	}
	res.Emailed = err == nil
	return res, err
}
