package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/psa"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Company users from a PSA (seed 002's "From PSA"): the contacts of the PSA company a
// customer is linked to on a connection. The request reads them (the PSA's answer
// bounds it, not a job), so a preview can show each as new, present, changed or
// skipped; the import itself is a job, like the CSV import, over the contacts the
// request read, so the worker needs no credentials. Users are keyed by (psa,
// "<connectionId>:<contactId>"): importing again updates, never duplicates.

// KindCompanyUserPSAImport is the job kind of an import of PSA contacts.
const KindCompanyUserPSAImport = "company-user-psa-import"

// Preview states of a PSA contact.
const (
	contactNew     = "new"
	contactPresent = "present"
	contactChanged = "changed"
	contactSkipped = "skipped"
)

// psaContactView is one contact of a preview.
type psaContactView struct {
	// ExternalID is what select names and what the company user keeps.
	ExternalID string `json:"externalId"`
	ContactID  string `json:"contactId"`
	Email      string `json:"email"`
	Name       string `json:"name"`
	JobTitle   string `json:"jobTitle"`
	Status     string `json:"status"`
	// CompanyUserID is the user the contact is (present, changed) or collides with.
	CompanyUserID string `json:"companyUserId,omitempty"`
	Reason        string `json:"reason,omitempty"`
}

// psaImportPreview answers a preview.
type psaImportPreview struct {
	Source       string           `json:"source"`
	ConnectionID string           `json:"connectionId"`
	CompanyID    string           `json:"companyId"`
	Contacts     []psaContactView `json:"contacts"`
	Counts       map[string]int   `json:"counts"`
}

// psaImportParams are what the job needs besides the contacts (its input).
type psaImportParams struct {
	CustomerID string `json:"customerId"`
	Vendor     string `json:"vendor"`
}

// psaImportResult is the running result of an import of PSA contacts.
type psaImportResult struct {
	Contacts int64 `json:"contacts"`
	userUpsertCounts
}

// userUpsertCounts are the outcomes an import of company users counts. Unchanged users
// match their record already; skipped ones name an email another user of the customer
// (from another source) has, or none.
type userUpsertCounts struct {
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Skipped   int64 `json:"skipped"`
	Failed    int64 `json:"failed"`
}

// upsertUsers runs an import job's upserts from its recorded progress to total, in
// batches, each ended by a checkpoint of result (which holds counts): one upserts
// the i-th user and answers its outcome (store.Upsert*, "skipped", else its faults).
// A customer deleted meanwhile fails the job; another store error retries it.
func upsertUsers(ctx context.Context, env *jobs.Env, job *jobs.Job, total int64, counts *userUpsertCounts, result func() any,
	one func(i int64) (string, []jobs.Error, error)) error {
	for done := job.Progress.Done; done < total; {
		end := min(done+importBatch, total)
		var errs []jobs.Error
		for i := done; i < end; i++ {
			outcome, faults, err := one(i)
			if errors.Is(err, store.ErrNotFound) {
				return jobs.Failf("the customer was deleted during the import")
			}
			if err != nil {
				return jobs.Retry(err)
			}
			switch outcome {
			case store.UpsertCreated:
				counts.Created++
			case store.UpsertUpdated:
				counts.Updated++
			case store.UpsertUnchanged:
				counts.Unchanged++
			case contactSkipped:
				counts.Skipped++
			default:
				counts.Failed++
				errs = append(errs, faults...)
			}
		}
		done = end
		if err := env.Checkpoint(ctx, jobs.Checkpoint{Done: done, Total: total, Errors: errs, Result: result()}); err != nil {
			return err
		}
		if done < total && env.ShouldYield() {
			return jobs.ErrContinue
		}
	}
	return env.Checkpoint(ctx, jobs.Checkpoint{Done: total, Result: result()})
}

// importCompanyUsersFromPSA previews or starts the import of in (source psa) for the
// customer cust.
func importCompanyUsersFromPSA(w http.ResponseWriter, r *http.Request, d *Deps, cust domain.Customer, in userImportInput) {
	ctx := r.Context()
	oc := access.From(ctx)
	link, conn, err := psaImportLink(ctx, d, oc.Org.ID, cust, in)
	if err != nil {
		problem.Write(ctx, w, r, err)
		return
	}
	creds, err := openCredentials(ctx, d, oc.Org.ID, conn)
	if err != nil {
		p := credentialsUnreadable(ctx, conn, err, d.Store.Now())
		problem.Write(ctx, w, r, problem.New(problem.BadGateway, p.Code, p.Message))
		return
	}
	c, err := psaConnectorWith(d.psaEndpoints(), conn, creds)
	var contacts []psa.Contact
	if err == nil {
		contacts, err = c.Contacts(ctx, link.ExternalID)
	}
	if err != nil {
		p := psaProblem(err, creds, d.Store.Now())
		problem.Write(ctx, w, r, problem.New(problem.BadGateway, p.Code, connectionTypeName(conn.Type)+" did not give the contacts: "+p.Message))
		return
	}
	views, err := previewContacts(ctx, d, oc.Org.ID, cust.ID, conn.ID, contacts)
	if err != nil {
		problem.Write(ctx, w, r, err)
		return
	}
	picked, err := selectContacts(views, in.Select)
	if err != nil {
		problem.Write(ctx, w, r, err)
		return
	}
	if in.Preview {
		out := psaImportPreview{Source: domain.SourcePSA, ConnectionID: conn.ID, CompanyID: link.ExternalID, Contacts: picked,
			Counts: map[string]int{contactNew: 0, contactPresent: 0, contactChanged: 0, contactSkipped: 0}}
		for _, v := range picked {
			out.Counts[v.Status]++
		}
		write(w, http.StatusOK, out)
		return
	}
	if len(picked) == 0 {
		problem.Write(ctx, w, r, problem.Invalidf("connectionId", "the linked %s company has no contacts to import", connectionTypeName(conn.Type)))
		return
	}
	raw, err := json.Marshal(picked)
	if err != nil {
		problem.Write(ctx, w, r, fmt.Errorf("encode contacts: %w", err))
		return
	}
	j, err := d.Jobs.Start(ctx, jobs.StartInput{Kind: KindCompanyUserPSAImport, OrganizationID: oc.Org.ID, Input: raw,
		Params: psaImportParams{CustomerID: cust.ID, Vendor: conn.Type}, Total: int64(len(picked)), Category: audit.Customer,
		Summary: fmt.Sprintf("started importing %d company users of customer %q from %s", len(picked), cust.Name, connectionTypeName(conn.Type)),
		Targets: audit.Targets{CustomerIDs: []string{cust.ID}}})
	if err != nil {
		problem.Write(ctx, w, r, err)
		return
	}
	w.Header().Set("Location", "/api/jobs/"+j.ID)
	write(w, http.StatusAccepted, NewJobView(j))
}

// psaImportLink checks in's connection and answers the customer's link on it. Faults
// name connectionId or select (400).
func psaImportLink(ctx context.Context, d *Deps, orgID string, cust domain.Customer, in userImportInput) (domain.PSALink, domain.Connection, error) {
	var v problem.Validation
	v.Check(in.ConnectionID == "", "connectionId", "is required with source psa: the PSA connection to read the contacts from")
	v.Check(in.CSV != "", "csv", "applies to source csv only")
	v.Check(in.Select != nil && len(in.Select) == 0, "select", "must name at least one contact, or be left out to import them all")
	v.Check(len(in.Select) > maxImportSelect, "select", "must name at most %d contacts", maxImportSelect)
	if err := v.Err(); err != nil {
		return domain.PSALink{}, domain.Connection{}, err
	}
	conn, err := d.Store.GetConnection(ctx, orgID, in.ConnectionID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && conn.Type == domain.ConnectionM365) {
		return domain.PSALink{}, domain.Connection{}, problem.Invalidf("connectionId", "must be the id of one of this organization's PSA connections")
	}
	if err != nil {
		return domain.PSALink{}, domain.Connection{}, err
	}
	for _, l := range cust.PSALinks {
		if l.ConnectionID == conn.ID {
			return l, conn, nil
		}
	}
	return domain.PSALink{}, domain.Connection{}, problem.Invalidf("connectionId",
		"the customer is not linked to a company of this %s connection; link it first (psaLinks, or the PSA matches)", connectionTypeName(conn.Type))
}

// psaContactExternalID is a PSA contact's key among the customer's users: its id on its
// connection (two PSAs of one customer may share contact ids).
func psaContactExternalID(connectionID, contactID string) string {
	return connectionID + ":" + contactID
}

// previewContacts says of each contact what an import would do with it, from the
// customer's users (one Query per page).
func previewContacts(ctx context.Context, d *Deps, orgID, customerID, connectionID string, contacts []psa.Contact) ([]psaContactView, error) {
	bySource, byEmail := map[string]domain.CompanyUser{}, map[string]domain.CompanyUser{}
	for cursor := ""; ; {
		users, next, err := d.Store.ListCompanyUsers(ctx, orgID, customerID, store.Page{Limit: store.MaxLimit, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			byEmail[u.Email] = u
			if u.Source == domain.SourcePSA {
				bySource[u.ExternalID] = u
			}
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	out := make([]psaContactView, 0, len(contacts))
	for _, c := range contacts {
		v := psaContactView{ExternalID: psaContactExternalID(connectionID, c.ID), ContactID: c.ID, Email: domain.NormalizeEmail(c.Email),
			Name: strings.TrimSpace(strings.TrimSpace(c.FirstName) + " " + strings.TrimSpace(c.LastName)), JobTitle: strings.TrimSpace(c.Title)}
		if v.Name == "" {
			v.Name = v.Email
		}
		u, known := bySource[v.ExternalID]
		other, taken := byEmail[v.Email]
		switch {
		case known && u.Email == v.Email && u.Name == v.Name && u.JobTitle == v.JobTitle:
			v.Status, v.CompanyUserID = contactPresent, u.ID
		case known:
			v.Status, v.CompanyUserID = contactChanged, u.ID
		case v.Email == "" || !domain.ValidEmail(v.Email):
			v.Status, v.Reason = contactSkipped, "the contact has no valid email address in the PSA"
		case taken:
			v.Status, v.CompanyUserID, v.Reason = contactSkipped, other.ID, "another company user of the customer has this email"
		default:
			v.Status = contactNew
		}
		out = append(out, v)
	}
	return out, nil
}

// selectContacts keeps the contacts sel names (all when sel is nil); a name that is
// not one of them is a 400 naming select[i].
func selectContacts(views []psaContactView, sel []string) ([]psaContactView, error) {
	if sel == nil {
		return views, nil
	}
	index := map[string]int{}
	for i, v := range views {
		index[v.ExternalID] = i
	}
	var v problem.Validation
	var out []psaContactView
	seen := map[string]bool{}
	for i, id := range sel {
		at, ok := index[id]
		v.Check(!ok, fmt.Sprintf("select[%d]", i), "must be the externalId of one of the linked company's contacts (see the preview)")
		if ok && !seen[id] {
			seen[id] = true
			out = append(out, views[at])
		}
	}
	return out, v.Err()
}

func runCompanyUserPSAImport(ctx context.Context, env *jobs.Env, job *jobs.Job) error {
	var params psaImportParams
	if err := env.Params(&params); err != nil {
		return err
	}
	raw, err := env.Input(ctx)
	if err != nil {
		return fmt.Errorf("read import input: %w", err)
	}
	var contacts []psaContactView
	if err := json.Unmarshal(raw, &contacts); err != nil {
		return jobs.Failf("the contacts cannot be read: %v", err)
	}
	var res psaImportResult
	if len(job.Result) > 0 {
		if err := jsonUnmarshal(job.Result, &res); err != nil {
			return fmt.Errorf("import result: %w", err)
		}
	}
	res.Contacts = int64(len(contacts))
	return upsertUsers(ctx, env, job, int64(len(contacts)), &res.userUpsertCounts, func() any { return res }, func(i int64) (string, []jobs.Error, error) {
		c := contacts[i]
		outcome, err := importPSAContact(ctx, env.Store, job, params, int(i), c)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			err = fmt.Errorf("import contact %s: %w", c.ContactID, err)
		}
		var faults []jobs.Error
		if outcome != store.UpsertCreated && outcome != store.UpsertUpdated && outcome != store.UpsertUnchanged && outcome != contactSkipped {
			faults = []jobs.Error{{Line: i + 1, Field: "contacts[" + c.ContactID + "]", Message: outcome}}
		}
		return outcome, faults, err
	})
}

// importPSAContact upserts contact c (the i-th of the job) by (psa, external id). It
// answers the outcome: created, updated, unchanged, skipped, or the fault.
func importPSAContact(ctx context.Context, st *store.Store, job *jobs.Job, p psaImportParams, i int, c psaContactView) (string, error) {
	now := st.Now()
	u := domain.CompanyUser{ID: importedID(job.ID, i+1), CustomerID: p.CustomerID, Email: c.Email, Name: c.Name, JobTitle: c.JobTitle,
		Role: domain.CompanyUserRole, Source: domain.SourcePSA, ExternalID: c.ExternalID, PortalStatus: domain.PortalOff, CreatedAt: now, UpdatedAt: now}
	u.Normalize()
	var v problem.Validation
	u.Validate(&v)
	if err := v.Err(); err != nil {
		if u.Email == "" || !domain.ValidEmail(u.Email) {
			return contactSkipped, nil // no email: nobody to invite
		}
		var msgs []string
		for _, f := range problem.As(err).Fields {
			msgs = append(msgs, f.Field+" "+f.Message)
		}
		return strings.Join(msgs, "; "), nil
	}
	vendor := connectionTypeName(p.Vendor)
	created := audit.New(ctx, job.OrganizationID, audit.Customer, "company-user.import",
		fmt.Sprintf("imported company user %s from %s contact %s (job %s)", u.Email, vendor, c.ContactID, job.ID))
	created.Targets = audit.Targets{CustomerIDs: []string{p.CustomerID}, Emails: []string{u.Email}}
	updated := created
	updated.Action, updated.Summary = "company-user.import-update", fmt.Sprintf("updated company user %s from %s contact %s (job %s)", u.Email, vendor, c.ContactID, job.ID)
	outcome, _, err := st.UpsertCompanyUser(ctx, job.OrganizationID, u, created, updated)
	var dup *store.DuplicateCompanyUserError
	if errors.As(err, &dup) {
		return contactSkipped, nil
	}
	return outcome, err
}
