package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-msp/switchboard/infra/gen/templategen"
	"github.com/switchboard-msp/switchboard/infra/outbox"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

// TestBusRuleEventEmailsTheBillingContact runs functions/billing-events' handler with
// its sample invoice.issued event: the billing contact gets the invoice with the
// organization's company information and tax ID; the rule on the billing bus targets
// the function.
func TestBusRuleEventEmailsTheBillingContact(t *testing.T) {
	ctx := context.Background()
	st := lambdaTable(t)
	raw := readFile(t, repoRoot(t), "events/"+api.BillingEventsFunction+".json")
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	owner := domain.User{ID: "sample-owner", Email: "owner@sample.example", ActiveOrganizationID: templategen.SampleOrgID}
	if err := st.CreateUser(ctx, owner); err != nil {
		t.Fatal(err)
	}
	org := domain.Organization{ID: templategen.SampleOrgID, Name: "Contoso MSP", Plan: domain.PlanFree, Profile: domain.NewProfile("Contoso MSP")}
	org.Profile.CompanyName, org.Profile.TaxID, org.Profile.Address = "Contoso MSP Services LLC", "98-7654321", "123 Tech Street, Seattle"
	org.Profile.BillingContact = domain.BillingContact{Name: "Pat Doe", Email: "billing@contosomsp.com"}
	if err := st.CreateOrganization(ctx, org, domain.Membership{OrganizationID: org.ID, UserID: owner.ID, Role: permission.Owner,
		TenantScope: domain.AllTenantsScope()}, audit.Event{Category: audit.Settings, Action: "organization.create"}); err != nil {
		t.Fatal(err)
	}
	d := api.BaseDeps(st, "https://console.test")
	box := &outbox.Outbox{}
	d.Mail = box
	res, err := api.BillingEvent(ctx, d, ev)
	if err != nil || !res.Emailed {
		t.Fatalf("result %+v, %v", res, err)
	}
	msgs := box.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "billing@contosomsp.com" || !strings.Contains(msgs[0].Subject, "INV-2026-0042") {
		t.Fatalf("emails %+v", msgs)
	}
	for _, want := range []string{"Contoso MSP Services LLC", "98-7654321", "123 Tech Street", "249.00 EUR"} {
		if !strings.Contains(msgs[0].Text, want) || !strings.Contains(msgs[0].HTML, want) {
			t.Errorf("the email lacks %q:\n%s", want, msgs[0].Text)
		}
	}
	// An event of an organization we do not know is dropped, not retried.
	ev.Detail = json.RawMessage(`{"organizationId":"nobody","invoiceId":"X","amount":"1","currency":"EUR"}`)
	if res, err := api.BillingEvent(ctx, d, ev); err != nil || res.Skipped == "" {
		t.Errorf("unknown organization: %+v, %v", res, err)
	}

	tpl := loadTemplate(t)
	f := templategen.Function{Name: api.BillingEventsFunction}
	rule := tpl.Resources[f.LogicalID()+"Rule"]
	if rule.Type != "AWS::Events::Rule" || tpl.Resources[f.LogicalID()+"RulePermission"].Type != "AWS::Lambda::Permission" {
		t.Fatalf("template.yaml has no rule and permission for %s", f.LogicalID())
	}
	pattern, _ := json.Marshal(rule.Properties["EventPattern"])
	if !strings.Contains(string(pattern), "invoice.issued") || !strings.Contains(string(pattern), "payment.succeeded") {
		t.Errorf("rule pattern %s", pattern)
	}
}
