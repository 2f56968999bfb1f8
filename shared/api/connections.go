package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/envelope"
	"github.com/switchboard-msp/switchboard/shared/msgraph"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Routes: connections to Microsoft 365 and the PSAs, with write-only credentials.
// Managing them is a platform setting (DESIGN.md's table); everybody who views data sees
// each connection's label and type, and only members who may manage it see its status,
// last use and masked hint (docs/decisions.md, "Connections").
var (
	ConnectionsList = Route{Method: "GET", Path: "/api/connections", Permission: permission.ViewData, Function: "connections-list",
		Summary: "List the organization's connections (Microsoft 365, ConnectWise Manage, Autotask, HaloPSA)", Read: fetchConnections}
	ConnectionsCreate = Route{Method: "POST", Path: "/api/connections", Permission: permission.PlatformSettings, Function: "connections-create", Category: audit.Settings,
		Summary: "Add a connection; its credentials are sealed and never returned", Handler: createConnection,
		Actions: []string{"kms:GenerateDataKey", "dynamodb:ConditionCheckItem"}}
	ConnectionsGet = Route{Method: "GET", Path: "/api/connections/{connectionId}", Permission: permission.ViewData, Function: "connections-get",
		Summary: "Get a connection, without its credentials", Read: fetchConnection}
	ConnectionsUpdate = Route{Method: "PUT", Path: "/api/connections/{connectionId}", Permission: permission.PlatformSettings, Function: "connections-update", Category: audit.Settings,
		Summary: "Rename a connection, or rotate its credentials by sending new ones", Handler: updateConnection,
		Actions: []string{"kms:GenerateDataKey"}}
	ConnectionsDelete = Route{Method: "DELETE", Path: "/api/connections/{connectionId}", Permission: permission.PlatformSettings, Function: "connections-delete", Category: audit.Settings,
		Summary: "Remove a connection and its credentials", Handler: deleteConnection}
	ConnectionsTest = Route{Method: "POST", Path: "/api/connections/{connectionId}/test", Permission: permission.PlatformSettings, Function: "connections-test", Category: audit.Settings,
		Summary: "Check that a connection's credentials work, and record the outcome", Handler: testConnection,
		Actions: []string{"kms:Decrypt"}}
)

// connectionRoutes are the connections.
func connectionRoutes() []Route {
	return []Route{ConnectionsList, ConnectionsCreate, ConnectionsGet, ConnectionsUpdate, ConnectionsDelete, ConnectionsTest}
}

// connectionView is a connection as its managers see it: never a credential.
type connectionView struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Label        string          `json:"label"`
	TenantID     string          `json:"tenantId,omitempty"`
	Status       string          `json:"status,omitempty"`
	LastError    *domain.Problem `json:"lastError,omitempty"`
	LastTestedAt *time.Time      `json:"lastTestedAt,omitempty"`
	LastUsedAt   *time.Time      `json:"lastUsedAt,omitempty"`
	Hint         string          `json:"hint,omitempty"`
	RotatedAt    *time.Time      `json:"rotatedAt,omitempty"`
	CreatedAt    *time.Time      `json:"createdAt,omitempty"`
	UpdatedAt    *time.Time      `json:"updatedAt,omitempty"`
	Version      int64           `json:"version,omitempty"`
}

func viewConnection(c domain.Connection) connectionView {
	rotated, created, updated := c.RotatedAt, c.CreatedAt, c.UpdatedAt
	return connectionView{ID: c.ID, Type: c.Type, Label: c.Label, TenantID: c.TenantID, Status: c.Status, LastError: c.LastError,
		LastTestedAt: c.LastTestedAt, LastUsedAt: c.LastUsedAt, Hint: c.Hint, RotatedAt: &rotated, CreatedAt: &created, UpdatedAt: &updated,
		Version: c.Version}
}

// viewConnectionFor is what oc may see of c: everything but the credentials for who may
// manage it, its id, label and type for everybody else (seed 003's viewers).
func viewConnectionFor(oc *access.Context, c domain.Connection) connectionView {
	if connectionManaged(oc, c) {
		return viewConnection(c)
	}
	return connectionView{ID: c.ID, Type: c.Type, Label: c.Label}
}

// connectionManaged is whether oc may manage c: platform settings, for a Microsoft 365
// connection on its tenant, for a PSA connection (which serves every customer) across
// all tenants.
func connectionManaged(oc *access.Context, c domain.Connection) bool {
	if c.TenantID != "" {
		return oc.Scope().TenantAllowed(permission.PlatformSettings, c.TenantID)
	}
	return oc.Scope().AllTenantsAllowed(permission.PlatformSettings)
}

// connectionVisible hides a Microsoft 365 connection of a tenant outside the caller's
// scope, as the tenant itself is hidden.
func connectionVisible(oc *access.Context, c domain.Connection) bool {
	return c.TenantID == "" || oc.Scope().TenantAllowed(permission.ViewData, c.TenantID) || connectionManaged(oc, c)
}

func fetchConnections(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	p, err := page(r)
	if err != nil {
		return nil, err
	}
	conns, next, err := d.Store.ListConnections(ctx, orgID, p)
	if err != nil {
		return nil, err
	}
	return connectionPage{conns, next}, nil
}

type connectionPage struct {
	conns []domain.Connection
	next  string
}

// Present keeps what the caller may see of each connection.
func (p connectionPage) Present(oc *access.Context) (any, error) {
	return filtered(p.conns, p.next, func(c domain.Connection) bool { return connectionVisible(oc, c) },
		func(c domain.Connection) connectionView { return viewConnectionFor(oc, c) }), nil
}

func fetchConnection(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	c, err := d.Store.GetConnection(ctx, orgID, r.PathValue("connectionId"))
	if err != nil {
		return nil, notFoundAs(err, "connection")
	}
	return connectionFetched(c), nil
}

type connectionFetched domain.Connection

// Present hides a connection of a tenant outside the caller's scope.
func (f connectionFetched) Present(oc *access.Context) (any, error) {
	c := domain.Connection(f)
	if !connectionVisible(oc, c) {
		return nil, problem.NotFoundf("the connection was not found")
	}
	return viewConnectionFor(oc, c), nil
}

// connectionInput is the body of POST and PUT. A PUT ignores type and tenantId (they
// never change) and keeps the credentials when it sends none.
type connectionInput struct {
	Type        string              `json:"type"`
	Label       string              `json:"label"`
	TenantID    string              `json:"tenantId"`
	Credentials *domain.Credentials `json:"credentials"`
	Version     *int64              `json:"version"`
}

// checkCredentials trims the credentials sent, if any, and names their bad fields.
func checkCredentials(v *problem.Validation, creds *domain.Credentials, typ string) {
	if creds != nil {
		creds.Normalize()
		creds.Validate(v, typ, "credentials.")
	}
}

// sealCredentials validates creds for c's type (an M365 connection's Entra tenant id
// defaulting to its tenant's) and seals them onto c with a new hint.
func sealCredentials(ctx context.Context, d *Deps, orgID string, c *domain.Connection, creds domain.Credentials, tenant *domain.Tenant, now time.Time) error {
	if c.Type == domain.ConnectionM365 && creds.EntraTenantID == "" && tenant != nil {
		creds.EntraTenantID = tenant.EntraTenantID
	}
	plain, err := json.Marshal(creds)
	if err != nil {
		return fmt.Errorf("encode credentials: %w", err)
	}
	defer clear(plain)
	sealed, err := envelope.Seal(ctx, d.Keys, plain, c.EncryptionContext(orgID))
	if err != nil {
		return fmt.Errorf("seal credentials of connection %s: %w", c.ID, err)
	}
	c.Sealed, c.Hint, c.RotatedAt = sealed, domain.Hint(creds.MainSecret(c.Type)), now
	c.Status, c.LastError, c.LastTestedAt = domain.ConnectionUntested, nil, nil
	return nil
}

// openCredentials unseals a connection's credentials.
func openCredentials(ctx context.Context, d *Deps, orgID string, c domain.Connection) (domain.Credentials, error) {
	plain, err := envelope.Open(ctx, d.Keys, c.Sealed, c.EncryptionContext(orgID))
	if err != nil {
		return domain.Credentials{}, err
	}
	defer clear(plain)
	var creds domain.Credentials
	if err := json.Unmarshal(plain, &creds); err != nil {
		return domain.Credentials{}, fmt.Errorf("decode credentials of connection %s: %w", c.ID, err)
	}
	return creds, nil
}

func createConnection(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		var in connectionInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		now := d.Store.Now()
		c := domain.Connection{ID: domain.NewID(), Type: strings.TrimSpace(in.Type), Label: strings.TrimSpace(in.Label),
			TenantID: strings.TrimSpace(in.TenantID), CreatedAt: now, UpdatedAt: now}
		var v problem.Validation
		c.Validate(&v)
		if in.Credentials == nil {
			v.Add("credentials", "are required")
		}
		checkCredentials(&v, in.Credentials, c.Type)
		if err := v.Err(); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var tenant *domain.Tenant
		if c.Type == domain.ConnectionM365 {
			// A tenant outside the caller's scope is as unknown as a missing one.
			t, err := d.Store.GetTenant(ctx, oc.Org.ID, c.TenantID)
			if errors.Is(err, store.ErrNotFound) || err == nil && !oc.Scope().TenantAllowed(permission.PlatformSettings, c.TenantID) {
				problem.Write(ctx, w, r, problem.Invalidf("tenantId", "is not a tenant of this organization"))
				return
			}
			if err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			tenant = &t
		} else if !oc.Scope().AllTenantsAllowed(permission.PlatformSettings) {
			problem.Write(ctx, w, r, problem.New(problem.Forbidden, "forbidden", "adding a PSA connection needs access to all tenants"))
			return
		}
		if err := sealCredentials(ctx, d, oc.Org.ID, &c, *in.Credentials, tenant, now); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		ev := audit.New(ctx, oc.Org.ID, audit.Settings, "connection.create", fmt.Sprintf("added %s connection %s", c.Type, c.Label))
		if c.TenantID != "" {
			ev.Targets.TenantIDs = []string{c.TenantID}
		}
		if c.Type == domain.ConnectionM365 {
			next := now.Add(m365SyncEvery)
			c.NextSyncAt = &next
		}
		switch err := d.Store.CreateConnection(ctx, oc.Org.ID, c, ev); {
		case errors.Is(err, store.ErrTenantHasConnection):
			problem.Write(ctx, w, r, problem.Conflictf("tenant-has-connection", "the tenant already has a Microsoft 365 connection; rotate its credentials instead"))
			return
		case errors.Is(err, store.ErrNoTenant):
			problem.Write(ctx, w, r, problem.Invalidf("tenantId", "is not a tenant of this organization"))
			return
		case err != nil:
			problem.Write(ctx, w, r, err)
			return
		}
		c.Version = 1
		w.Header().Set("Location", "/api/connections/"+c.ID)
		write(w, http.StatusCreated, viewConnection(c))
	})
}

// reachableConnection reads the connection of the path that oc may manage: outside the
// caller's scope it is not found.
func reachableConnection(ctx context.Context, d *Deps, oc *access.Context, id string) (domain.Connection, error) {
	c, err := d.Store.GetConnection(ctx, oc.Org.ID, id)
	if err != nil {
		return domain.Connection{}, notFoundAs(err, "connection")
	}
	if !connectionVisible(oc, c) {
		return domain.Connection{}, problem.NotFoundf("the connection was not found")
	}
	if !connectionManaged(oc, c) {
		return domain.Connection{}, problem.New(problem.Forbidden, "forbidden", "your role does not allow: "+permission.Describe(permission.PlatformSettings))
	}
	return c, nil
}

func updateConnection(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		cur, err := reachableConnection(ctx, d, oc, r.PathValue("connectionId"))
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var in connectionInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		label := strings.TrimSpace(in.Label)
		var v problem.Validation
		probe := cur
		probe.Label = label
		probe.Validate(&v)
		checkCredentials(&v, in.Credentials, cur.Type)
		if err := v.Err(); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var tenant *domain.Tenant
		if in.Credentials != nil && cur.Type == domain.ConnectionM365 && in.Credentials.EntraTenantID == "" {
			t, err := d.Store.GetTenant(ctx, oc.Org.ID, cur.TenantID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				problem.Write(ctx, w, r, err)
				return
			}
			if err == nil {
				tenant = &t
			}
		}
		next, err := d.Store.UpdateConnectionFrom(ctx, oc.Org.ID, cur, in.Version, func(c *domain.Connection) (audit.Event, error) {
			before := viewConnection(*c)
			c.Label = label
			action, summary := "connection.update", fmt.Sprintf("updated connection %s", label)
			if in.Credentials != nil {
				if err := sealCredentials(ctx, d, oc.Org.ID, c, *in.Credentials, tenant, d.Store.Now()); err != nil {
					return audit.Event{}, err
				}
				action, summary = "connection.rotate", fmt.Sprintf("rotated the credentials of connection %s", label)
			}
			ev := audit.New(ctx, oc.Org.ID, audit.Settings, action, summary)
			if c.TenantID != "" {
				ev.Targets.TenantIDs = []string{c.TenantID}
			}
			after := viewConnection(*c)
			// Times and versions say nothing a reader needs; hints are masked already.
			before.RotatedAt, after.RotatedAt, before.UpdatedAt, after.UpdatedAt = nil, nil, nil, nil
			ev.Changes = diff(before, after)
			if in.Credentials != nil {
				ev.Changes = append(ev.Changes, audit.Change{Field: "credentials", From: "(sealed)", To: "(rotated)"})
			}
			return ev, nil
		})
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		write(w, http.StatusOK, viewConnection(next))
	})
}

func deleteConnection(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		cur, err := reachableConnection(ctx, d, oc, r.PathValue("connectionId"))
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		ev := audit.New(ctx, oc.Org.ID, audit.Settings, "connection.delete", fmt.Sprintf("removed %s connection %s", cur.Type, cur.Label))
		if cur.TenantID != "" {
			ev.Targets.TenantIDs = []string{cur.TenantID}
		}
		if err := d.Store.DeleteConnection(ctx, oc.Org.ID, cur, ev); err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "connection"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// testResult is the answer of a connection test.
type testResult struct {
	// OK: the credentials worked. Checked: the outside system was contacted (every
	// type is now).
	OK         bool            `json:"ok"`
	Checked    bool            `json:"checked"`
	Error      *domain.Problem `json:"error,omitempty"`
	Message    string          `json:"message"`
	Connection connectionView  `json:"connection"`
}

func testConnection(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		cur, err := reachableConnection(ctx, d, oc, r.PathValue("connectionId"))
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		now := d.Store.Now()
		var failure *domain.Problem
		success := "Entra issued a Microsoft Graph token for these credentials"
		if cur.Type == domain.ConnectionM365 {
			failure = checkM365(ctx, d, oc.Org.ID, cur, now)
		} else {
			failure = checkPSA(ctx, d, oc.Org.ID, cur, now)
			success = connectionTypeName(cur.Type) + " answered a listing of companies with these credentials"
		}
		next, err := d.Store.UpdateConnectionFrom(ctx, oc.Org.ID, cur, nil, func(c *domain.Connection) (audit.Event, error) {
			c.LastTestedAt = &now
			outcome := "succeeded"
			if failure == nil {
				c.Status, c.LastError, c.LastUsedAt = domain.ConnectionConnected, nil, &now
			} else {
				c.Status, c.LastError, outcome = domain.ConnectionFailed, failure, "failed: "+failure.Message
			}
			ev := audit.New(ctx, oc.Org.ID, audit.Settings, "connection.test", fmt.Sprintf("tested connection %s: %s", c.Label, outcome))
			if c.TenantID != "" {
				ev.Targets.TenantIDs = []string{c.TenantID}
			}
			ev.Changes = diff(map[string]any{"status": cur.Status}, map[string]any{"status": c.Status})
			return ev, nil
		})
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		res := testResult{OK: failure == nil, Checked: true, Error: failure, Connection: viewConnection(next), Message: success}
		if failure != nil {
			res.Message = failure.Message
		}
		write(w, http.StatusOK, res)
	})
}

func connectionTypeName(t string) string {
	switch t {
	case domain.ConnectionConnectWise:
		return "ConnectWise Manage"
	case domain.ConnectionAutotask:
		return "Autotask"
	case domain.ConnectionHaloPSA:
		return "HaloPSA"
	}
	return "Microsoft 365"
}

// checkM365 asks the Entra token endpoint for a Graph token with c's credentials; nil
// when it issued one, else what went wrong, fit to show.
func checkM365(ctx context.Context, d *Deps, orgID string, c domain.Connection, now time.Time) *domain.Problem {
	creds, err := openCredentials(ctx, d, orgID, c)
	if err != nil {
		return credentialsUnreadable(ctx, c, err, now)
	}
	_, err = d.graph().Token(ctx, graphCredentials(creds))
	return graphProblem(err, creds, now)
}

func graphCredentials(c domain.Credentials) msgraph.Credentials {
	return msgraph.Credentials{TenantID: c.EntraTenantID, ClientID: c.ClientID, ClientSecret: c.ClientSecret}
}

// credentialsUnreadable is the problem of credentials that do not open (sealed under a
// key this deployment no longer has); the cause is logged, never a value.
func credentialsUnreadable(ctx context.Context, c domain.Connection, err error, now time.Time) *domain.Problem {
	logConnectionError(ctx, c, err)
	return &domain.Problem{Code: "credentials-unreadable", At: now,
		Message: "the stored credentials cannot be decrypted; enter them again"}
}

// graphProblem is err (from msgraph) as the problem recorded and shown, nil for nil.
// Entra's and Graph's messages never echo a secret, and redact makes sure of it.
func graphProblem(err error, creds domain.Credentials, now time.Time) *domain.Problem {
	if err == nil {
		return nil
	}
	var ge *msgraph.Error
	if !errors.As(err, &ge) {
		return &domain.Problem{Code: "graph-" + string(msgraph.Unavailable), Message: "Microsoft 365 could not be reached", At: now}
	}
	msg := map[msgraph.Kind]string{
		msgraph.InvalidCredentials: "Entra refused the app credentials",
		msgraph.Forbidden:          "Microsoft Graph refused the request: grant the app its application permissions (User.Read.All, Organization.Read.All, SecurityEvents.Read.All) with admin consent",
		msgraph.Throttled:          "Microsoft Graph is throttling requests; the next sync tries again",
		msgraph.Unavailable:        "Microsoft 365 did not answer in time",
		msgraph.BadResponse:        "Microsoft 365 answered something Switchboard cannot read",
	}[ge.Kind]
	if ge.Code != "" || ge.Message != "" {
		msg += " (" + strings.TrimPrefix(strings.TrimSpace(ge.Code+": "+ge.Message), ": ") + ")"
	}
	return &domain.Problem{Code: "graph-" + string(ge.Kind), Message: redact(msg, creds), At: now}
}

// redact blanks any credential value in s.
func redact(s string, c domain.Credentials) string {
	for _, v := range []string{c.ClientSecret, c.PrivateKey, c.PublicKey, c.Secret, c.IntegrationCode} {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}
