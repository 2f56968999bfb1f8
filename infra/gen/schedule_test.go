package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/gen/templategen"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/lambdaentry"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// schedules are api.Jobs' schedules.
func schedules(t *testing.T) []api.Job {
	t.Helper()
	var out []api.Job
	for _, j := range api.Jobs() {
		if j.Kind == templategen.KindSchedule {
			out = append(out, j)
		}
	}
	return out
}

// TestEveryScheduleIsDeployed checks each schedule's generated main.go, its sample
// event and its template function: a ScheduleV2 event on the job's expression whose
// Input is the payload the handler reads, with the sample's fields.
func TestEveryScheduleIsDeployed(t *testing.T) {
	root := repoRoot(t)
	tpl := loadTemplate(t)
	jobs := schedules(t)
	if len(jobs) == 0 {
		t.Fatal("api.Jobs has no schedule")
	}
	for _, j := range jobs {
		t.Run(j.Function, func(t *testing.T) {
			f := templategen.Function{Name: j.Function, Job: &j}
			main := string(readFile(t, root, "functions/"+j.Function+"/main.go"))
			if !strings.Contains(main, `lambdaentry.Schedule("`+j.Function+`"`) {
				t.Errorf("functions/%s/main.go does not start schedule %s:\n%s", j.Function, j.Function, main)
			}
			fn := tpl.Resources[f.LogicalID()]
			evs, _ := fn.Properties["Events"].(map[string]any)
			if len(evs) != 1 {
				t.Fatalf("%s: events %v, want one ScheduleV2 event", f.LogicalID(), evs)
			}
			ev := evs[templategen.ScheduleEventName]
			props, _ := dig(ev, "Properties").(map[string]any)
			if dig(ev, "Type") != "ScheduleV2" || props["ScheduleExpression"] != j.Schedule || props["OmitName"] != true ||
				props["RoleArn"] != nil || props["Name"] != nil {
				t.Errorf("%s: event %v; want a ScheduleV2 event on %s, named by CloudFormation, with the role SAM makes", f.LogicalID(), ev, j.Schedule)
			}
			if timeout, _ := fn.Properties["Timeout"].(int); timeout != templategen.ScheduleTimeout {
				t.Errorf("%s: Timeout %v, want %d", f.LogicalID(), fn.Properties["Timeout"], templategen.ScheduleTimeout)
			}
			var input, sample map[string]string
			if err := json.Unmarshal([]byte(props["Input"].(string)), &input); err != nil {
				t.Fatalf("%s: Input %v: %v", f.LogicalID(), props["Input"], err)
			}
			if err := json.Unmarshal(readFile(t, root, "events/"+j.Function+".json"), &sample); err != nil {
				t.Fatalf("events/%s.json: %v", j.Function, err)
			}
			if len(input) != len(sample) || input["schedule"] != j.Function || sample["schedule"] != j.Function {
				t.Errorf("Input %v and events/%s.json %v name different fields or another schedule", input, j.Function, sample)
			}
			for k, v := range input {
				if k != "schedule" && (!strings.HasPrefix(v, "<aws.scheduler.") || sample[k] == "" || strings.HasPrefix(sample[k], "<")) {
					t.Errorf("field %s: Input %q, sample %q; want a Scheduler context attribute and a value for it", k, v, sample[k])
				}
			}
			if _, err := time.Parse(time.RFC3339, sample["scheduledTime"]); err != nil {
				t.Errorf("sample scheduledTime: %v", err)
			}
		})
	}
}

// TestScheduleEventExpiresInvitations invokes the expiry schedule's handler as Lambda
// would, with events/expire-invitations.json, on a table holding one overdue and one
// fresh invitation: exactly the overdue one is marked expired, with one audit event,
// and a second invocation changes nothing.
func TestScheduleEventExpiresInvitations(t *testing.T) {
	const name = "expire-invitations"
	ctx := context.Background()
	raw := readFile(t, repoRoot(t), "events/"+name+".json")

	st := lambdaTable(t)

	now := time.Now().UTC()
	overdue := seedInvitation(ctx, t, st, "overdue@example.com", now.Add(-time.Hour))
	fresh := seedInvitation(ctx, t, st, "fresh@example.com", now.Add(domain.InvitationTTL))

	h, err := lambdaentry.ScheduleHandler(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	for round, want := range []api.ExpiryResult{{Expired: 1}, {}} {
		out, err := h(ctx, raw)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if res, ok := out.(api.ExpiryResult); !ok || res != want {
			t.Errorf("round %d: result %#v, want %+v", round, out, want)
		}
		for _, c := range []struct {
			inv  domain.Invitation
			want string
		}{{overdue, domain.InvitationExpired}, {fresh, domain.InvitationPending}} {
			got, err := st.GetInvitation(ctx, templategen.SampleOrgID, c.inv.ID)
			if err != nil || got.Status != c.want {
				t.Errorf("round %d: invitation of %s: status %q (%v), want %s", round, c.inv.Email, got.Status, err, c.want)
			}
		}
		evs, _, err := st.ListAudit(ctx, templategen.SampleOrgID, store.Page{Limit: store.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		var expiries []audit.Event
		for _, ev := range evs {
			if ev.Action == "invitation.expire" {
				expiries = append(expiries, ev)
			}
		}
		if len(expiries) != 1 || len(expiries[0].Targets.Emails) != 1 || expiries[0].Targets.Emails[0] != overdue.Email ||
			expiries[0].Category != audit.UserManagement {
			t.Errorf("round %d: expiry events %+v, want one for %s", round, expiries, overdue.Email)
		}
	}

	// Scheduler's payload is whatever Input says: any JSON starts a run.
	for _, payload := range []string{`{}`, `null`, `[]`, `"tick"`} {
		if _, err := h(ctx, json.RawMessage(payload)); err != nil {
			t.Errorf("payload %s: %v", payload, err)
		}
	}
	if _, err := lambdaentry.ScheduleHandler(ctx, "job-worker"); err == nil {
		t.Error("ScheduleHandler accepted the queue worker")
	}
	if _, err := lambdaentry.ScheduleHandler(ctx, "me-get"); err == nil {
		t.Error("ScheduleHandler accepted a route's function")
	}
}

// scheduleTable is a fresh table that a schedule's handler, started as Lambda starts
// it, finds through the environment.
func lambdaTable(t *testing.T) *store.Store {
	t.Helper()
	endpoint := os.Getenv(awsconfig.EnvDynamoDBEndpoint)
	if endpoint == "" {
		endpoint = testenv.EmbeddedEndpoint()
	}
	st := testenv.NewTable(t, testenv.DynamoDBAt(t, endpoint))
	t.Setenv(awsconfig.EnvDynamoDBEndpoint, endpoint)
	t.Setenv(awsconfig.EnvTable, st.TableName())
	return st
}

// seedInvitation creates a pending invitation of SampleOrgID to email, due at expiresAt.
func seedInvitation(ctx context.Context, t *testing.T, st *store.Store, email string, expiresAt time.Time) domain.Invitation {
	t.Helper()
	_, hash := domain.NewInvitationToken()
	inv := domain.Invitation{ID: domain.NewID(), OrganizationID: templategen.SampleOrgID, Email: email,
		Role: permission.ReadOnly, TenantScope: domain.AllTenantsScope(), Status: domain.InvitationPending,
		InvitedBy: domain.Inviter{UserID: "sample-user", Email: templategen.SampleEmail, Name: templategen.SampleName},
		CreatedAt: expiresAt.Add(-domain.InvitationTTL), SentAt: expiresAt.Add(-domain.InvitationTTL),
		ExpiresAt: expiresAt, TokenHash: hash}
	if err := st.CreateInvitation(ctx, inv, audit.Event{Category: audit.UserManagement, Action: "invitation.create",
		Summary: "invited " + email}); err != nil {
		t.Fatalf("create invitation of %s: %v", email, err)
	}
	return inv
}
