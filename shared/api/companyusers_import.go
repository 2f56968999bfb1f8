package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/customerimport"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// KindCompanyUserImport is the job kind of a company user import.
const KindCompanyUserImport = "company-user-import"

// CustomersUsersImport imports a customer's company users, as a job: from a CSV file,
// from a tenant's Microsoft 365 users (companyusers_m365.go), or from the contacts of
// the customer's PSA company (companyusers_psa.go); the connections' credentials are
// opened with kms:Decrypt.
var CustomersUsersImport = Route{Method: "POST", Path: companyUsersPath + "/import", Permission: permission.RunAutomation,
	Function: "customers-users-import", Category: audit.Customer, Summary: "Import a customer's company users from a CSV file or Microsoft 365, as a job",
	Handler: importCompanyUsers, Actions: []string{"sqs:SendMessage", "kms:Decrypt"}, MaxBody: customerimport.MaxBytes}

// companyUserColumns maps normalized CSV headers to the fields of a company user.
var companyUserColumns = map[string]string{
	"email": "email", "emailaddress": "email", "mail": "email", "userprincipalname": "email", "upn": "email",
	"name": "name", "displayname": "name", "fullname": "name", "username": "name",
	"jobtitle": "jobTitle", "title": "jobTitle",
	"role": "role", "companyrole": "role",
	"externalid": "externalId", "id": "externalId", "objectid": "externalId",
}

// userImportInput is the JSON form of an import; a text/csv body is source csv. A
// source read from a connection takes preview (list what would be imported, import
// nothing) and select (the externalIds to import; all when left out).
type userImportInput struct {
	Source   string `json:"source"`
	CSV      string `json:"csv"`
	TenantID string `json:"tenantId"`
	// ConnectionID names the PSA connection of source psa.
	ConnectionID string   `json:"connectionId"`
	Preview      bool     `json:"preview"`
	Select       []string `json:"select"`
}

// userImportParams are what the job needs besides the file. Source is the source its
// users are upserted under (csv when empty); TenantID the tenant an m365 import read.
type userImportParams struct {
	CustomerID string `json:"customerId"`
	Source     string `json:"source,omitempty"`
	TenantID   string `json:"tenantId,omitempty"`
}

// userImportResult is the running result of a company user import.
type userImportResult struct {
	Rows int64 `json:"rows"`
	userUpsertCounts
}

// readUserImport reads the file of an import request: a text/csv body, or the JSON
// form naming its source. A source read from a connection (m365, psa) comes back as its
// input (remote) for the handler to dispatch.
func readUserImport(r *http.Request) (raw []byte, remote *userImportInput, err error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "text/csv", "application/csv", "text/plain":
		raw, err := io.ReadAll(io.LimitReader(r.Body, customerimport.MaxBytes+1))
		if err != nil {
			return nil, nil, problem.Invalidf("body", "could not be read")
		}
		if len(raw) > customerimport.MaxBytes {
			return nil, nil, problem.New(problem.PayloadTooLarge, "body-too-large", fmt.Sprintf("the file must be at most %d bytes", customerimport.MaxBytes))
		}
		return raw, nil, nil
	case "", "application/json":
		var in userImportInput
		if err := decode(r, &in); err != nil {
			return nil, nil, err
		}
		var v problem.Validation
		switch in.Source {
		case domain.SourceCSV:
			v.Check(in.CSV == "", "csv", "is required: the file's text")
		case domain.SourceM365:
			return nil, &in, checkM365Import(in)
		case domain.SourcePSA:
			return nil, &in, nil // companyusers_psa.go checks it
		default:
			v.Add("source", "must be csv, m365 or psa")
		}
		return []byte(in.CSV), nil, v.Err()
	}
	return nil, nil, problem.New(problem.UnsupportedMediaType, "unsupported-media-type", "send the file as text/csv, or JSON with source and csv")
}

func parseUserImport(raw []byte) ([]customerimport.Record, error) {
	return customerimport.Records(bytes.NewReader(raw), companyUserColumns, "email", "no email column: name one \"Email\"")
}

func importCompanyUsers(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		cust, err := loadCustomer(ctx, d, r, permission.RunAutomation)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		raw, remote, err := readUserImport(r)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if remote != nil && remote.Source == domain.SourcePSA {
			importCompanyUsersFromPSA(w, r, d, cust.Customer, *remote)
			return
		}
		if remote != nil {
			importFromM365(w, r, d, cust, *remote)
			return
		}
		// File-level faults answer now; row faults are the job's errors.
		recs, err := parseUserImport(raw)
		if err := importFileProblem(err, len(recs)); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		j, err := d.Jobs.Start(ctx, jobs.StartInput{Kind: KindCompanyUserImport, OrganizationID: oc.Org.ID, Input: raw,
			Params: userImportParams{CustomerID: cust.Customer.ID}, Total: int64(len(recs)), Category: audit.Customer,
			Summary: fmt.Sprintf("started importing %d company users of customer %q from a CSV file", len(recs), cust.Customer.Name),
			Targets: audit.Targets{CustomerIDs: []string{cust.Customer.ID}}})
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		w.Header().Set("Location", "/api/jobs/"+j.ID)
		write(w, http.StatusAccepted, NewJobView(j))
	})
}

func runCompanyUserImport(ctx context.Context, env *jobs.Env, job *jobs.Job) error {
	var params userImportParams
	if err := env.Params(&params); err != nil {
		return err
	}
	raw, err := env.Input(ctx)
	if err != nil {
		return fmt.Errorf("read import input: %w", err)
	}
	recs, err := parseUserImport(raw)
	if err != nil {
		return jobs.Failf("the file cannot be imported: %v", err)
	}
	var res userImportResult
	if len(job.Result) > 0 {
		if err := jsonUnmarshal(job.Result, &res); err != nil {
			return fmt.Errorf("import result: %w", err)
		}
	}
	res.Rows = int64(len(recs))
	return upsertUsers(ctx, env, job, int64(len(recs)), &res.userUpsertCounts, func() any { return res }, func(i int64) (string, []jobs.Error, error) {
		rec := recs[i]
		outcome, rowErrs, err := importUserRow(ctx, env.Store, job, params, rec)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			err = fmt.Errorf("import line %d: %w", rec.Line, err)
		}
		return outcome, rowErrs, err
	})
}

// importUserRow upserts one row by (source, external id), the row's id column or else
// its email: a file imported twice updates, never duplicates. The source is the job's
// (csv, or m365 with the Entra object ids as ids). It returns the outcome, or the row's
// faults.
func importUserRow(ctx context.Context, st *store.Store, job *jobs.Job, params userImportParams, rec customerimport.Record) (string, []jobs.Error, error) {
	customerID, source := params.CustomerID, params.Source
	if source == "" {
		source = domain.SourceCSV
	}
	fail := func(fields ...problem.FieldError) (string, []jobs.Error, error) {
		out := make([]jobs.Error, 0, len(fields))
		for _, f := range fields {
			out = append(out, jobs.Error{Line: int64(rec.Line), Field: f.Field, Message: f.Message})
		}
		return "failed", out, nil
	}
	if rec.Err != nil {
		return fail(*rec.Err)
	}
	now := st.Now()
	u := domain.CompanyUser{ID: importedID(job.ID, rec.Line), CustomerID: customerID, Email: rec.Get("email"), Name: rec.Get("name"),
		JobTitle: rec.Get("jobTitle"), Role: domain.CompanyUserRole, Source: source, ExternalID: rec.Get("externalId"),
		PortalStatus: domain.PortalOff, CreatedAt: now, UpdatedAt: now}
	if role := rec.Get("role"); role != "" {
		// Any case: "training only" is Training Only.
		for _, cr := range domain.CompanyRoles() {
			if strings.EqualFold(string(cr), role) {
				u.Role = cr
			}
		}
		if !slices.Contains(domain.CompanyRoles(), u.Role) || !strings.EqualFold(string(u.Role), role) {
			return fail(problem.FieldError{Field: "role", Message: "must be one of Admin, Manager, User, Training Only"})
		}
	}
	u.Normalize()
	if u.ExternalID == "" {
		u.ExternalID = u.Email
	}
	if u.Name == "" {
		u.Name = u.Email
	}
	var v problem.Validation
	u.Validate(&v)
	if err := v.Err(); err != nil {
		return fail(problem.As(err).Fields...)
	}
	created := audit.New(ctx, job.OrganizationID, audit.Customer, "company-user.import",
		fmt.Sprintf("imported company user %s (line %d of job %s)", u.Email, rec.Line, job.ID))
	created.Targets = audit.Targets{CustomerIDs: []string{customerID}, Emails: []string{u.Email}}
	updated := created
	updated.Action, updated.Summary = "company-user.import-update", fmt.Sprintf("updated company user %s from line %d of job %s", u.Email, rec.Line, job.ID)
	outcome, _, err := st.UpsertCompanyUser(ctx, job.OrganizationID, u, created, updated)
	var dup *store.DuplicateCompanyUserError
	if errors.As(err, &dup) {
		return "skipped", nil, nil
	}
	return outcome, nil, err
}
