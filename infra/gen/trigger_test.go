package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-msp/switchboard/infra/gen/templategen"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/auth"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/lambdaentry"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// TestPostAuthenticationEventRecordsTheSignIn invokes the Post Authentication
// trigger's handler as Lambda would, with events/cognito-post-authentication.json: for
// the sample user it records the authentication in each of their organizations; for
// an identity not mapped yet it records nothing; when the table fails it logs an
// error. Every time it returns Cognito's event unchanged and no error, so the sign-in
// goes on.
func TestPostAuthenticationEventRecordsTheSignIn(t *testing.T) {
	trigger, raw := jobOfKind(t, templategen.KindCognitoTrigger)
	var sample events.CognitoEventUserPoolsPostAuthentication
	if err := json.Unmarshal(raw, &sample); err != nil || sample.Request.UserAttributes["sub"] != templategen.SampleSubject {
		t.Fatalf("events/%s.json is no Post Authentication event of the sample user: %v", trigger.Function, err)
	}
	endpoint := os.Getenv(awsconfig.EnvDynamoDBEndpoint)
	if endpoint == "" {
		endpoint = testenv.EmbeddedEndpoint()
	}
	unmapped := sample
	unmapped.Request.UserAttributes = map[string]string{"sub": "never-signed-in", "email": "new@example.com"}
	for _, tc := range []struct {
		name  string
		ev    events.CognitoEventUserPoolsPostAuthentication
		seed  bool
		table string // overrides the table: one that does not exist fails every call
		want  int    // authentication events in SampleOrgID
		log   string // what the handler logs
	}{
		{name: "the sample user", ev: sample, seed: true, want: 1, log: `"msg":"sign-in recorded"`},
		{name: "an identity not mapped yet", ev: unmapped, seed: true, want: 0, log: `"organizations":0`},
		{name: "the table fails", ev: sample, seed: true, table: "no-such-table", log: `"level":"ERROR","msg":"sign-in not recorded in the audit log"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := testenv.NewTable(t, testenv.DynamoDBAt(t, endpoint))
			if tc.seed {
				seedSampleOrg(ctx, t, st, templategen.SampleClaims())
			}
			logs := triggerEnv(t, endpoint, st, tc.table)

			h, err := lambdaentry.PostAuthenticationHandler(ctx, trigger.Function)
			if err != nil {
				t.Fatal(err)
			}
			out, err := h(ctx, tc.ev)
			if err != nil || !reflect.DeepEqual(out, tc.ev) {
				t.Fatalf("returned %+v, %v; want the event unchanged and no error", out, err)
			}
			if !strings.Contains(logs.String(), tc.log) {
				t.Errorf("logs lack %s:\n%s", tc.log, logs.String())
			}
			if tc.table != "" {
				return
			}
			events, _, err := st.ListAudit(ctx, templategen.SampleOrgID, store.Page{})
			if err != nil {
				t.Fatal(err)
			}
			var got []audit.Event
			for _, ev := range events {
				if ev.Action == api.ActionCognitoAuthentication {
					got = append(got, ev)
				}
			}
			if len(got) != tc.want {
				t.Fatalf("%d authentication events in %s, want %d", len(got), templategen.SampleOrgID, tc.want)
			}
			for _, ev := range got {
				if ev.Category != audit.SignIn || ev.IdentityProvider != templategen.EntraProviderName ||
					ev.Actor.Email != templategen.SampleEmail || ev.SourceIP != "" || ev.Client != nil {
					t.Errorf("event %+v", ev)
				}
			}
		})
	}
	if _, err := lambdaentry.PostAuthenticationHandler(context.Background(), "expire-invitations"); err == nil {
		t.Error("a schedule was started as a Post Authentication trigger")
	}
}

// TestPreTokenGenerationEventAddsTheUserClaim invokes the Pre Token Generation trigger's
// handler as Lambda would, with events/cognito-pre-token-generation.json: a mapped
// identity's token gets its user id as auth.ClaimUserID; an identity not mapped yet, or
// a failing table, gets the event back without it (and no error, so the sign-in goes
// on). A request whose token carries the claim authorizes without reading the mapping.
func TestPreTokenGenerationEventAddsTheUserClaim(t *testing.T) {
	var trigger api.Job
	for _, j := range api.Jobs() {
		if j.Kind == templategen.KindCognitoTrigger && j.Trigger == api.TriggerPreTokenGeneration {
			trigger = j
		}
	}
	if trigger.Function == "" {
		t.Fatal("api.Jobs has no Pre Token Generation trigger")
	}
	var sample events.CognitoEventUserPoolsPreTokenGen
	if err := json.Unmarshal(readFile(t, repoRoot(t), "events/"+trigger.Function+".json"), &sample); err != nil ||
		sample.Request.UserAttributes["sub"] != templategen.SampleSubject {
		t.Fatalf("events/%s.json is no Pre Token Generation event of the sample user: %v", trigger.Function, err)
	}
	endpoint := os.Getenv(awsconfig.EnvDynamoDBEndpoint)
	if endpoint == "" {
		endpoint = testenv.EmbeddedEndpoint()
	}
	unmapped := sample
	unmapped.Request.UserAttributes = map[string]string{"sub": "never-signed-in", "email": "new@example.com"}
	for _, tc := range []struct {
		name      string
		ev        events.CognitoEventUserPoolsPreTokenGen
		table     string
		wantClaim bool
		log       string
	}{
		{name: "the sample user", ev: sample, wantClaim: true},
		{name: "an identity not mapped yet", ev: unmapped},
		{name: "the table fails", ev: sample, table: "no-such-table", log: `"level":"ERROR","msg":"token issued without the user claim"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := testenv.NewTable(t, testenv.DynamoDBAt(t, endpoint))
			seedSampleOrg(ctx, t, st, templategen.SampleClaims())
			userID, err := st.LookupIdentity(ctx, templategen.SampleSubject)
			if err != nil {
				t.Fatal(err)
			}
			logs := triggerEnv(t, endpoint, st, tc.table)

			h, err := lambdaentry.PreTokenGenerationHandler(ctx, trigger.Function)
			if err != nil {
				t.Fatal(err)
			}
			out, err := h(ctx, tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			claim, has := out.Response.ClaimsOverrideDetails.ClaimsToAddOrOverride[auth.ClaimUserID]
			if has != tc.wantClaim || (has && claim != userID) {
				t.Errorf("claims %v, want %s = %s: %v", out.Response.ClaimsOverrideDetails.ClaimsToAddOrOverride, auth.ClaimUserID, userID, tc.wantClaim)
			}
			out.Response = tc.ev.Response
			if !reflect.DeepEqual(out, tc.ev) {
				t.Errorf("the trigger changed more than the claims to add: %+v", out)
			}
			if tc.log != "" && !strings.Contains(logs.String(), tc.log) {
				t.Errorf("logs lack %s:\n%s", tc.log, logs.String())
			}
		})
	}
	if _, err := lambdaentry.PreTokenGenerationHandler(context.Background(), "cognito-post-authentication"); err == nil {
		t.Error("the Post Authentication trigger was started as a Pre Token Generation trigger")
	}
}

// triggerEnv points a trigger's handler at st's table on endpoint, or at table when set
// (one that does not exist fails every call), and returns what the handler logs.
func triggerEnv(t *testing.T, endpoint string, st *store.Store, table string) *bytes.Buffer {
	t.Helper()
	t.Setenv(awsconfig.EnvDynamoDBEndpoint, endpoint)
	t.Setenv(awsconfig.EnvTable, st.TableName())
	if table != "" {
		t.Setenv(awsconfig.EnvTable, table)
	}
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return &logs
}
