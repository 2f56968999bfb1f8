package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/customerimport"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// KindCustomerImport is the job kind of a customer CSV import.
const KindCustomerImport = "customer-import"

var CustomersImport = Route{Method: "POST", Path: "/api/msp-portal/customers/import", Permission: permission.ManageCustomers,
	Function: "customers-import", Category: audit.Customer, Summary: "Import customers from a CSV file, as a job",
	Handler: importCustomers, Actions: []string{"sqs:SendMessage"}, MaxBody: customerimport.MaxBytes}

// importBatch rows are written concurrently between checkpoints.
const (
	importBatch       = 200
	importConcurrency = 8
)

// importResult is the running result of an import job.
type importResult struct {
	Rows    int64 `json:"rows"`
	Created int64 `json:"created"`
	// Skipped rows carry an external id or PSA link another customer already has:
	// importing the same file twice creates no duplicates.
	Skipped int64 `json:"skipped"`
	Failed  int64 `json:"failed"`
}

func importCustomers(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		if !oc.Scope().AllTenantsAllowed(permission.ManageCustomers) {
			problem.Write(ctx, w, r, problem.New(problem.Forbidden, "forbidden", "importing customers needs access to all tenants"))
			return
		}
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "text/csv" && mt != "application/csv" && mt != "text/plain" {
			problem.Write(ctx, w, r, problem.New(problem.UnsupportedMediaType, "unsupported-media-type", "send the file as text/csv"))
			return
		}
		raw, err := io.ReadAll(io.LimitReader(r.Body, customerimport.MaxBytes+1))
		if err != nil {
			problem.Write(ctx, w, r, problem.Invalidf("body", "could not be read"))
			return
		}
		if len(raw) > customerimport.MaxBytes {
			problem.Write(ctx, w, r, problem.New(problem.PayloadTooLarge, "body-too-large", fmt.Sprintf("the file must be at most %d bytes", customerimport.MaxBytes)))
			return
		}
		// File-level faults answer now; row faults are the job's errors.
		rows, err := customerimport.Parse(bytes.NewReader(raw))
		if err := importFileProblem(err, len(rows)); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		j, err := d.Jobs.Start(ctx, jobs.StartInput{Kind: KindCustomerImport, OrganizationID: oc.Org.ID, Input: raw,
			Total: int64(len(rows)), Category: audit.Customer, Summary: fmt.Sprintf("started importing %d customers from a CSV file", len(rows))})
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		w.Header().Set("Location", "/api/jobs/"+j.ID)
		write(w, http.StatusAccepted, NewJobView(j))
	})
}

// importedID is the id of the customer a row of a job creates: the same on every run
// of the job, so a redone row finds its customer instead of making a second one.
func importedID(jobID string, line int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s#%d", jobID, line)))
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:16]))
}

func runCustomerImport(ctx context.Context, env *jobs.Env, job *jobs.Job) error {
	raw, err := env.Input(ctx)
	if err != nil {
		return fmt.Errorf("read import input: %w", err)
	}
	rows, err := customerimport.Parse(bytes.NewReader(raw))
	if err != nil {
		return jobs.Failf("the file cannot be imported: %v", err)
	}
	var res importResult
	if len(job.Result) > 0 {
		if err := jsonUnmarshal(job.Result, &res); err != nil {
			return fmt.Errorf("import result: %w", err)
		}
	}
	res.Rows = int64(len(rows))
	for done := job.Progress.Done; done < int64(len(rows)); {
		end := min(done+importBatch, int64(len(rows)))
		batch := rows[done:end]
		outcomes := make([]rowOutcome, len(batch))
		var wg sync.WaitGroup
		sem := make(chan struct{}, importConcurrency)
		for i := range batch {
			wg.Add(1)
			sem <- struct{}{}
			go func(i int) {
				defer wg.Done()
				defer func() { <-sem }()
				outcomes[i] = importRow(ctx, env.Store, job, batch[i])
			}(i)
		}
		wg.Wait()
		var errs []jobs.Error
		for i, o := range outcomes {
			switch {
			case o.err != nil:
				return jobs.Retry(fmt.Errorf("import line %d: %w", batch[i].Line, o.err))
			case o.created:
				res.Created++
			case o.skipped:
				res.Skipped++
			default:
				res.Failed++
				errs = append(errs, o.errors...)
			}
		}
		done = end
		if err := env.Checkpoint(ctx, jobs.Checkpoint{Done: done, Total: int64(len(rows)), Errors: errs, Result: res}); err != nil {
			return err
		}
		if done < int64(len(rows)) && env.ShouldYield() {
			return jobs.ErrContinue
		}
	}
	return env.Checkpoint(ctx, jobs.Checkpoint{Done: int64(len(rows)), Result: res})
}

type rowOutcome struct {
	created, skipped bool
	errors           []jobs.Error
	err              error
}

func importRow(ctx context.Context, st *store.Store, job *jobs.Job, row customerimport.Row) rowOutcome {
	if len(row.Errors) > 0 {
		out := rowOutcome{}
		for _, f := range row.Errors {
			out.errors = append(out.errors, jobs.Error{Line: int64(row.Line), Field: f.Field, Message: f.Message})
		}
		return out
	}
	c := row.Customer
	now := st.Now()
	c.ID, c.CreatedAt, c.UpdatedAt = importedID(job.ID, row.Line), now, now
	ev := audit.New(ctx, job.OrganizationID, audit.Customer, "customer.import",
		fmt.Sprintf("imported customer %q (line %d of job %s)", c.Name, row.Line, job.ID))
	ev.Targets.CustomerIDs = []string{c.ID}
	err := st.CreateCustomer(ctx, job.OrganizationID, c, ev)
	var dup *store.DuplicateKeyError
	switch {
	case err == nil, errors.Is(err, store.ErrCustomerExists):
		return rowOutcome{created: true}
	case errors.As(err, &dup) && dup.CustomerID == c.ID:
		return rowOutcome{created: true}
	case errors.As(err, &dup):
		return rowOutcome{skipped: true}
	}
	if pe := problem.As(err); pe.Code == "plan-limit" {
		// The plan's limit of customers is reached: the row fails, naming why, and the
		// job goes on (the rows after it fail alike, unless some were removed).
		return rowOutcome{errors: []jobs.Error{{Line: int64(row.Line), Field: "name", Message: pe.Message}}}
	}
	return rowOutcome{err: err}
}

// importFileProblem is the answer to a CSV file that cannot start an import (customers
// or company users): a header fault as a 400 naming body, another error as it is, or no
// data rows; nil when the rows can run as a job, whose row faults are its errors.
func importFileProblem(err error, rows int) error {
	var he *customerimport.HeaderError
	switch {
	case errors.As(err, &he):
		return problem.Invalidf("body", "%s", he.Msg)
	case err != nil:
		return err
	case rows == 0:
		return problem.Invalidf("body", "has no data rows")
	}
	return nil
}
