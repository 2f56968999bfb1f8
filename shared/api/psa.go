package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/psa"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Routes: matching customers to PSA companies and syncing them (docs/psa.md). A PSA
// connection serves every customer, so each needs its permission across all tenants.
var (
	PsaMatches = Route{Method: "GET", Path: "/api/psa/{psaConnectionId}/matches", Permission: permission.RunAutomation, Function: "psa-matches",
		Summary: "Propose links of the PSA's unlinked companies to unlinked customers, by exact domain or name similarity, with a score; nothing is linked",
		Handler: psaMatches, Actions: []string{"kms:Decrypt"}}
	PsaMatchesAccept = Route{Method: "POST", Path: "/api/psa/{psaConnectionId}/matches/accept", Permission: permission.RunAutomation, Function: "psa-matches-accept",
		Category: audit.Customer, Summary: "Link customers to PSA companies by the PSA's id, all or none", Handler: acceptPSAMatches,
		Actions: []string{"kms:Decrypt"}}
	PsaSyncRun = Route{Method: "POST", Path: "/api/psa/{psaConnectionId}/sync", Permission: permission.RunAutomation, Function: "psa-sync-run",
		Category: audit.Customer, Summary: "Sync customers with the PSA: with dryRun=true answer the diff and change nothing, else apply it as a job",
		Handler: runPSASyncRoute, Actions: []string{"kms:Decrypt", "sqs:SendMessage"}}
	PsaSyncGet = Route{Method: "GET", Path: "/api/psa/{psaConnectionId}/sync", Permission: permission.RunAutomation, Function: "psa-sync-get",
		Summary: "A PSA connection's sync: conflict policy, cursor, last sync and its counts, conflicts held for review", Handler: getPSASync}
	PsaSyncUpdate = Route{Method: "PUT", Path: "/api/psa/{psaConnectionId}/sync", Permission: permission.PlatformSettings, Function: "psa-sync-update",
		Category: audit.Settings, Summary: "Set a PSA connection's conflict policy: psa-wins, switchboard-wins or hold", Handler: updatePSASync}
	PsaConflictsResolve = Route{Method: "POST", Path: "/api/psa/{psaConnectionId}/conflicts/{externalId}/resolve", Permission: permission.RunAutomation,
		Function: "psa-conflicts-resolve", Category: audit.Customer, Summary: "Resolve a held conflict: keep the PSA's or Switchboard's fields on both sides",
		Handler: resolvePSAConflict, Actions: []string{"kms:Decrypt"}}
)

// psaRoutes are the PSA matching and sync routes.
func psaRoutes() []Route {
	return []Route{PsaMatches, PsaMatchesAccept, PsaSyncRun, PsaSyncGet, PsaSyncUpdate, PsaConflictsResolve}
}

// KindPSASync is the job kind of a sync started by POST /api/psa/{psaConnectionId}/sync.
const KindPSASync = "psa-sync"

// psaConnectionOf reads the PSA connection of the path, which the caller must be
// allowed p on across all tenants: not found when it is not a PSA connection of the
// organization, forbidden without all tenants.
func psaConnectionOf(ctx context.Context, d *Deps, r *http.Request, p permission.Permission) (domain.Connection, error) {
	oc := access.From(ctx)
	c, err := d.Store.GetConnection(ctx, oc.Org.ID, r.PathValue("psaConnectionId"))
	if err != nil {
		return domain.Connection{}, notFoundAs(err, "PSA connection")
	}
	if c.Type == domain.ConnectionM365 {
		return domain.Connection{}, problem.NotFoundf("the PSA connection was not found")
	}
	if !oc.Scope().AllTenantsAllowed(p) {
		return domain.Connection{}, problem.New(problem.Forbidden, "forbidden", "a PSA connection serves every customer: this needs access to all tenants")
	}
	return c, nil
}

// psaCallProblem is a PSA's failure during a request, as a 502 whose message names it
// (without a credential); a PSA rate limit passes its Retry-After on.
func psaCallProblem(c domain.Connection, err error) error {
	var rl *psa.RateLimitedError
	var un *psa.UnavailableError
	var re *psa.RequestError
	code := ""
	switch {
	case errors.Is(err, errCredentialsUnreadable):
		return problem.New(problem.BadGateway, "credentials-unreadable", "the stored credentials cannot be decrypted; enter them again")
	case errors.Is(err, psa.ErrUnauthorized):
		code = "psa-invalid-credentials"
	case errors.Is(err, psa.ErrForbidden):
		code = "psa-forbidden"
	case errors.As(err, &rl):
		code = "psa-rate-limited"
	case errors.As(err, &un), errors.Is(err, psa.ErrNotFound):
		code = "psa-unavailable"
	case errors.As(err, &re):
		code = "psa-refused"
	default:
		return err // the store's, answered as such
	}
	out := problem.New(problem.BadGateway, code, connectionTypeName(c.Type)+" failed: "+err.Error())
	if rl != nil {
		out.RetryAfter = max(1, int(rl.RetryAfter.Seconds()))
	}
	return out
}

// maxPSACompanies bounds how many PSA companies one matching request reads, so it ends
// within API Gateway's 30 seconds; the sync job has no such bound.
const maxPSACompanies = 5000

// matchesView is the answer of GET matches.
type matchesView struct {
	Items []psaMatch `json:"items"`
	// Companies is how many PSA companies were read; UnlinkedCompanies how many of them
	// no customer links; Truncated that the PSA holds more than were read.
	Companies         int  `json:"companies"`
	UnlinkedCompanies int  `json:"unlinkedCompanies"`
	Truncated         bool `json:"truncated"`
}

func psaMatches(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		conn, err := psaConnectionOf(ctx, d, r, permission.RunAutomation)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		s, err := newPSASyncer(ctx, d, oc.Org.ID, conn, true)
		if err != nil {
			problem.Write(ctx, w, r, psaCallProblem(conn, err))
			return
		}
		out := matchesView{Items: []psaMatch{}}
		cursor := ""
		for {
			page, err := s.psa.CompaniesChangedSince(ctx, time.Time{}, cursor)
			if err != nil {
				problem.Write(ctx, w, r, psaCallProblem(conn, err))
				return
			}
			for _, c := range page.Companies {
				out.Companies++
				if _, linked := s.linked[c.ID]; linked {
					continue
				}
				if _, err := d.Store.LookupCustomerKey(ctx, oc.Org.ID, "psa", conn.ID+"#"+c.ID); err == nil {
					continue // an archived customer holds it
				}
				out.UnlinkedCompanies++
				out.Items = append(out.Items, proposeMatches(c, s.candidates)...)
			}
			if page.Next == "" {
				break
			}
			if out.Companies >= maxPSACompanies {
				out.Truncated = true
				break
			}
			cursor = page.Next
		}
		write(w, http.StatusOK, out)
	})
}

// acceptInput is the body of POST matches/accept.
type acceptInput struct {
	Matches []struct {
		CustomerID string `json:"customerId"`
		ExternalID string `json:"externalId"`
	} `json:"matches"`
}

// maxAccept bounds the links of one accept.
const maxAccept = 100

// linkedView is one link made.
type linkedView struct {
	CustomerID string `json:"customerId"`
	ExternalID string `json:"externalId"`
	Version    int64  `json:"version"`
}

// acceptPSAMatches links customers to PSA companies, all or none: every pair is checked
// first (the customer exists and has no link on this connection, the PSA company exists
// and links no other customer); a refusal is a 409 or 400 naming the pair and links
// nothing. Each link is then its own audited transaction, guarded by the link's
// uniqueness claim, so a pair linked meanwhile by another request is refused (409,
// after the links before it).
func acceptPSAMatches(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		conn, err := psaConnectionOf(ctx, d, r, permission.RunAutomation)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var in acceptInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var v problem.Validation
		v.Check(len(in.Matches) == 0, "matches", "must list at least one match")
		v.Check(len(in.Matches) > maxAccept, "matches", "must list at most %d matches", maxAccept)
		seenCustomer, seenExternal := map[string]bool{}, map[string]bool{}
		for i, m := range in.Matches {
			f := "matches[" + strconv.Itoa(i) + "]"
			m.CustomerID, m.ExternalID = strings.TrimSpace(m.CustomerID), strings.TrimSpace(m.ExternalID)
			in.Matches[i] = m
			v.Check(!domain.ValidID(m.CustomerID), f+".customerId", "is required: a customer id")
			v.Check(m.ExternalID == "" || len(m.ExternalID) > domain.MaxShortField, f+".externalId", "is required: the PSA company's id, at most %d characters", domain.MaxShortField)
			v.Check(seenCustomer[m.CustomerID], f+".customerId", "is listed twice; a customer has one link per PSA connection")
			v.Check(seenExternal[m.ExternalID], f+".externalId", "is listed twice; a PSA company links one customer")
			seenCustomer[m.CustomerID], seenExternal[m.ExternalID] = true, true
		}
		if err := v.Err(); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		connector, err := psaConnector(ctx, d, oc.Org.ID, conn)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		customers := make([]domain.Customer, len(in.Matches))
		for i, m := range in.Matches {
			f := "matches[" + strconv.Itoa(i) + "]"
			got, err := d.Store.GetCustomer(ctx, oc.Org.ID, m.CustomerID)
			if errors.Is(err, store.ErrNotFound) {
				problem.Write(ctx, w, r, problem.Invalidf(f+".customerId", "is not a customer of this organization"))
				return
			}
			if err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			if l, ok := linkOn(got.Customer, conn.ID); ok {
				pe := problem.Conflictf("customer-already-linked", "customer %q (%s) is already linked to %s company %s on this connection",
					got.Customer.Name, got.Customer.ID, connectionTypeName(conn.Type), l.ExternalID)
				pe.Extra = map[string]any{"field": f + ".customerId", "customerId": got.Customer.ID, "externalId": l.ExternalID}
				problem.Write(ctx, w, r, pe)
				return
			}
			if owner, err := d.Store.LookupCustomerKey(ctx, oc.Org.ID, "psa", conn.ID+"#"+m.ExternalID); err == nil {
				pe := problem.Conflictf("psa-record-linked", "%s company %s is already linked to customer %s",
					connectionTypeName(conn.Type), m.ExternalID, owner)
				pe.Extra = map[string]any{"field": f + ".externalId", "customerId": owner, "externalId": m.ExternalID}
				problem.Write(ctx, w, r, pe)
				return
			} else if !errors.Is(err, store.ErrNotFound) {
				problem.Write(ctx, w, r, err)
				return
			}
			if _, err := connector.Company(ctx, m.ExternalID); errors.Is(err, psa.ErrNotFound) {
				problem.Write(ctx, w, r, problem.Invalidf(f+".externalId", "is not a company of this %s connection", connectionTypeName(conn.Type)))
				return
			} else if err != nil {
				problem.Write(ctx, w, r, psaCallProblem(conn, err))
				return
			}
			customers[i] = got.Customer
		}
		out := struct {
			Linked []linkedView `json:"linked"`
		}{Linked: []linkedView{}}
		for i, m := range in.Matches {
			link := domain.PSALink{ConnectionID: conn.ID, Type: conn.Type, ExternalID: m.ExternalID}
			next, err := d.Store.UpdateCustomerFrom(ctx, oc.Org.ID, customers[i], nil, func(c *domain.Customer) (audit.Event, error) {
				if _, ok := linkOn(*c, conn.ID); ok {
					return audit.Event{}, problem.Conflictf("customer-already-linked", "customer %s was linked on this connection meanwhile", c.ID)
				}
				c.PSALinks = append(append([]domain.PSALink{}, c.PSALinks...), link)
				ev := audit.New(ctx, oc.Org.ID, audit.Customer, "customer.psa-link",
					fmt.Sprintf("linked customer %q to %s company %s", c.Name, connectionTypeName(conn.Type), m.ExternalID))
				ev.Targets.CustomerIDs = []string{c.ID}
				ev.Changes = []audit.Change{{Field: "psaLinks", From: "", To: conn.ID + " record " + m.ExternalID}}
				return ev, nil
			})
			if err != nil {
				problem.Write(ctx, w, r, duplicateKeyProblem(err))
				return
			}
			out.Linked = append(out.Linked, linkedView{CustomerID: next.ID, ExternalID: m.ExternalID, Version: next.Version})
		}
		write(w, http.StatusOK, out)
	})
}

// psaSyncParams are a sync job's parameters.
type psaSyncParams struct {
	ConnectionID string `json:"connectionId"`
}

func runPSASyncRoute(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		conn, err := psaConnectionOf(ctx, d, r, permission.RunAutomation)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		dryRun := false
		if v := r.URL.Query().Get("dryRun"); v != "" {
			if dryRun, err = strconv.ParseBool(v); err != nil {
				problem.Write(ctx, w, r, problem.Invalidf("dryRun", "must be true or false"))
				return
			}
		}
		if dryRun {
			diff, err := syncPSA(ctx, d, oc.Org.ID, conn, true, nil)
			if err != nil {
				problem.Write(ctx, w, r, psaCallProblem(conn, err))
				return
			}
			write(w, http.StatusOK, diff)
			return
		}
		j, err := d.Jobs.Start(ctx, jobs.StartInput{Kind: KindPSASync, OrganizationID: oc.Org.ID, Params: psaSyncParams{ConnectionID: conn.ID},
			Category: audit.Customer, Summary: fmt.Sprintf("started a sync of customers with %s connection %s", connectionTypeName(conn.Type), conn.Label)})
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		w.Header().Set("Location", "/api/jobs/"+j.ID)
		write(w, http.StatusAccepted, NewJobView(j))
	})
}

// runPSASyncJob applies a sync as a job: it checkpoints each page (the sync state keeps
// the PSA cursor), continues in a new invocation near its deadline, and ends with the
// diff applied as its result.
func runPSASyncJob(ctx context.Context, env *jobs.Env, job *jobs.Job) error {
	var p psaSyncParams
	if err := env.Params(&p); err != nil {
		return err
	}
	d, err := depsOfJob(env)
	if err != nil {
		return err
	}
	conn, err := env.Store.GetConnection(ctx, job.OrganizationID, p.ConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		return jobs.Fail("the PSA connection was deleted")
	}
	if err != nil {
		return jobs.Retry(err)
	}
	yielded := false
	diff, err := syncPSA(ctx, d, job.OrganizationID, conn, false, func() bool { yielded = env.ShouldYield(); return yielded })
	if err == nil {
		startTicketPulls(ctx, d, job.OrganizationID, []domain.PSALink{{ConnectionID: conn.ID}})
	}
	if err != nil {
		var refused *psa.RequestError
		if errors.Is(err, psa.ErrUnauthorized) || errors.Is(err, psa.ErrForbidden) || errors.As(err, &refused) {
			return jobs.Fail(redactedFailure(ctx, d, job.OrganizationID, conn, err))
		}
		return jobs.Retry(err) // a PSA outage, a rate limit or a store fault: the run resumes from its cursor
	}
	var errs []jobs.Error
	for _, f := range diff.Failures {
		errs = append(errs, jobs.Error{Field: "externalId " + f.ExternalID, Message: f.Message})
	}
	done := int64(diff.Counts.CreatedHere + diff.Counts.UpdatedHere + diff.Counts.UpdatedInPSA + diff.Counts.Unchanged + diff.Counts.Held + diff.Counts.ProposedMatches)
	if err := env.Checkpoint(ctx, jobs.Checkpoint{Done: max(done, job.Progress.Done), Errors: errs, Result: diff}); err != nil {
		return err
	}
	if yielded && !diff.Complete {
		return jobs.ErrContinue
	}
	return nil
}

// redactedFailure is err's message without any credential of conn.
func redactedFailure(ctx context.Context, d *Deps, orgID string, conn domain.Connection, err error) string {
	creds, cerr := openCredentials(ctx, d, orgID, conn)
	if cerr != nil {
		return "the PSA refused the sync"
	}
	return redact(err.Error(), creds)
}

// psaSyncView is a PSA connection's sync as GET and PUT answer it.
type psaSyncView struct {
	ConnectionID   string                   `json:"connectionId"`
	ConflictPolicy string                   `json:"conflictPolicy"`
	Since          *time.Time               `json:"since,omitempty"`
	LastSyncAt     *time.Time               `json:"lastSyncAt,omitempty"`
	LastResult     *domain.PSASyncCounts    `json:"lastResult,omitempty"`
	NextSyncAt     *time.Time               `json:"nextSyncAt,omitempty"`
	Running        bool                     `json:"running"`
	HeldConflicts  []domain.PSAHeldConflict `json:"heldConflicts"`
	Version        int64                    `json:"version"`
}

func viewPSASync(conn domain.Connection, read store.PSASyncRead) psaSyncView {
	st := read.State
	v := psaSyncView{ConnectionID: conn.ID, ConflictPolicy: st.ConflictPolicy, LastSyncAt: st.LastSyncAt, LastResult: st.LastResult,
		NextSyncAt: conn.NextSyncAt, Running: st.Run != nil, HeldConflicts: []domain.PSAHeldConflict{}, Version: st.Version}
	if !st.Since.IsZero() {
		since := st.Since
		v.Since = &since
	}
	for _, h := range read.Held {
		v.HeldConflicts = append(v.HeldConflicts, h)
	}
	slices.SortFunc(v.HeldConflicts, func(a, b domain.PSAHeldConflict) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	return v
}

func getPSASync(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		conn, err := psaConnectionOf(ctx, d, r, permission.RunAutomation)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		read, err := d.Store.PSASync(ctx, oc.Org.ID, conn.ID)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		write(w, http.StatusOK, viewPSASync(conn, read))
	})
}

// psaSyncInput is the body of PUT sync; the GET's other fields are ignored.
type psaSyncInput struct {
	ConflictPolicy string `json:"conflictPolicy"`
	Version        *int64 `json:"version"`
}

func updatePSASync(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		conn, err := psaConnectionOf(ctx, d, r, permission.PlatformSettings)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var in psaSyncInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		policy := strings.TrimSpace(in.ConflictPolicy)
		valid := false
		for _, p := range domain.PSAConflictPolicies() {
			valid = valid || p == policy
		}
		if !valid {
			problem.Write(ctx, w, r, problem.Invalidf("conflictPolicy", "must be hold, psa-wins or switchboard-wins"))
			return
		}
		// Without a version the PUT is applied (the HTTP contract): a sync that wrote the
		// state meanwhile makes it read again.
		var read store.PSASyncRead
		for attempt := 0; ; attempt++ {
			if read, err = d.Store.PSASync(ctx, oc.Org.ID, conn.ID); err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			if in.Version != nil && *in.Version != read.State.Version {
				problem.Write(ctx, w, r, problem.StaleVersion("the sync state"))
				return
			}
			st := read.State
			ev := audit.New(ctx, oc.Org.ID, audit.Settings, "connection.psa-sync-policy",
				fmt.Sprintf("set the conflict policy of connection %s to %s", conn.Label, policy))
			ev.Changes = diff(map[string]any{"conflictPolicy": st.ConflictPolicy}, map[string]any{"conflictPolicy": policy})
			st.ConflictPolicy = policy
			read.State, err = d.Store.PutPSASyncState(ctx, oc.Org.ID, st, &ev)
			var pe *problem.Error
			if err == nil || in.Version != nil || attempt == 4 || !errors.As(err, &pe) || pe.Code != "stale-version" {
				break
			}
		}
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		write(w, http.StatusOK, viewPSASync(conn, read))
	})
}

// resolveInput is the body of POST resolve.
type resolveInput struct {
	// Winner is "psa" or "switchboard": whose fields both sides keep.
	Winner string `json:"winner"`
}

// resolvePSAConflict applies the winner's current fields to both sides and releases
// the held conflict.
func resolvePSAConflict(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		conn, err := psaConnectionOf(ctx, d, r, permission.RunAutomation)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		s, err := newPSASyncer(ctx, d, oc.Org.ID, conn, false)
		if err != nil {
			problem.Write(ctx, w, r, psaCallProblem(conn, err))
			return
		}
		ext := r.PathValue("externalId")
		held, ok := s.read.Held[ext]
		if !ok {
			problem.Write(ctx, w, r, problem.NotFoundf("no conflict of PSA company %s is held", ext))
			return
		}
		var in resolveInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if in.Winner != "psa" && in.Winner != "switchboard" {
			problem.Write(ctx, w, r, problem.Invalidf("winner", "must be psa or switchboard"))
			return
		}
		cu, linked := s.linked[ext]
		company, err := s.psa.Company(ctx, ext)
		if err != nil && !errors.Is(err, psa.ErrNotFound) {
			problem.Write(ctx, w, r, psaCallProblem(conn, err))
			return
		}
		ev := audit.New(ctx, oc.Org.ID, audit.Customer, "customer.psa-conflict-resolved",
			fmt.Sprintf("resolved the conflict of customer %q with %s company %s: %s wins", held.CustomerName, connectionTypeName(conn.Type), ext, in.Winner))
		ev.Targets.CustomerIDs = []string{held.CustomerID}
		if !linked || err != nil {
			// The link or the company is gone: nothing to apply, only the hold to release.
			if err := d.Store.DeletePSAHeld(ctx, oc.Org.ID, conn.ID, ext, ev); err != nil {
				problem.Write(ctx, w, r, notFoundAs(err, "held conflict"))
				return
			}
			write(w, http.StatusOK, map[string]any{"externalId": ext, "customerId": held.CustomerID, "winner": in.Winner, "applied": false})
			return
		}
		local := fieldsOf(cu)
		remote := psaFieldsOf(company, local, s.fields)
		target := remote
		if in.Winner == "switchboard" {
			target = local
		}
		ev.Changes = diff(map[string]any{"switchboard": local, "psa": remote}, map[string]any{"switchboard": target, "psa": target})
		if target != remote {
			company = companyWith(company, target, s.fields)
			if _, err := s.psa.UpdateCompany(ctx, company); err != nil {
				problem.Write(ctx, w, r, psaCallProblem(conn, err))
				return
			}
		}
		// The PSA's side is written first: repeating after a fault here writes it again
		// and then releases the conflict with the change here, in one transaction.
		var change *domain.Customer
		if target != local {
			change = &cu
		}
		b := domain.PSABaseline{ExternalID: ext, CustomerID: cu.ID, Fields: target, SyncedAt: d.Store.Now()}
		if _, err := d.Store.ResolvePSAHeld(ctx, oc.Org.ID, conn.ID, change, b, ev); err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "held conflict"))
			return
		}
		write(w, http.StatusOK, map[string]any{"externalId": ext, "customerId": cu.ID, "winner": in.Winner, "applied": true, "fields": target})
	})
}

// psaSyncJob is the schedule that syncs every PSA connection that is due.
func psaSyncJob() Job {
	return Job{Function: "psa-sync", Kind: "schedule", Schedule: psaSyncRate,
		Summary: "Syncs customers with every PSA connection that is due: new PSA companies, changes on each side, conflicts by the connection's policy",
		Actions: []string{"dynamodb:Query", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
			"dynamodb:DeleteItem", "dynamodb:ConditionCheckItem", "kms:Decrypt"},
		RunWith: SyncPSAConnections}
}

// PSASyncResult counts what one run of SyncPSAConnections did.
type PSASyncResult struct {
	Synced     int                  `json:"synced"`
	Failed     int                  `json:"failed"`
	Skipped    int                  `json:"skipped"`
	Counts     domain.PSASyncCounts `json:"counts"`
	Unfinished bool                 `json:"unfinished,omitempty"`
}

// SyncPSAConnections syncs every PSA connection due at now (system scope, page by page
// from the due index, no Scan) and sets its next sync. A PSA's failure is recorded on
// the connection and counted; it does not fail the run. A connection whose sync stops at
// the deadline stays due, and the next run resumes it from its cursor.
func SyncPSAConnections(ctx context.Context, d *Deps, now time.Time) (any, error) {
	var res PSASyncResult
	var firstErr error
	cursor := ""
	for {
		due, next, err := d.Store.SystemDuePSAConnections(ctx, now, store.Page{Limit: expiryPageSize, Cursor: cursor})
		if err != nil {
			return res, errors.Join(firstErr, err)
		}
		for _, c := range due {
			if stopping(ctx) {
				res.Unfinished = true
				return res, firstErr
			}
			conn, err := d.Store.GetConnection(ctx, c.OrganizationID, c.ID)
			if err != nil || conn.NextSyncAt == nil || conn.NextSyncAt.After(now) {
				res.Skipped++ // deleted or synced meanwhile
				continue
			}
			diff, err := syncPSA(ctx, d, c.OrganizationID, conn, false, func() bool { return stopping(ctx) })
			if err == nil {
				startTicketPulls(ctx, d, c.OrganizationID, []domain.PSALink{{ConnectionID: conn.ID}})
			}
			at := d.Store.Now()
			var failure *domain.Problem
			nextSync := at.Add(psaSyncEvery)
			switch {
			case err != nil && (psa.Temporary(err) || errors.Is(err, psa.ErrUnauthorized) || errors.Is(err, psa.ErrForbidden)):
				creds, _ := openCredentials(ctx, d, c.OrganizationID, conn)
				failure, nextSync = psaProblem(err, creds, at), at.Add(psaRetryEvery)
				res.Failed++
			case err != nil:
				res.Failed++
				if firstErr == nil {
					firstErr = fmt.Errorf("sync connection %s of %s: %w", conn.ID, c.OrganizationID, err)
				}
				continue
			case !diff.Complete:
				nextSync = at // resumes on the next run
				res.Unfinished = true
			default:
				res.Synced++
				addCounts(&res.Counts, diff.Counts)
			}
			if _, err := d.Store.SetPSAConnectionUse(ctx, c.OrganizationID, conn, failure, nextSync, at); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		if next == "" {
			return res, firstErr
		}
		cursor = next
	}
}

func addCounts(dst *domain.PSASyncCounts, c domain.PSASyncCounts) {
	dst.CreatedHere += c.CreatedHere
	dst.UpdatedHere += c.UpdatedHere
	dst.UpdatedInPSA += c.UpdatedInPSA
	dst.Conflicts += c.Conflicts
	dst.Held += c.Held
	dst.ProposedMatches += c.ProposedMatches
	dst.Unchanged += c.Unchanged
	dst.Failed += c.Failed
}
