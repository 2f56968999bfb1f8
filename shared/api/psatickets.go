package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/psa"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Tickets filed in a PSA (docs/psa.md, "Tickets"). A ticket of a customer linked to a
// PSA is written here first, queued, in the transaction that creates it; the request
// then pushes it with a short budget, and whatever that leaves queued (the PSA down,
// slow or refusing) the psa-ticket-sync schedule pushes later with backoff. The same
// schedule reads the tickets changed in each PSA since its cursor and brings their
// status changes back.
const (
	// psaPushBudget bounds a request's own push, well inside API Gateway's 30 s.
	psaPushBudget = 8 * time.Second
	// psaPushLease holds a ticket whose push is in flight away from the schedule.
	psaPushLease = 2 * time.Minute
	// psaRetryFirst doubles per attempt up to psaRetryMax (or the PSA's Retry-After).
	psaRetryFirst = time.Minute
	psaRetryMax   = time.Hour
	// psaTicketSyncRate is the schedule; psaPullEvery is how often one connection's
	// changes are read (a little under the rate, so every run reads them).
	psaTicketSyncRate = "rate(5 minutes)"
	psaPullEvery      = 4 * time.Minute
	// psaSearchSlack widens the search for a ticket whose create had no answer.
	psaSearchSlack = time.Minute
	// psaPullPages bounds the pages one connection's pull (or search) reads per run;
	// the cursor keeps the rest for the next.
	psaPullPages = 20
)

// psaTicketSyncJob is the schedule that pushes the queued tickets and pulls status
// changes. Its actions: the due indexes and the ticket lookups (Query), tickets,
// connections and customers (GetItem), the ticket writes with their audit events
// (BatchGetItem for the chain heads, PutItem, UpdateItem), the pull cursors (PutItem,
// DeleteItem) and the credentials (kms:Decrypt).
func psaTicketSyncJob() Job {
	return Job{Function: "psa-ticket-sync", Kind: "schedule", Schedule: psaTicketSyncRate,
		Summary: "Pushes the tickets queued for a PSA (retrying with backoff) and brings back the status changes made in each PSA",
		Actions: []string{"dynamodb:Query", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
			"dynamodb:DeleteItem", "kms:Decrypt"},
		RunWith: SyncPSATickets}
}

// psaTicketMaps are the status and priority maps of connection c: its own settings,
// else the vendor's defaults.
func psaTicketMaps(ctx context.Context, d *Deps, c domain.Connection) (domain.PSATicketSettings, error) {
	st, err := d.Store.PSATicketSettings(ctx, c.OrganizationID, c.ID)
	if err != nil {
		return st, err
	}
	return st.Resolve(c.Type), nil
}

// startTicketPulls starts the ticket pull of each PSA connection of links that has
// none, reading from now: tickets made in the PSA for a linked company come in though
// no ticket was ever filed from here. Called after every applied company sync (job and
// schedule), not by the requests that link (docs/decisions.md says why); a failure is
// logged, and the next applied sync starts it.
func startTicketPulls(ctx context.Context, d *Deps, orgID string, links []domain.PSALink) {
	now := d.Store.Now()
	for _, l := range links {
		if err := d.Store.EnsurePSATicketPull(ctx, orgID, l.ConnectionID, now.Add(-psaSearchSlack), now); err != nil {
			slog.WarnContext(ctx, "start the psa ticket pull", "organizationId", orgID, "connectionId", l.ConnectionID, "err", err.Error())
		}
	}
}

// newTicketPSA is the PSA state of a new ticket of customer c, now: filed under the
// customer's first PSA link, queued and held by the request that pushes it. nil when
// the customer has no link.
func newTicketPSA(c domain.Customer, now time.Time) *domain.TicketPSA {
	if len(c.PSALinks) == 0 {
		return nil
	}
	l := c.PSALinks[0]
	lease := now.Add(psaPushLease)
	return &domain.TicketPSA{ConnectionID: l.ConnectionID, Type: l.Type, CompanyID: l.ExternalID, State: domain.PSAQueued,
		Attempts: 1, NextAttemptAt: &lease, CreateStartedAt: &now}
}

// queueTicketPush queues t for a push when a change the PSA holds (subject,
// description, status, priority) was made to it, held by the request that pushes it now.
func queueTicketPush(t *domain.Ticket, before domain.Ticket, now time.Time) {
	if t.PSA == nil || samePushed(*t, before) {
		return
	}
	p := *t.PSA
	lease := now.Add(psaPushLease)
	p.State, p.Attempts, p.NextAttemptAt = domain.PSAQueued, 1, &lease
	if p.TicketID == "" && p.CreateStartedAt == nil {
		p.CreateStartedAt = &now
	}
	t.PSA = &p
}

// samePushed reports whether a and b agree on what a push writes to the PSA.
func samePushed(a, b domain.Ticket) bool {
	return a.Subject == b.Subject && a.Description == b.Description && a.Status == b.Status && a.Priority == b.Priority
}

// pushTicketNow is a request's push of t, within psaPushBudget and beyond the client's
// going away: it answers the ticket as recorded afterwards, or t when that could not
// be recorded (the ticket stays queued and the schedule takes it up).
func pushTicketNow(ctx context.Context, d *Deps, orgID string, t domain.Ticket, fresh bool) domain.Ticket {
	if !t.PSA.Pending() {
		return t
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), psaPushBudget)
	defer cancel()
	next, err := pushTicket(pctx, d, orgID, t, fresh)
	if err != nil {
		slog.WarnContext(ctx, "psa ticket push not recorded", "organizationId", orgID, "ticketId", t.ID, "err", err.Error())
		return t
	}
	return next
}

// pushOutcome is what one push learned.
type pushOutcome struct {
	pushed    domain.Ticket // the ticket as pushed
	ticketID  string        // the PSA's id, when this push created or found the ticket
	companyID string        // the PSA company it was filed under
	status    string        // the vendor status the PSA holds now
	vendor    string
	err       error
	problem   *domain.Problem
	// ambiguous: a create may have reached the PSA without an answer, so the next
	// attempt searches first.
	ambiguous  bool
	retryAfter time.Duration
}

// pushTicket writes t to its PSA (creating it there, or finding the ticket an earlier
// unanswered create made) and records the outcome on t in the same write that learns
// the PSA's id. fresh says t's CreateStartedAt was set by the caller's own write, so
// no create was sent before and there is nothing to look for. A PSA failure is
// recorded, not returned; the error is the store's.
func pushTicket(ctx context.Context, d *Deps, orgID string, t domain.Ticket, fresh bool) (domain.Ticket, error) {
	out := pushOnce(ctx, d, orgID, t, fresh)
	return recordPush(ctx, d, orgID, t, out)
}

func pushOnce(ctx context.Context, d *Deps, orgID string, t domain.Ticket, fresh bool) pushOutcome {
	p := *t.PSA
	now := d.Store.Now()
	out := pushOutcome{pushed: t, companyID: p.CompanyID, vendor: connectionTypeName(p.Type),
		ambiguous: p.TicketID == "" && p.CreateStartedAt != nil && !fresh}
	fail := func(code, msg string) pushOutcome {
		out.err = errors.New(msg)
		out.problem = &domain.Problem{Code: code, Message: msg, At: now}
		return out
	}
	conn, err := d.Store.GetConnection(ctx, orgID, p.ConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		return fail("psa-connection-removed", "the PSA connection this ticket is filed with was removed; link the customer to a PSA connection again")
	}
	if err != nil {
		out.err, out.problem = err, &domain.Problem{Code: "psa-error", Message: "the PSA connection could not be read", At: now}
		return out
	}
	creds, err := openCredentials(ctx, d, orgID, conn)
	if err != nil {
		out.err, out.problem = err, credentialsUnreadable(ctx, conn, err, now)
		return out
	}
	c, err := psaConnectorWith(d.psaEndpoints(), conn, creds)
	if err != nil {
		return fail("psa-error", err.Error())
	}
	maps, err := psaTicketMaps(ctx, d, conn)
	if err != nil {
		out.err, out.problem = err, &domain.Problem{Code: "psa-error", Message: "the connection's ticket settings could not be read", At: now}
		return out
	}
	want := psa.Ticket{ID: p.TicketID, Summary: t.Subject, Description: t.Description, Status: maps.StatusMap.Out(t.Status),
		Priority: maps.PriorityMap.Out(t.Priority)}
	var got psa.Ticket
	if p.TicketID != "" {
		got, err = c.UpdateTicket(ctx, want)
	} else {
		if out.companyID, err = ticketCompany(ctx, d, orgID, t); err != nil {
			return fail("psa-customer-unlinked", err.Error())
		}
		want.CompanyID = out.companyID
		found := false
		if out.ambiguous {
			got, found, err = findCreatedTicket(ctx, d, orgID, conn.ID, c, want, p.CreateStartedAt.Add(-psaSearchSlack))
		}
		if err == nil && !found {
			got, err = c.CreateTicket(ctx, want)
			// Only an answer settles a create: a 5xx or no answer may come after the
			// PSA made it. A 429 or a refusal made nothing.
			var un *psa.UnavailableError
			out.ambiguous = errors.As(err, &un) || (err != nil && ctx.Err() != nil)
		}
		if err == nil {
			out.ticketID = got.ID
		}
	}
	if err != nil {
		var rl *psa.RateLimitedError
		if errors.As(err, &rl) {
			out.retryAfter = rl.RetryAfter
		}
		out.err, out.problem = err, psaProblem(err, creds, now)
		return out
	}
	out.status = got.Status
	return out
}

// ticketCompany is the PSA company a ticket not yet in the PSA is filed under: its
// customer's link on the ticket's connection as it is now (a merge may have moved the
// ticket to a customer with another record), else the one it was queued with.
func ticketCompany(ctx context.Context, d *Deps, orgID string, t domain.Ticket) (string, error) {
	cust, err := d.Store.GetCustomer(ctx, orgID, t.CustomerID)
	if err != nil {
		return "", fmt.Errorf("the ticket's customer could not be read: %w", err)
	}
	for _, l := range cust.Customer.PSALinks {
		if l.ConnectionID == t.PSA.ConnectionID {
			return l.ExternalID, nil
		}
	}
	if t.PSA.CompanyID == "" {
		return "", errors.New("the ticket's customer is no longer linked to this PSA connection")
	}
	return t.PSA.CompanyID, nil
}

// findCreatedTicket looks in the PSA for a ticket an unanswered create made: one of
// the same company and summary changed since, that no other ticket here is filed as.
// The connector interface has no search by a ticket's own reference, so this reads the
// tickets changed since (docs/psa.md names the limit).
func findCreatedTicket(ctx context.Context, d *Deps, orgID, connectionID string, c psa.Connector, want psa.Ticket, since time.Time) (psa.Ticket, bool, error) {
	cursor := ""
	for range psaPullPages {
		page, err := c.TicketsChangedSince(ctx, since, cursor)
		if err != nil {
			return psa.Ticket{}, false, err
		}
		for _, rt := range page.Tickets {
			if rt.CompanyID != want.CompanyID || !sameSummary(rt.Summary, want.Summary) {
				continue
			}
			if _, err := d.Store.FindPSATicket(ctx, orgID, connectionID, rt.ID); err == nil {
				continue // another ticket's
			} else if !errors.Is(err, store.ErrNotFound) {
				return psa.Ticket{}, false, err
			}
			return rt, true, nil
		}
		if page.Next == "" {
			return psa.Ticket{}, false, nil
		}
		cursor = page.Next
	}
	return psa.Ticket{}, false, errors.New("too many tickets changed since the unanswered create to look through")
}

// sameSummary compares a PSA's summary with a subject the PSA may have shortened
// (ConnectWise keeps 100 characters).
func sameSummary(remote, subject string) bool {
	return remote == subject || (len([]rune(remote)) >= 100 && strings.HasPrefix(subject, remote))
}

// recordPush records out on the ticket, reading it again while it changes under the
// write, so a PSA id learned is never lost. A ticket changed since it was pushed stays
// queued for the next push.
func recordPush(ctx context.Context, d *Deps, orgID string, t domain.Ticket, out pushOutcome) (domain.Ticket, error) {
	now := d.Store.Now()
	for range 5 {
		next, err := d.Store.RecordTicketPSA(ctx, orgID, t, func(nt *domain.Ticket) *audit.Event { return out.apply(ctx, orgID, nt, now) })
		if err == nil && next.PSA.TicketID != "" {
			// Status changes made in the PSA come back from now on; the first pull
			// reads from a little before the ticket was made.
			err = d.Store.EnsurePSATicketPull(ctx, orgID, next.PSA.ConnectionID, next.CreatedAt.Add(-psaSearchSlack), now)
		}
		if err == nil || (!errors.Is(err, store.ErrNotFound) && !isStale(err)) {
			return next, err
		}
		id := t.ID
		if t, err = d.Store.GetTicket(ctx, orgID, t.CustomerID, id); err != nil {
			return domain.Ticket{}, fmt.Errorf("read ticket %s again to record its push: %w", id, err)
		}
		if t.PSA == nil {
			return t, nil
		}
	}
	return domain.Ticket{}, fmt.Errorf("record the push of ticket %s: changed concurrently five times", t.ID)
}

// isStale reports a write that lost to a concurrent change of the ticket.
func isStale(err error) bool {
	var pe *problem.Error
	return errors.As(err, &pe) && pe.Code == "stale-version"
}

// apply sets the outcome on nt's PSA state; it answers the audit event of a ticket
// filed in the PSA, nil for bookkeeping (an attempt, an error, a status written).
func (out pushOutcome) apply(ctx context.Context, orgID string, nt *domain.Ticket, now time.Time) *audit.Event {
	p := *nt.PSA
	defer func() { nt.PSA = &p }()
	var ev *audit.Event
	if out.ticketID != "" && p.TicketID == "" {
		p.TicketID, p.CompanyID = out.ticketID, out.companyID
		e := audit.New(ctx, orgID, audit.Customer, "ticket.psa-filed",
			fmt.Sprintf("filed ticket %q in %s as ticket %s", nt.Subject, out.vendor, out.ticketID))
		e.Targets = ticketTargets(nt.CustomerID, nt.TenantID)
		ev = &e
	}
	if out.err == nil {
		p.Status, p.LastError, p.CreateStartedAt, p.SyncedAt = out.status, nil, nil, &now
		p.State, p.NextAttemptAt = domain.PSASynced, nil
		if !samePushed(*nt, out.pushed) {
			p.State, p.NextAttemptAt = domain.PSAQueued, &now // changed meanwhile: push again
		}
		return ev
	}
	p.LastError = out.problem
	p.State = domain.PSAFailed
	if psa.Temporary(out.err) || out.problem.Code == "psa-error" {
		p.State = domain.PSAQueued
	}
	if !out.ambiguous {
		p.CreateStartedAt = nil
	}
	wait := min(psaRetryFirst<<min(max(p.Attempts-1, 0), 10), psaRetryMax)
	wait = max(wait, out.retryAfter)
	due := now.Add(wait)
	p.NextAttemptAt = &due
	return ev
}

// PSATicketSyncResult counts what one run of SyncPSATickets did.
type PSATicketSyncResult struct {
	// Pushed tickets are in the PSA as they are here; Queued ones failed again and
	// wait for their next attempt; Skipped ones were taken or changed meanwhile.
	Pushed  int `json:"pushed"`
	Queued  int `json:"queued"`
	Skipped int `json:"skipped"`
	// Pulled counts the connections read; StatusChanges the tickets whose status a
	// PSA changed.
	Pulled        int `json:"pulled"`
	StatusChanges int `json:"statusChanges"`
	// Imported counts the tickets made in a PSA alone imported for their linked
	// customer; Unlinked those skipped, their PSA company linked to no customer.
	Imported int `json:"imported"`
	Unlinked int `json:"unlinked"`
	Failed   int `json:"failed"`
	// Unfinished: the run stopped at its deadline; the next one goes on.
	Unfinished bool `json:"unfinished,omitempty"`
}

// SyncPSATickets pushes every ticket due at now (system scope, page by page from the
// due index), then reads the tickets changed in each PSA whose pull is due. A PSA's
// failure is recorded on the ticket or left for the next pull; a store failure is
// counted and the first returned.
func SyncPSATickets(ctx context.Context, d *Deps, now time.Time) (any, error) {
	var res PSATicketSyncResult
	var firstErr error
	note := func(err error) {
		res.Failed++
		if firstErr == nil {
			firstErr = err
		}
	}
	for cursor := ""; ; {
		if stopping(ctx) {
			res.Unfinished = true
			return res, firstErr
		}
		due, next, err := d.Store.SystemDuePSATickets(ctx, now, store.Page{Limit: expiryPageSize, Cursor: cursor})
		if err != nil {
			return res, errors.Join(firstErr, err)
		}
		for _, ref := range due {
			if stopping(ctx) {
				res.Unfinished = true
				return res, firstErr
			}
			if err := retryTicket(ctx, d, ref, now, &res); err != nil {
				slog.ErrorContext(ctx, "psa ticket push", "organizationId", ref.OrganizationID, "ticketId", ref.TicketID, "err", err.Error())
				note(err)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	for cursor := ""; ; {
		pulls, next, err := d.Store.SystemDuePSATicketPulls(ctx, now, store.Page{Limit: expiryPageSize, Cursor: cursor})
		if err != nil {
			return res, errors.Join(firstErr, err)
		}
		for _, p := range pulls {
			if stopping(ctx) {
				res.Unfinished = true
				return res, firstErr
			}
			n, err := pullTicketStatuses(ctx, d, p, now)
			res.StatusChanges += n.changed
			res.Imported += n.imported
			res.Unlinked += n.unlinked
			if err != nil {
				slog.WarnContext(ctx, "psa ticket pull", "organizationId", p.OrganizationID, "connectionId", p.ConnectionID, "err", err.Error())
				note(err)
				continue
			}
			res.Pulled++
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return res, firstErr
}

// retryTicket claims one queued ticket (the claim write holds it for psaPushLease and
// counts the attempt, so overlapping runs never push it twice at once) and pushes it.
func retryTicket(ctx context.Context, d *Deps, ref store.PSATicketRef, now time.Time, res *PSATicketSyncResult) error {
	org := ref.OrganizationID
	t, err := d.Store.GetTicket(ctx, org, ref.CustomerID, ref.TicketID)
	if errors.Is(err, store.ErrNotFound) {
		// Gone with its customer: forget it. Merely moving (a merge) keeps the customer.
		if _, cerr := d.Store.GetCustomer(ctx, org, ref.CustomerID); errors.Is(cerr, store.ErrNotFound) {
			res.Skipped++
			return d.Store.DeletePSATicketRef(ctx, org, ref.CustomerID, ref.TicketID)
		}
		res.Skipped++
		return nil
	}
	if err != nil {
		return err
	}
	if !t.PSA.Pending() || (t.PSA.NextAttemptAt != nil && t.PSA.NextAttemptAt.After(now)) {
		res.Skipped++
		return nil
	}
	fresh := t.PSA.TicketID == "" && t.PSA.CreateStartedAt == nil
	claimed, err := d.Store.RecordTicketPSA(ctx, org, t, func(nt *domain.Ticket) *audit.Event {
		p := *nt.PSA
		lease := now.Add(psaPushLease)
		p.Attempts, p.NextAttemptAt = p.Attempts+1, &lease
		if p.TicketID == "" && p.CreateStartedAt == nil {
			p.CreateStartedAt = &now
		}
		nt.PSA = &p
		return nil
	})
	if errors.Is(err, store.ErrNotFound) || isStale(err) {
		res.Skipped++ // taken or changed meanwhile; the next run sees it again
		return nil
	}
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, psaPushBudget)
	defer cancel()
	after, err := pushTicket(pctx, d, org, claimed, fresh)
	if err != nil {
		return err
	}
	if after.PSA.State == domain.PSASynced {
		res.Pushed++
	} else {
		res.Queued++
	}
	return nil
}

// pullCounts is what one connection's pull did.
type pullCounts struct {
	changed, imported, unlinked int
}

// remoteOutcome is what one PSA ticket read back did here.
type remoteOutcome int

const (
	remoteNothing  remoteOutcome = iota
	remoteChanged                // the status of the ticket filed as it moved
	remoteImported               // made in the PSA alone, imported as a ticket of its customer
	remoteUnlinked               // made in the PSA for a company no customer links: skipped
)

// pullTicketStatuses reads the tickets changed in one PSA since its cursor: each
// status change comes back to the ticket filed as it, and a ticket made in the PSA
// alone for a linked company is imported. A ticket with a local change still queued
// keeps it (the push writes it over the PSA's). The cursor advances only when every
// change was applied, so a failure is read again next time.
func pullTicketStatuses(ctx context.Context, d *Deps, p store.PSATicketPull, now time.Time) (pullCounts, error) {
	var n pullCounts
	org := p.OrganizationID
	conn, err := d.Store.GetConnection(ctx, org, p.ConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		return n, d.Store.SavePSATicketPull(ctx, p, true)
	}
	if err != nil {
		return n, err
	}
	maps, err := psaTicketMaps(ctx, d, conn)
	if err != nil {
		return n, err
	}
	c, err := psaConnector(ctx, d, org, conn)
	if err != nil {
		return n, err
	}
	pctx, cancel := context.WithTimeout(ctx, 4*psaPushBudget)
	defer cancel()
	high, cursor := p.Since, p.Cursor
	var failed error
	for range psaPullPages {
		page, err := c.TicketsChangedSince(pctx, p.Since, cursor)
		if err != nil {
			failed = err
			break
		}
		for _, rt := range page.Tickets {
			out, err := applyRemoteTicket(ctx, d, conn, maps, rt, now)
			switch {
			case err != nil:
				failed = err
			case out == remoteChanged:
				n.changed++
			case out == remoteImported:
				n.imported++
			case out == remoteUnlinked:
				n.unlinked++
			}
		}
		if page.HighWater.After(high) {
			high = page.HighWater
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	next := p
	next.NextPullAt = now.Add(psaPullEvery)
	if failed == nil {
		next.Cursor = cursor
		if cursor == "" {
			next.Since = high
		}
	}
	if err := d.Store.SavePSATicketPull(ctx, next, false); err != nil {
		return n, err
	}
	return n, failed
}

// applyRemoteTicket brings one PSA ticket's status to the ticket filed as it, or
// imports it when it was made in the PSA alone.
func applyRemoteTicket(ctx context.Context, d *Deps, conn domain.Connection, maps domain.PSATicketSettings, rt psa.Ticket, now time.Time) (remoteOutcome, error) {
	org := conn.OrganizationID
	ref, err := d.Store.FindPSATicket(ctx, org, conn.ID, rt.ID)
	if errors.Is(err, store.ErrNotFound) {
		return importRemoteTicket(ctx, d, conn, maps, rt, now)
	}
	if err != nil {
		return remoteNothing, err
	}
	for range 5 {
		t, err := d.Store.GetTicket(ctx, org, ref.CustomerID, ref.TicketID)
		if errors.Is(err, store.ErrNotFound) {
			return remoteNothing, nil // deleted, or moving in a merge: read again next time
		}
		if err != nil {
			return remoteNothing, err
		}
		if t.PSA == nil || t.PSA.TicketID != rt.ID || t.PSA.Pending() || strings.EqualFold(t.PSA.Status, rt.Status) {
			return remoteNothing, nil
		}
		status, known := maps.StatusMap.In(rt.Status, t.Status)
		moved := false
		_, err = d.Store.RecordTicketPSA(ctx, org, t, func(nt *domain.Ticket) *audit.Event {
			p := *nt.PSA
			p.Status, p.SyncedAt = rt.Status, &now
			nt.PSA = &p
			if !known || status == nt.Status {
				return nil
			}
			before := *nt
			nt.Status, moved = status, true
			ev := audit.New(ctx, org, audit.Customer, "ticket.status", fmt.Sprintf("%s moved ticket %q from %s to %s",
				connectionTypeName(conn.Type), nt.Subject, before.Status, status))
			ev.Targets = ticketTargets(nt.CustomerID, nt.TenantID)
			ev.Changes = diff(fieldsOfTicket(before), fieldsOfTicket(*nt))
			return &ev
		})
		if err == nil {
			if moved {
				return remoteChanged, nil
			}
			return remoteNothing, nil
		}
		if !errors.Is(err, store.ErrNotFound) && !isStale(err) {
			return remoteNothing, err
		}
	}
	return remoteNothing, fmt.Errorf("ticket %s changed concurrently five times", ref.TicketID)
}

// psaPendingLook bounds the pending tickets of a connection an import compares with.
const psaPendingLook = 100

// importRemoteTicket imports a ticket made in the PSA alone as a ticket of the
// customer linked to its company. It is idempotent by connection and PSA ticket id:
// the ticket's id here is derived from them (a second import's write finds it), and
// it is filed under that PSA id, so the next pull finds it as any filed ticket. A
// ticket a create of ours made, whose answer has not been recorded, is not imported:
// the pending creates of the connection are read first, then the PSA id looked up
// again, so a push that records it meanwhile is seen either way.
func importRemoteTicket(ctx context.Context, d *Deps, conn domain.Connection, maps domain.PSATicketSettings, rt psa.Ticket, now time.Time) (remoteOutcome, error) {
	org := conn.OrganizationID
	pending, err := d.Store.PendingPSATickets(ctx, org, conn.ID, psaPendingLook)
	if err != nil {
		return remoteNothing, err
	}
	for _, ref := range pending {
		t, err := d.Store.GetTicket(ctx, org, ref.CustomerID, ref.TicketID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return remoteNothing, err
		}
		if t.PSA != nil && t.PSA.TicketID == "" && t.PSA.CreateStartedAt != nil && sameSummary(rt.Summary, t.Subject) {
			return remoteNothing, nil // ours, awaiting its create's answer: the push links it
		}
	}
	if _, err := d.Store.FindPSATicket(ctx, org, conn.ID, rt.ID); err == nil {
		return remoteNothing, nil // recorded by a push meanwhile
	} else if !errors.Is(err, store.ErrNotFound) {
		return remoteNothing, err
	}
	customerID, err := d.Store.LookupCustomerKey(ctx, org, "psa", conn.ID+"#"+rt.CompanyID)
	if errors.Is(err, store.ErrNotFound) {
		return remoteUnlinked, nil
	}
	if err != nil {
		return remoteNothing, err
	}
	t := importedTicket(conn, maps, rt, customerID, now)
	vendor := connectionTypeName(conn.Type)
	ev := audit.New(ctx, org, audit.Customer, "ticket.psa-import",
		fmt.Sprintf("%s made ticket %s %q; imported for its linked customer", vendor, rt.ID, t.Subject))
	ev.Targets = ticketTargets(t.CustomerID, t.TenantID)
	err = d.Store.CreateTicket(ctx, org, t, ev)
	var te *store.TxError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return remoteNothing, nil // the customer went meanwhile
	case errors.As(err, &te) && te.ConditionFailed(0):
		return remoteNothing, nil // imported by an overlapping run
	case err != nil:
		return remoteNothing, err
	}
	return remoteImported, nil
}

// importedTicket is the ticket here of PSA ticket rt of customer customerID: its
// subject, description, status and priority as the maps read them (the defaults for
// a value they do not name), filed and synced under rt's id.
func importedTicket(conn domain.Connection, maps domain.PSATicketSettings, rt psa.Ticket, customerID string, now time.Time) domain.Ticket {
	status, _ := maps.StatusMap.In(rt.Status, domain.TicketOpen)
	priority, _ := maps.PriorityMap.In(rt.Priority, domain.PriorityNormal)
	subject := strings.TrimSpace(domain.Truncate(rt.Summary, domain.MaxNameLength))
	if subject == "" {
		subject = fmt.Sprintf("%s ticket %s", connectionTypeName(conn.Type), rt.ID)
	}
	t := domain.Ticket{ID: domain.DerivedID("psa-ticket", conn.OrganizationID, conn.ID, rt.ID), CustomerID: customerID,
		Subject: subject, Description: strings.TrimSpace(domain.Truncate(rt.Description, domain.MaxTicketDescription)),
		Status: status, Priority: priority, CreatedAt: now, UpdatedAt: now,
		PSA: &domain.TicketPSA{ConnectionID: conn.ID, Type: conn.Type, CompanyID: rt.CompanyID, TicketID: rt.ID,
			State: domain.PSASynced, Status: rt.Status, SyncedAt: &now}}
	if !domain.TicketActive(t.Status) {
		t.ResolvedAt = &now
	}
	return t
}
