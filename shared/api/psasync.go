package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/psa"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// The PSA sync (docs/psa.md, "Sync"). Each link keeps a baseline: the fields both
// sides held after the last sync. Per field, a side that differs from the baseline
// changed; a change on one side is copied to the other, a change on both is a conflict
// for the connection's policy. Without a baseline (a link just accepted) every field
// that differs is a conflict. Creates here are keyed by the link's uniqueness claim
// (connection + PSA id), so a run that died half-way and runs again creates nothing
// twice; the state's run records the page cursor it resumes from.

// psaSyncEvery is how often the schedule syncs each PSA connection, psaRetryEvery how
// soon after a failure, and psaSyncRate how often the schedule looks.
const (
	psaSyncEvery  = time.Hour
	psaRetryEvery = 15 * time.Minute
	psaSyncRate   = "rate(15 minutes)"
)

// psaChange is a change of a linked record's fields, here or in the PSA.
type psaChange struct {
	CustomerID   string           `json:"customerId"`
	CustomerName string           `json:"customerName"`
	ExternalID   string           `json:"externalId"`
	From         domain.PSAFields `json:"from"`
	To           domain.PSAFields `json:"to"`
}

// psaCreate is a customer created here from a PSA company.
type psaCreate struct {
	ExternalID string `json:"externalId"`
	Name       string `json:"name"`
	// CustomerID is set once it is created (not in a dry run).
	CustomerID string `json:"customerId,omitempty"`
}

// psaConflict is a record changed on both sides, and what the policy does with it.
type psaConflict struct {
	CustomerID   string           `json:"customerId"`
	CustomerName string           `json:"customerName"`
	ExternalID   string           `json:"externalId"`
	Fields       []string         `json:"fields"`
	Local        domain.PSAFields `json:"local"`
	PSA          domain.PSAFields `json:"psa"`
	// Resolution is the policy applied: psa-wins, switchboard-wins or hold.
	Resolution string `json:"resolution"`
}

// psaFailure is one record the sync could not write; the next sync tries again.
type psaFailure struct {
	ExternalID string `json:"externalId"`
	CustomerID string `json:"customerId,omitempty"`
	Message    string `json:"message"`
}

// psaDiff is what a sync did or, in a dry run, would do.
type psaDiff struct {
	DryRun         bool                 `json:"dryRun"`
	ConflictPolicy string               `json:"conflictPolicy"`
	Since          *time.Time           `json:"since,omitempty"`
	CreatesHere    []psaCreate          `json:"createsHere"`
	UpdatesHere    []psaChange          `json:"updatesHere"`
	UpdatesInPSA   []psaChange          `json:"updatesInPsa"`
	Conflicts      []psaConflict        `json:"conflicts"`
	Matches        []psaMatch           `json:"proposedMatches"`
	Failures       []psaFailure         `json:"failures"`
	Counts         domain.PSASyncCounts `json:"counts"`
	// Complete is false when the run stopped at its deadline; it resumes from its cursor.
	Complete bool `json:"complete"`
}

func newPSADiff(dryRun bool, policy string) *psaDiff {
	return &psaDiff{DryRun: dryRun, ConflictPolicy: policy, CreatesHere: []psaCreate{}, UpdatesHere: []psaChange{},
		UpdatesInPSA: []psaChange{}, Conflicts: []psaConflict{}, Matches: []psaMatch{}, Failures: []psaFailure{}}
}

// maxDiffItems bounds each list of a diff (the counts count them all), so an answer
// or a job result stays small.
const maxDiffItems = 200

func capped[T any](s []T, v T) []T {
	if len(s) >= maxDiffItems {
		return s
	}
	return append(s, v)
}

// psaSyncer is one sync of one connection.
type psaSyncer struct {
	d      *Deps
	orgID  string
	conn   domain.Connection
	psa    psa.Connector
	fields psa.Fields // the optional fields the connector syncs
	dryRun bool
	read   store.PSASyncRead
	// linked are the active customers linked on this connection, by PSA id;
	// candidates the active customers without a link on it.
	linked     map[string]domain.Customer
	candidates []matchCandidate
	seen       map[string]bool
	diff       *psaDiff
	// stop reports whether the run should stop and resume later (a job's or a
	// schedule's deadline).
	stop func() bool
}

// newPSASyncer reads what a sync of conn needs: its sync state and every active customer.
func newPSASyncer(ctx context.Context, d *Deps, orgID string, conn domain.Connection, dryRun bool) (*psaSyncer, error) {
	c, err := psaConnector(ctx, d, orgID, conn)
	if err != nil {
		return nil, err
	}
	read, err := d.Store.PSASync(ctx, orgID, conn.ID)
	if err != nil {
		return nil, err
	}
	s := &psaSyncer{d: d, orgID: orgID, conn: conn, psa: c, fields: psa.SyncedFields(c), dryRun: dryRun, read: read, linked: map[string]domain.Customer{},
		seen: map[string]bool{}, diff: newPSADiff(dryRun, read.State.ConflictPolicy), stop: func() bool { return false }}
	if err := s.loadCustomers(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// loadCustomers reads the organization's active customers, a page at a time.
func (s *psaSyncer) loadCustomers(ctx context.Context) error {
	s.linked = map[string]domain.Customer{}
	var unlinked []domain.Customer
	cursor := ""
	for {
		page, next, err := s.d.Store.ListCustomers(ctx, s.orgID, store.CustomerQuery{Page: store.Page{Limit: store.MaxLimit, Cursor: cursor}})
		if err != nil {
			return fmt.Errorf("read customers: %w", err)
		}
		for _, c := range page {
			if l, ok := linkOn(c, s.conn.ID); ok {
				s.linked[l.ExternalID] = c
			} else {
				unlinked = append(unlinked, c)
			}
		}
		if next == "" {
			s.candidates = newCandidates(unlinked)
			return nil
		}
		cursor = next
	}
}

// linkOn is c's link on connection connID, if any.
func linkOn(c domain.Customer, connID string) (domain.PSALink, bool) {
	for _, l := range c.PSALinks {
		if l.ConnectionID == connID {
			return l, true
		}
	}
	return domain.PSALink{}, false
}

// fieldsOf are a customer's synced fields.
func fieldsOf(c domain.Customer) domain.PSAFields { return c.PSAFields() }

// psaFieldsOf are a PSA company's synced fields as Switchboard would hold them: a name
// and address parts cut to the customers' limits, a website without a scheme (as PSAs
// keep them) read as https, and a phone or website Switchboard would refuse replaced by
// local's (that field is then not synced for this record). Fields the vendor's
// connector does not sync (sf) are local's, so they never differ.
func psaFieldsOf(c psa.Company, local domain.PSAFields, sf psa.Fields) domain.PSAFields {
	f := domain.PSAFields{Name: domain.CutRunes(strings.TrimSpace(c.Name), domain.MaxNameLength), Phone: strings.TrimSpace(c.Phone),
		Website: local.Website, PostalAddress: local.PostalAddress}
	if f.Phone != "" && !domain.ValidPhone(f.Phone) {
		f.Phone = local.Phone
	}
	if sf.Website {
		f.Website = psaWebsite(c.Domain, local.Website)
	}
	if sf.Address {
		f.PostalAddress = domain.PostalAddress{Line1: c.Address1, Line2: c.Address2, City: c.City, State: c.State,
			PostalCode: c.PostalCode, Country: local.PostalAddress.Country}
		if sf.Country {
			f.PostalAddress.Country = c.Country
		}
		f.PostalAddress.Cut()
	}
	return f
}

// psaWebsite is a PSA's website as a customer holds it; local's when it is not one.
func psaWebsite(s, local string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	if !domain.ValidWebsite(s) {
		return local
	}
	return s
}

// companyWith is c with the synced fields f, those the vendor's connector writes (sf).
func companyWith(c psa.Company, f domain.PSAFields, sf psa.Fields) psa.Company {
	c.Name, c.Phone = f.Name, f.Phone
	if sf.Website {
		c.Domain = f.Website
	}
	if sf.Address {
		a := f.PostalAddress
		c.Address1, c.Address2, c.City, c.State, c.PostalCode = a.Line1, a.Line2, a.City, a.State, a.PostalCode
	}
	if sf.Country {
		c.Country = f.PostalAddress.Country
	}
	return c
}

// run syncs: the pages of PSA companies changed since the last sync (from the run in
// progress, if one died), then the local changes of linked customers the PSA did not
// list. A dry run reads everything and writes nothing.
func (s *psaSyncer) run(ctx context.Context) error {
	st := s.read.State
	run := st.Run
	if run == nil || s.dryRun {
		run = &domain.PSASyncRun{Since: st.Since, StartedAt: s.d.Store.Now()}
	}
	if !run.Since.IsZero() {
		since := run.Since
		s.diff.Since = &since
	}
	for !run.PagesDone {
		page, err := s.psa.CompaniesChangedSince(ctx, run.Since, run.Cursor)
		if err != nil {
			return fmt.Errorf("list %s companies: %w", s.conn.Type, err)
		}
		for _, c := range page.Companies {
			if err := s.company(ctx, c); err != nil {
				return err
			}
		}
		if page.HighWater.After(run.HighWater) {
			run.HighWater = page.HighWater
		}
		run.Cursor, run.Pages = page.Next, run.Pages+1
		run.PagesDone = page.Next == ""
		if err := s.saveRun(ctx, run); err != nil {
			return err
		}
		if !run.PagesDone && s.stop() {
			return nil
		}
	}
	if err := s.localChanges(ctx); err != nil {
		return err
	}
	s.diff.Complete = true
	if s.dryRun {
		return nil
	}
	now := s.d.Store.Now()
	st = s.read.State
	if run.HighWater.After(st.Since) {
		st.Since = run.HighWater
	}
	counts := s.diff.Counts
	st.Run, st.LastSyncAt, st.LastResult = nil, &now, &counts
	next, err := s.d.Store.PutPSASyncState(ctx, s.orgID, st, nil)
	if err != nil {
		return err
	}
	s.read.State = next
	return nil
}

// saveRun records the run's progress, so a run that dies resumes after this page.
func (s *psaSyncer) saveRun(ctx context.Context, run *domain.PSASyncRun) error {
	if s.dryRun {
		return nil
	}
	st := s.read.State
	r := *run
	st.Run = &r
	next, err := s.d.Store.PutPSASyncState(ctx, s.orgID, st, nil)
	if err != nil {
		return err
	}
	s.read.State = next
	return nil
}

// company syncs one PSA company.
func (s *psaSyncer) company(ctx context.Context, c psa.Company) error {
	s.seen[c.ID] = true
	if cu, ok := s.linked[c.ID]; ok {
		return s.reconcile(ctx, cu, c)
	}
	// Not linked to an active customer: propose it to a likely match, else create it,
	// unless an archived customer holds the link or a run created it meanwhile.
	if m := proposeMatches(c, s.candidates); len(m) > 0 {
		s.diff.Counts.ProposedMatches++
		for _, p := range m {
			s.diff.Matches = capped(s.diff.Matches, p)
		}
		return nil
	}
	if _, err := s.d.Store.LookupCustomerKey(ctx, s.orgID, "psa", s.conn.ID+"#"+c.ID); err == nil {
		s.diff.Counts.Unchanged++
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return s.create(ctx, c)
}

// create makes a customer here for the PSA company c, linked to it.
func (s *psaSyncer) create(ctx context.Context, c psa.Company) error {
	f := psaFieldsOf(c, domain.PSAFields{}, s.fields)
	out := psaCreate{ExternalID: c.ID, Name: f.Name}
	if f.Name == "" {
		s.fail(c.ID, "", "the PSA company has no name")
		return nil
	}
	if s.dryRun {
		s.diff.Counts.CreatedHere++
		s.diff.CreatesHere = capped(s.diff.CreatesHere, out)
		return nil
	}
	now := s.d.Store.Now()
	cu := domain.Customer{ID: domain.NewID(), CreatedAt: now, UpdatedAt: now,
		PSALinks: []domain.PSALink{{ConnectionID: s.conn.ID, Type: s.conn.Type, ExternalID: c.ID}}}
	cu.SetPSAFields(f) // the one-line address is the parts' rendering
	ev := audit.New(ctx, s.orgID, audit.Customer, "customer.create",
		fmt.Sprintf("created customer %q from %s company %s", cu.Name, connectionTypeName(s.conn.Type), c.ID))
	ev.Targets.CustomerIDs = []string{cu.ID}
	err := s.d.Store.CreateCustomer(ctx, s.orgID, cu, ev)
	var dup *store.DuplicateKeyError
	switch {
	case errors.As(err, &dup):
		s.diff.Counts.Unchanged++ // created by an earlier run that died before its checkpoint
		return nil
	case err != nil && psaRecordError(err):
		s.fail(c.ID, "", duplicateKeyProblem(err).Error())
		return nil
	case err != nil:
		return err
	}
	cu.Version = 1
	s.linked[c.ID] = cu
	out.CustomerID = cu.ID
	s.diff.Counts.CreatedHere++
	s.diff.CreatesHere = capped(s.diff.CreatesHere, out)
	return s.baseline(ctx, c.ID, cu.ID, f)
}

// psaRecordError is whether err refuses one record (a plan limit, a validation) rather
// than the whole run.
func psaRecordError(err error) bool {
	var pe *problem.Error
	return errors.As(err, &pe) && pe.Status() < 500
}

func (s *psaSyncer) fail(externalID, customerID, msg string) {
	s.diff.Counts.Failed++
	s.diff.Failures = capped(s.diff.Failures, psaFailure{ExternalID: externalID, CustomerID: customerID, Message: msg})
}

// baseline records f as both sides' fields of a link (not in a dry run).
func (s *psaSyncer) baseline(ctx context.Context, externalID, customerID string, f domain.PSAFields) error {
	if s.dryRun {
		return nil
	}
	b := domain.PSABaseline{ExternalID: externalID, CustomerID: customerID, Fields: f, SyncedAt: s.d.Store.Now()}
	if err := s.d.Store.PutPSABaseline(ctx, s.orgID, s.conn.ID, b); err != nil {
		return err
	}
	s.read.Baselines[externalID] = b
	return nil
}

// merged is the three-way merge of local and remote against base (nil: none): the
// fields to hold on both sides and the names of the fields changed on both. The website
// and the postal address (one unit: parts of two addresses do not make one) fill a
// blank side without a baseline rather than conflict: a customer made here with only
// a one-line address takes the PSA's parts instead of wiping them.
func merged(base *domain.PSAFields, local, remote domain.PSAFields, policy string) (domain.PSAFields, []string) {
	out := local
	var conflicts []string
	var b domain.PSAFields
	if base != nil {
		b = *base
	}
	m := merger{hasBase: base != nil, policy: policy, conflicts: &conflicts}
	mergeField(m, "name", b.Name, local.Name, remote.Name, &out.Name, false)
	mergeField(m, "phone", b.Phone, local.Phone, remote.Phone, &out.Phone, false)
	mergeField(m, "website", b.Website, local.Website, remote.Website, &out.Website, true)
	mergeField(m, "postalAddress", b.PostalAddress, local.PostalAddress, remote.PostalAddress, &out.PostalAddress, true)
	return out, conflicts
}

// merger is one merge's settings and the conflicts it found.
type merger struct {
	hasBase   bool
	policy    string
	conflicts *[]string
}

// mergeField merges one field into dst (which holds local's value); fillBlank lets a
// blank side take the other's when there is no baseline.
func mergeField[T comparable](m merger, name string, b, l, r T, dst *T, fillBlank bool) {
	var zero T
	switch {
	case l == r:
	case m.hasBase && b == l:
		*dst = r // changed in the PSA only
	case m.hasBase && b == r:
		*dst = l // changed here only
	case !m.hasBase && fillBlank && l == zero:
		*dst = r
	case !m.hasBase && fillBlank && r == zero:
		*dst = l
	default:
		*m.conflicts = append(*m.conflicts, name)
		if m.policy == domain.PSAWins {
			*dst = r
		}
	}
}

// reconcile syncs the linked customer cu with its PSA company c.
func (s *psaSyncer) reconcile(ctx context.Context, cu domain.Customer, c psa.Company) error {
	local := fieldsOf(cu)
	remote := psaFieldsOf(c, local, s.fields)
	var base *domain.PSAFields
	if b, ok := s.read.Baselines[c.ID]; ok && b.CustomerID == cu.ID {
		base = &b.Fields
	}
	policy := s.read.State.ConflictPolicy
	target, conflicts := merged(base, local, remote, policy)
	if held, ok := s.read.Held[c.ID]; ok {
		return s.stillHeld(ctx, held, cu, local, remote, conflicts)
	}
	if len(conflicts) > 0 {
		s.diff.Counts.Conflicts++
		s.diff.Conflicts = capped(s.diff.Conflicts, psaConflict{CustomerID: cu.ID, CustomerName: cu.Name, ExternalID: c.ID,
			Fields: conflicts, Local: local, PSA: remote, Resolution: policy})
		if policy == domain.PSAHold {
			return s.hold(ctx, cu, c.ID, local, remote, conflicts)
		}
	}
	if target == local && target == remote {
		s.diff.Counts.Unchanged++
		if base == nil || *base != target {
			return s.baseline(ctx, c.ID, cu.ID, target)
		}
		return nil
	}
	why := ""
	if len(conflicts) > 0 {
		why = " (conflict on " + strings.Join(conflicts, ", ") + ": " + policy + ")"
	}
	failed := s.diff.Counts.Failed
	if target != local {
		if err := s.updateHere(ctx, cu, c.ID, local, target, why); err != nil {
			return err
		}
	}
	if target != remote {
		if err := s.updateInPSA(ctx, cu, c, remote, target, why); err != nil {
			return err
		}
	}
	if s.diff.Counts.Failed > failed {
		return nil // not written on both sides: no baseline, the next sync compares again
	}
	return s.baseline(ctx, c.ID, cu.ID, target)
}

// updateHere writes the PSA's fields to the customer.
func (s *psaSyncer) updateHere(ctx context.Context, cu domain.Customer, externalID string, from, to domain.PSAFields, why string) error {
	s.diff.Counts.UpdatedHere++
	s.diff.UpdatesHere = capped(s.diff.UpdatesHere, psaChange{CustomerID: cu.ID, CustomerName: cu.Name, ExternalID: externalID, From: from, To: to})
	if s.dryRun {
		return nil
	}
	next, err := s.d.Store.UpdateCustomerFrom(ctx, s.orgID, cu, nil, func(c *domain.Customer) (audit.Event, error) {
		c.SetPSAFields(to)
		ev := audit.New(ctx, s.orgID, audit.Customer, "customer.psa-sync",
			fmt.Sprintf("updated customer %q from %s company %s%s", to.Name, connectionTypeName(s.conn.Type), externalID, why))
		ev.Targets.CustomerIDs = []string{cu.ID}
		ev.Changes = diff(from, to)
		return ev, nil
	})
	if err != nil {
		if psaRecordError(err) {
			s.fail(externalID, cu.ID, err.Error())
			return nil
		}
		return err
	}
	s.linked[externalID] = next
	return nil
}

// updateInPSA writes the customer's fields to its PSA company, and audits it.
func (s *psaSyncer) updateInPSA(ctx context.Context, cu domain.Customer, c psa.Company, from, to domain.PSAFields, why string) error {
	s.diff.Counts.UpdatedInPSA++
	s.diff.UpdatesInPSA = capped(s.diff.UpdatesInPSA, psaChange{CustomerID: cu.ID, CustomerName: cu.Name, ExternalID: c.ID, From: from, To: to})
	if s.dryRun {
		return nil
	}
	c = companyWith(c, to, s.fields)
	if _, err := s.psa.UpdateCompany(ctx, c); err != nil {
		if psa.Temporary(err) {
			return fmt.Errorf("update %s company %s: %w", s.conn.Type, c.ID, err)
		}
		s.fail(c.ID, cu.ID, err.Error())
		return nil
	}
	ev := audit.New(ctx, s.orgID, audit.Customer, "customer.psa-push",
		fmt.Sprintf("updated %s company %s from customer %q%s", connectionTypeName(s.conn.Type), c.ID, cu.Name, why))
	ev.Targets.CustomerIDs = []string{cu.ID}
	ev.Changes = diff(from, to)
	return s.d.Store.RecordEvents(ctx, ev)
}

// hold keeps a conflict for review, audited once.
func (s *psaSyncer) hold(ctx context.Context, cu domain.Customer, externalID string, local, remote domain.PSAFields, fields []string) error {
	s.diff.Counts.Held++
	if s.dryRun {
		return nil
	}
	h := domain.PSAHeldConflict{ExternalID: externalID, CustomerID: cu.ID, CustomerName: cu.Name, Local: local, PSA: remote, DetectedAt: s.d.Store.Now()}
	ev := audit.New(ctx, s.orgID, audit.Customer, "customer.psa-conflict",
		fmt.Sprintf("held a conflict of customer %q with %s company %s for review (%s changed on both sides)", cu.Name,
			connectionTypeName(s.conn.Type), externalID, strings.Join(fields, ", ")))
	ev.Targets.CustomerIDs = []string{cu.ID}
	if err := s.d.Store.PutPSAHeld(ctx, s.orgID, s.conn.ID, h, ev); err != nil {
		return err
	}
	s.read.Held[externalID] = h
	return nil
}

// stillHeld looks at a held conflict again: sides that agree now release it, new values
// update it, the same ones leave it be.
func (s *psaSyncer) stillHeld(ctx context.Context, held domain.PSAHeldConflict, cu domain.Customer, local, remote domain.PSAFields, conflicts []string) error {
	switch {
	case local == remote:
		s.diff.Counts.Unchanged++
		if s.dryRun {
			return nil
		}
		ev := audit.New(ctx, s.orgID, audit.Customer, "customer.psa-conflict-cleared",
			fmt.Sprintf("released the held conflict of customer %q: both sides agree now", cu.Name))
		ev.Targets.CustomerIDs = []string{cu.ID}
		if err := s.d.Store.DeletePSAHeld(ctx, s.orgID, s.conn.ID, held.ExternalID, ev); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		delete(s.read.Held, held.ExternalID)
		return s.baseline(ctx, held.ExternalID, cu.ID, local)
	case held.Local == local && held.PSA == remote:
		s.diff.Counts.Held++
		return nil
	}
	s.diff.Counts.Conflicts++
	s.diff.Conflicts = capped(s.diff.Conflicts, psaConflict{CustomerID: cu.ID, CustomerName: cu.Name, ExternalID: held.ExternalID,
		Fields: conflicts, Local: local, PSA: remote, Resolution: domain.PSAHold})
	return s.hold(ctx, cu, held.ExternalID, local, remote, conflicts)
}

// localChanges pushes the changes of linked customers whose PSA company the listing did
// not include (it did not change there): a customer that differs from its baseline
// changed here. A link without a baseline is compared with the company as it is now.
func (s *psaSyncer) localChanges(ctx context.Context) error {
	for ext, cu := range s.linked {
		if s.seen[ext] {
			continue
		}
		b, ok := s.read.Baselines[ext]
		if ok && b.CustomerID == cu.ID && b.Fields == fieldsOf(cu) {
			continue // unchanged on both sides
		}
		c, err := s.psa.Company(ctx, ext)
		if errors.Is(err, psa.ErrNotFound) {
			s.fail(ext, cu.ID, fmt.Sprintf("the linked %s company %s no longer exists", connectionTypeName(s.conn.Type), ext))
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s company %s: %w", s.conn.Type, ext, err)
		}
		s.seen[ext] = true
		if err := s.reconcile(ctx, cu, c); err != nil {
			return err
		}
	}
	return nil
}

// syncPSA runs one sync of conn: a dry run answers the diff; otherwise it applies it,
// resuming a run that died, and records the connection's use.
func syncPSA(ctx context.Context, d *Deps, orgID string, conn domain.Connection, dryRun bool, stop func() bool) (*psaDiff, error) {
	s, err := newPSASyncer(ctx, d, orgID, conn, dryRun)
	if err != nil {
		return nil, err
	}
	if stop != nil {
		s.stop = stop
	}
	err = s.run(ctx)
	return s.diff, err
}
