package main

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/switchboard-msp/switchboard/infra/gen/templategen"
	"github.com/switchboard-msp/switchboard/infra/graphstandin"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/envelope"
	"github.com/switchboard-msp/switchboard/shared/envelope/kmskeys"
	"github.com/switchboard-msp/switchboard/shared/lambdaentry"
	"github.com/switchboard-msp/switchboard/shared/msgraph"
)

func init() {
	maps.Copy(eventCases, connectionEventCases)
	serviceUses["kms:"] = lambdaentry.Keys(func(aws.Config) (envelope.Keys, error) { return eventKeys() })
}

// eventKeys is the key provider of the events' functions and their seeds: a key of
// moto's KMS when moto runs (so the recorded calls are KMS's), else a local key.
var eventKeys = sync.OnceValues(func() (envelope.Keys, error) {
	ep := os.Getenv("MOTO_ENDPOINT")
	if ep == "" {
		return envelope.LocalFromEnv()
	}
	cfg, err := awsconfig.Load(context.Background())
	if err != nil {
		return nil, err
	}
	cfg.Credentials = awsconfig.LocalCredentials()
	client := kmskeys.NewClient(cfg, ep)
	key, err := client.CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String("switchboard events")})
	if err != nil {
		return nil, err
	}
	return kmskeys.New(client, aws.ToString(key.KeyMetadata.KeyId)), nil
})

// sampleConnection is the connection the connection events name: the sample tenant's
// Microsoft 365 connection, whose app the Graph stand-in (graphStandin) accepts.
var sampleConnection = templategen.SampleParam("connectionId")

// graphStandin serves the sample tenant's Entra and Graph for the call, through the
// environment the functions read.
func graphStandin(t *testing.T) {
	g := graphstandin.New()
	tn := graphstandin.DemoTenant()
	tn.ID = templategen.SampleManagedTenant
	g.PutTenant(tn)
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	t.Setenv(msgraph.EnvAuthority, srv.URL)
	t.Setenv(msgraph.EnvGraphURL, srv.URL)
}

func seedSampleConnection(ctx context.Context, t *testing.T, e *sampleEnv) {
	seedSampleTenant(ctx, t, e)
	graphStandin(t)
	keys, err := eventKeys()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	c := domain.Connection{ID: sampleConnection, Type: domain.ConnectionM365, Label: "Sample Customer Graph app", TenantID: sampleTenant,
		Status: domain.ConnectionUntested, Hint: domain.Hint(graphstandin.DemoClientSecret), RotatedAt: now, CreatedAt: now, UpdatedAt: now}
	plain, _ := json.Marshal(domain.Credentials{EntraTenantID: templategen.SampleManagedTenant, ClientID: graphstandin.DemoClientID,
		ClientSecret: graphstandin.DemoClientSecret})
	if c.Sealed, err = envelope.Seal(ctx, keys, plain, c.EncryptionContext(templategen.SampleOrgID)); err != nil {
		t.Fatal(err)
	}
	if err := e.st.CreateConnection(ctx, templategen.SampleOrgID, c, audit.Event{Category: audit.Settings, Action: "seed"}); err != nil {
		t.Fatal(err)
	}
}

var connectionEventCases = map[string]eventCase{
	"connections-list": {status: http.StatusOK, seed: seedSampleConnection, check: func(t *testing.T, b map[string]any) {
		if field(t, b, "items", "0", "id") != sampleConnection || field(t, b, "items", "0", "hint") != "••••1234" {
			t.Errorf("connections %v", b)
		}
	}},
	"connections-create": {status: http.StatusCreated, seed: seedSampleTenant, check: func(t *testing.T, b map[string]any) {
		if b["type"] != "m365" || b["status"] != "untested" || b["hint"] != "••••0123" || b["credentials"] != nil {
			t.Errorf("created %v", b)
		}
	}},
	"connections-get": {status: http.StatusOK, seed: seedSampleConnection, check: func(t *testing.T, b map[string]any) {
		if b["id"] != sampleConnection || b["tenantId"] != sampleTenant {
			t.Errorf("connection %v", b)
		}
	}},
	"connections-update": {status: http.StatusOK, seed: seedSampleConnection, check: func(t *testing.T, b map[string]any) {
		if b["label"] != "Sample Customer Graph app (rotated)" || b["hint"] != "••••4567" || b["version"] != float64(2) {
			t.Errorf("rotated %v", b)
		}
	}},
	"connections-delete": {status: http.StatusNoContent, seed: seedSampleConnection},
	"connections-test": {status: http.StatusOK, seed: seedSampleConnection, check: func(t *testing.T, b map[string]any) {
		if b["ok"] != true || field(t, b, "connection", "status") != "connected" {
			t.Errorf("tested %v", b)
		}
	}},
	"tenants-refresh": {status: http.StatusOK, seed: seedSampleConnection, check: func(t *testing.T, b map[string]any) {
		if b["licensedUsers"] != float64(5) || b["assignedLicenses"] != float64(5) || b["health"] != "warning" {
			t.Errorf("refreshed %v", b)
		}
	}},
}

// TestScheduleEventSyncsM365Tenants runs m365-sync as its Lambda does, with its sample
// event: the due connection's tenant is read from the Graph stand-in, once.
func TestScheduleEventSyncsM365Tenants(t *testing.T) {
	const name = "m365-sync"
	ctx := context.Background()
	raw := readFile(t, repoRoot(t), "events/"+name+".json")
	st := lambdaTable(t)
	e := &sampleEnv{st: st}
	seedSampleOrg(ctx, t, st, templategen.SampleClaims())
	seedSampleConnection(ctx, t, e)
	conn, err := st.GetConnection(ctx, templategen.SampleOrgID, sampleConnection)
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().UTC().Add(-time.Minute)
	if _, err := st.UpdateConnectionFrom(ctx, templategen.SampleOrgID, conn, nil, func(c *domain.Connection) (audit.Event, error) {
		c.NextSyncAt = &due
		return audit.Event{Category: audit.Settings, Action: "seed"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	h, err := lambdaentry.ScheduleHandler(ctx, name, serviceUses["kms:"])
	if err != nil {
		t.Fatal(err)
	}
	for round, want := range []api.SyncResult{{Synced: 1}, {}} {
		out, err := h(ctx, raw)
		if res, ok := out.(api.SyncResult); err != nil || !ok || res != want {
			t.Fatalf("round %d: %#v %v, want %+v", round, out, err, want)
		}
	}
	tn, err := st.GetTenant(ctx, templategen.SampleOrgID, sampleTenant)
	if err != nil || tn.LicensedUsers != 5 || tn.Health != domain.HealthWarning || tn.Sync == nil || tn.Sync.LastSuccessAt == nil {
		t.Errorf("tenant after the run: %+v %v", tn, err)
	}
	// Without a key provider the function does not start.
	t.Setenv(kmskeys.EnvKeyID, "")
	if _, err := lambdaentry.ScheduleHandler(ctx, name, lambdaentry.Keys(kmskeys.Connect)); err == nil {
		t.Error("m365-sync started without CONNECTIONS_KEY_ID")
	}
}
