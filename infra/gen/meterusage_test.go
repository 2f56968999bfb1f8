package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/billingbus"
	"github.com/switchboard-msp/switchboard/shared/billingbus/eventbridgebus"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/lambdaentry"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// TestScheduleEventMetersUsageOnMoto runs functions/meter-usage as Lambda does, with
// its sample event, on moto's EventBridge: one record per organization per period,
// each published once on the billing bus (read back through a rule to an SQS queue),
// and a rerun writes and publishes nothing.
func TestScheduleEventMetersUsageOnMoto(t *testing.T) {
	const name = api.MeterUsageFunction
	ep := testenv.MotoEndpoint(t)
	ctx := context.Background()
	raw := readFile(t, repoRoot(t), "events/"+name+".json")
	st := lambdaTable(t)
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = awsconfig.LocalCredentials()
	bus := "billing-" + strings.ToLower(domain.NewID())
	queue := billingQueue(ctx, t, cfg, ep, bus)
	t.Setenv(eventbridgebus.EnvEndpoint, ep)
	t.Setenv(billingbus.EnvBusName, bus)

	// Two MSPs, one with a sub-organization whose tenant and calls roll up to it.
	now := time.Now().UTC()
	orgs := []string{"meter-a-" + strings.ToLower(domain.NewID()), "meter-b-" + strings.ToLower(domain.NewID())}
	for _, id := range orgs {
		owner := domain.User{ID: domain.NewID(), Email: id + "@owner.example", ActiveOrganizationID: id}
		if err := st.CreateUser(ctx, owner); err != nil {
			t.Fatal(err)
		}
		m := domain.Membership{OrganizationID: id, UserID: owner.ID, Email: owner.Email, Role: permission.Owner, TenantScope: domain.AllTenantsScope()}
		if err := st.CreateOrganization(ctx, domain.Organization{ID: id, Name: id, Plan: domain.PlanFree, Profile: domain.NewProfile(id)}, m,
			audit.Event{Category: audit.Settings, Action: "organization.create"}); err != nil {
			t.Fatal(err)
		}
	}
	sub := testenv.SubOrg(t, st, orgs[0], "", "Client", domain.User{})
	tn := domain.Tenant{ID: domain.NewID(), EntraTenantID: "11111111-2222-4333-8444-555555555555", PrimaryDomain: "c.onmicrosoft.com",
		DisplayName: "Client", LicensedUsers: 42, Health: "healthy"}
	if err := st.CreateTenant(ctx, sub.ID, tn, audit.Event{Category: audit.Tenant, Action: "tenant.create"}); err != nil {
		t.Fatal(err)
	}
	for _, org := range []string{orgs[0], sub.ID, sub.ID} {
		if _, err := st.CountAPICall(ctx, orgs[0], org, now); err != nil {
			t.Fatal(err)
		}
	}

	h, err := lambdaentry.ScheduleHandler(ctx, name, lambdaentry.Events(eventbridgebus.Connect))
	if err != nil {
		t.Fatal(err)
	}
	for round, want := range []api.MeterResult{
		{Organizations: 2, Written: 4, Published: 4, Complete: true},
		{Organizations: 2, Existing: 4, Complete: true},
	} {
		out, err := h(ctx, raw)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if res, ok := out.(api.MeterResult); !ok || res != want {
			t.Errorf("round %d: result %#v, want %+v", round, out, want)
		}
	}
	recs, _, err := st.ListUsageRecords(ctx, orgs[0], store.PeriodHour, store.Page{Limit: 10})
	if err != nil || len(recs) != 1 {
		t.Fatalf("hourly records of %s: %+v, %v", orgs[0], recs, err)
	}
	if r := recs[0]; !r.Published || r.ManagedTenants != 1 || r.ManagedUsers != 42 || r.SubOrganizations != 1 || r.Plan != domain.PlanFree {
		t.Errorf("record %+v", r)
	}

	// The bus delivered each record once (moto's rule → SQS target).
	got := map[string]store.UsageRecord{}
	for range 5 {
		msgs, err := queue.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queue.url), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs.Messages {
			var ev struct {
				DetailType string            `json:"detail-type"`
				Source     string            `json:"source"`
				Detail     store.UsageRecord `json:"detail"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.DetailType != billingbus.DetailTypeUsageRecorded || ev.Source != billingbus.Source {
				t.Errorf("event %s", aws.ToString(m.Body))
			}
			if _, twice := got[ev.Detail.ID]; twice {
				t.Errorf("record %s published twice", ev.Detail.ID)
			}
			got[ev.Detail.ID] = ev.Detail
		}
		if len(got) >= 4 {
			break
		}
	}
	if len(got) != 4 {
		t.Fatalf("events received: %d, want 4: %v", len(got), got)
	}
	month := got[orgs[0]+"/month/"+store.MonthPeriod(domain.MonthStart(now).AddDate(0, -1, 0))]
	hour := got[orgs[0]+"/hour/"+store.HourPeriod(now.Truncate(time.Hour).Add(-time.Hour))]
	if month.OrganizationID != orgs[0] || hour.ManagedUsers != 42 {
		t.Errorf("events of %s: month %+v, hour %+v", orgs[0], month, hour)
	}
	if hour.PeriodStart.Month() == now.Month() && (hour.APICalls != 3 || hour.APICallsByOrg[sub.ID] != 2) {
		t.Errorf("hour's API calls %d by %v, want 3 of which 2 by the sub-organization", hour.APICalls, hour.APICallsByOrg)
	}
}

type billingSink struct {
	client *sqs.Client
	url    string
}

// billingQueue creates bus on moto with a rule sending every usage record to a new
// SQS queue, and returns the queue.
func billingQueue(ctx context.Context, t *testing.T, cfg aws.Config, ep, bus string) billingSink {
	t.Helper()
	eb := eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(ep) })
	q := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(ep) })
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(bus)})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	pattern := fmt.Sprintf(`{"source":[%q]}`, billingbus.Source)
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("usage"), EventBusName: aws.String(bus), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("usage"), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}
	return billingSink{client: q, url: aws.ToString(out.QueueUrl)}
}
