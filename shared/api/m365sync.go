package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
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

// TenantsRefresh reads a tenant's data from Microsoft 365 now, as the m365-sync
// schedule does; syncing is "run automation" (DESIGN.md's table).
var TenantsRefresh = Route{Method: "POST", Path: "/api/msp-portal/tenants/{tenantId}/refresh", Permission: permission.RunAutomation, Function: "tenants-refresh", Category: audit.Tenant,
	Summary: "Read the tenant's licensed users, licenses and Secure Score from Microsoft 365 now", Handler: refreshTenant,
	Actions: []string{"kms:Decrypt"}}

// m365Routes are the tenant data read from Microsoft 365.
func m365Routes() []Route { return []Route{TenantsRefresh} }

// Sync timing: each tenant is read every m365SyncEvery; after a failure again in
// m365RetryEvery (or the Retry-After Graph asked for, when longer). The schedule runs
// every m365SyncRate and reads what is due.
const (
	m365SyncEvery  = 6 * time.Hour
	m365RetryEvery = time.Hour
	m365SyncRate   = "rate(30 minutes)"
	// graphBudget bounds one tenant's Graph reads, so that a refresh records a late
	// answer within API Gateway's 30 seconds.
	graphBudget = 20 * time.Second
)

// m365SyncJob is the schedule that reads every due tenant's data from Microsoft 365.
// Its actions: the due index (Query on GSI1), each tenant and connection (GetItem),
// the chain head with the organization (BatchGetItem), and the transaction of the
// readings (PutItem, UpdateItem for the counters), and the credentials (kms:Decrypt).
func m365SyncJob() Job {
	return Job{Function: "m365-sync", Kind: "schedule", Schedule: m365SyncRate,
		Summary: "Reads licensed users, subscribed SKUs and Secure Score of every tenant with a Microsoft 365 connection that is due",
		Actions: []string{"dynamodb:Query", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "kms:Decrypt"},
		RunWith: SyncM365}
}

// SyncResult counts what one run of SyncM365 did.
type SyncResult struct {
	Synced  int `json:"synced"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	// Unfinished: the run stopped at its deadline; the next one goes on.
	Unfinished bool `json:"unfinished,omitempty"`
}

// SyncM365 reads every Microsoft 365 connection due at now (system scope, page by page
// from the due index) and syncs its tenant. A tenant's Graph failure is recorded on it
// and counted; it does not fail the run. A store failure is counted and returned.
func SyncM365(ctx context.Context, d *Deps, now time.Time) (any, error) {
	var res SyncResult
	var firstErr error
	cursor := ""
	for {
		if stopping(ctx) {
			res.Unfinished = true
			break
		}
		due, next, err := d.Store.SystemDueM365Connections(ctx, now, store.Page{Limit: expiryPageSize, Cursor: cursor})
		if err != nil {
			return res, errors.Join(firstErr, err)
		}
		for _, c := range due {
			if stopping(ctx) {
				res.Unfinished = true
				return res, firstErr
			}
			t, err := d.Store.GetTenant(ctx, c.OrganizationID, c.TenantID)
			if err == nil {
				var conn domain.Connection
				if conn, err = d.Store.GetConnection(ctx, c.OrganizationID, c.ID); err == nil && conn.NextSyncAt != nil && !conn.NextSyncAt.After(now) {
					_, _, err = syncTenant(ctx, d, c.OrganizationID, t, conn, d.Store.Now())
				} else if err == nil {
					res.Skipped++ // synced or changed meanwhile
					continue
				}
			}
			var ge *syncFailure
			switch {
			case errors.As(err, &ge):
				res.Failed++
			case errors.Is(err, store.ErrNotFound):
				res.Skipped++
			case err != nil:
				res.Failed++
				slog.ErrorContext(ctx, "m365 sync", "organizationId", c.OrganizationID, "connectionId", c.ID, "err", err.Error())
				if firstErr == nil {
					firstErr = err
				}
			default:
				res.Synced++
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return res, firstErr
}

// syncFailure is a sync whose Graph reads failed: recorded on the tenant, which keeps
// its previous readings.
type syncFailure struct {
	problem    *domain.Problem
	retryAfter time.Duration
}

func (e *syncFailure) Error() string { return e.problem.Code + ": " + e.problem.Message }

// readM365 reads a tenant's licensed users, subscribed SKUs and latest Secure Score
// with the connection's credentials.
func readM365(ctx context.Context, g *msgraph.Client, creds domain.Credentials) (domain.Readings, error) {
	sess, err := g.Connect(ctx, graphCredentials(creds))
	if err != nil {
		return domain.Readings{}, err
	}
	users, err := sess.ListUsers(ctx)
	if err != nil {
		return domain.Readings{}, err
	}
	skus, err := sess.SubscribedSKUs(ctx)
	if err != nil {
		return domain.Readings{}, err
	}
	score, hasScore, err := sess.LatestSecureScore(ctx)
	if err != nil {
		return domain.Readings{}, err
	}
	var r domain.Readings
	for _, u := range users {
		if u.Licensed() {
			r.LicensedUsers++
		}
	}
	for _, k := range skus {
		if k.AppliesTo != "" && k.AppliesTo != "User" {
			continue // company-wide add-ons are no seats
		}
		if k.ConsumedUnits > 0 && len(r.Licenses) < domain.MaxSKUs {
			r.Licenses = append(r.Licenses, domain.SKULicense{SKU: k.SKUPartNumber, Assigned: k.ConsumedUnits})
		}
		if k.ConsumedUnits > k.PrepaidUnits.Enabled+k.PrepaidUnits.Warning {
			r.OverAssigned = append(r.OverAssigned, k.SKUPartNumber)
		}
		switch k.CapabilityStatus {
		case "Suspended", "LockedOut":
			r.Suspended = append(r.Suspended, k.SKUPartNumber)
		case "Warning":
			r.OverAssigned = append(r.OverAssigned, k.SKUPartNumber)
		}
	}
	slices.SortFunc(r.Licenses, func(a, b domain.SKULicense) int {
		if a.SKU < b.SKU {
			return -1
		}
		if a.SKU > b.SKU {
			return 1
		}
		return 0
	})
	if hasScore {
		r.SecureScore, r.HasScore = domain.RoundScore(min(max(score.Percent(), 0), 100)), true
	}
	return r, nil
}

// syncTenant reads tenant t from Microsoft 365 with connection conn and writes the
// outcome in one transaction: the readings and the derived health (and the counters
// they move) on success; on failure only the error, the previous readings staying.
// Either way the connection's status, last use and next sync move, with an audit event
// (tenant.sync or tenant.sync-failed). It returns a *syncFailure after recording one.
func syncTenant(ctx context.Context, d *Deps, orgID string, t domain.Tenant, conn domain.Connection, now time.Time) (domain.Tenant, domain.Connection, error) {
	var readings domain.Readings
	var failure *domain.Problem
	var retryAfter time.Duration
	creds, err := openCredentials(ctx, d, orgID, conn)
	if err != nil {
		failure = credentialsUnreadable(ctx, conn, err, now)
	} else {
		gctx, cancel := context.WithTimeout(ctx, graphBudget)
		readings, err = readM365(gctx, d.graph(), creds)
		cancel()
		failure = graphProblem(err, creds, now)
		var ge *msgraph.Error
		if errors.As(err, &ge) {
			retryAfter = ge.RetryAfter
		}
	}
	nextConn := conn
	nextSync := now.Add(m365SyncEvery)
	if failure != nil {
		nextSync = now.Add(max(m365RetryEvery, retryAfter))
		nextConn.Status, nextConn.LastError = domain.ConnectionFailed, failure
		// Refused credentials are the connection's fault; anything else is Graph's, and
		// the connection keeps the status its last use gave it.
		if failure.Code != "graph-"+string(msgraph.InvalidCredentials) && failure.Code != "graph-"+string(msgraph.Forbidden) && failure.Code != "credentials-unreadable" {
			nextConn.Status, nextConn.LastError = conn.Status, conn.LastError
		}
	} else {
		nextConn.Status, nextConn.LastError, nextConn.LastUsedAt = domain.ConnectionConnected, nil, &now
	}
	nextConn.NextSyncAt = &nextSync

	next, savedConn, err := d.Store.SyncTenant(ctx, orgID, t, conn, nextConn, func(n *domain.Tenant) audit.Event {
		sync := domain.TenantSync{ConnectionID: conn.ID, LastAttemptAt: &now}
		if t.Sync != nil {
			sync.LastSuccessAt = t.Sync.LastSuccessAt
		}
		ev := audit.New(ctx, orgID, audit.Tenant, "tenant.sync", fmt.Sprintf("read tenant %s from Microsoft 365", t.DisplayName))
		if failure != nil {
			sync.Error = failure
			ev.Action, ev.Summary = "tenant.sync-failed", fmt.Sprintf("reading tenant %s from Microsoft 365 failed: %s", t.DisplayName, failure.Message)
		} else {
			sync.LastSuccessAt = &now
			n.LicensedUsers, n.Licenses, n.SecurityScore = readings.LicensedUsers, readings.Licenses, readings.SecureScore
			n.Health = domain.HealthOf(readings)
		}
		n.Sync = &sync
		ev.Targets.TenantIDs = []string{t.ID}
		if t.CustomerID != "" {
			ev.Targets.CustomerIDs = []string{t.CustomerID}
		}
		ev.Changes = diff(syncedFields(t), syncedFields(*n))
		return ev
	})
	if err != nil {
		return domain.Tenant{}, domain.Connection{}, err
	}
	if failure != nil {
		return next, savedConn, &syncFailure{problem: failure, retryAfter: retryAfter}
	}
	return next, savedConn, nil
}

// syncedFields are the readings an audit event of a sync reports the change of.
func syncedFields(t domain.Tenant) map[string]any {
	return map[string]any{"licensedUsers": t.LicensedUsers, "assignedLicenses": t.AssignedLicenses(),
		"securityScore": t.SecurityScore, "health": t.Health}
}

func refreshTenant(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		id := r.PathValue("tenantId")
		if err := tenantReachable(oc, permission.RunAutomation, id); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		t, err := d.Store.GetTenant(ctx, oc.Org.ID, id)
		if err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "tenant"))
			return
		}
		conn, err := tenantConnection(ctx, d, oc.Org.ID, id)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		next, _, err := syncTenant(ctx, d, oc.Org.ID, t, conn, d.Store.Now())
		var sf *syncFailure
		if errors.As(err, &sf) {
			pe := problem.New(problem.BadGateway, sf.problem.Code, sf.problem.Message+"; the tenant keeps its previous readings")
			if sf.retryAfter > 0 {
				pe.RetryAfter = int(sf.retryAfter.Round(time.Second) / time.Second)
			}
			pe.Extra = map[string]any{"tenant": viewTenant(next)}
			problem.Write(ctx, w, r, pe)
			return
		}
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		write(w, http.StatusOK, viewTenant(next))
	})
}

// tenantConnection reads the Microsoft 365 connection of a tenant. Errors: a 409
// no-m365-connection when it has none.
func tenantConnection(ctx context.Context, d *Deps, orgID, tenantID string) (domain.Connection, error) {
	conn, err := d.Store.M365ConnectionOf(ctx, orgID, tenantID)
	if errors.Is(err, store.ErrNotFound) {
		return domain.Connection{}, problem.Conflictf("no-m365-connection", "the tenant has no Microsoft 365 connection; add one with POST /api/connections")
	}
	return conn, err
}

// logConnectionError logs why a connection's credentials could not be used: the
// error (which never holds a value), never the credentials.
func logConnectionError(ctx context.Context, c domain.Connection, err error) {
	slog.WarnContext(ctx, "connection credentials unusable", "organizationId", c.OrganizationID, "connectionId", c.ID, "err", err.Error())
}

// brokenKeys stands for a key provider that could not be made: every use fails with
// why.
type brokenKeys struct{ err error }

func (b brokenKeys) GenerateDataKey(context.Context, map[string]string) ([]byte, []byte, string, error) {
	return nil, nil, "", b.err
}
func (b brokenKeys) Decrypt(context.Context, []byte, map[string]string) ([]byte, error) {
	return nil, b.err
}

var _ envelope.Keys = brokenKeys{}
