package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// KindCustomerMerge is the job kind that merges a duplicate customer into another.
const KindCustomerMerge = "customer-merge"

var CustomersMerge = Route{Method: "POST", Path: "/api/msp-portal/customers/{customerId}/merge", Permission: permission.DeleteCustomers,
	Function: "customers-merge", Category: audit.Customer, Summary: "Merge a duplicate customer into this one, as a job",
	Handler: mergeCustomers, Actions: []string{"sqs:SendMessage"}}

type mergeInput struct {
	SourceCustomerID *string `json:"sourceCustomerId"`
}

// mergeParams are the job's parameters.
type mergeParams struct {
	TargetID string `json:"targetId"`
	SourceID string `json:"sourceId"`
}

// mergeResult is the running result of a merge job.
type mergeResult struct {
	Phase         string `json:"phase"`
	TenantsMoved  int64  `json:"tenantsMoved"`
	ItemsMoved    int64  `json:"itemsMoved"`
	PSALinksMoved int64  `json:"psaLinksMoved"`
	PSAConflicts  int64  `json:"psaConflicts"`
	SourceDeleted bool   `json:"sourceDeleted"`
}

func mergeCustomers(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		target, err := loadCustomer(ctx, d, r, permission.DeleteCustomers)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var in mergeInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if in.SourceCustomerID == nil || strings.TrimSpace(*in.SourceCustomerID) == "" {
			problem.Write(ctx, w, r, problem.Invalidf("sourceCustomerId", "is required"))
			return
		}
		sourceID := strings.TrimSpace(*in.SourceCustomerID)
		if sourceID == target.Customer.ID {
			problem.Write(ctx, w, r, problem.Invalidf("sourceCustomerId", "must be another customer than the one merged into"))
			return
		}
		source, err := d.Store.GetCustomer(ctx, oc.Org.ID, sourceID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			problem.Write(ctx, w, r, err)
			return
		}
		if err != nil || !visibleCustomer(oc, permission.DeleteCustomers, source.Customer) {
			problem.Write(ctx, w, r, problem.NotFoundf("the source customer was not found"))
			return
		}
		// Every tenant that moves must be inside the caller's scope.
		for _, t := range source.Tenants {
			if !oc.Scope().TenantAllowed(permission.DeleteCustomers, t.ID) {
				problem.Write(ctx, w, r, problem.New(problem.Forbidden, "forbidden", "the source customer has tenants outside your tenant scope"))
				return
			}
		}
		j, err := d.Jobs.Start(ctx, jobs.StartInput{Kind: KindCustomerMerge, OrganizationID: oc.Org.ID,
			Params: mergeParams{TargetID: target.Customer.ID, SourceID: sourceID}, Category: audit.Customer,
			Summary: fmt.Sprintf("started merging customer %q into %q", source.Customer.Name, target.Customer.Name),
			Targets: audit.Targets{CustomerIDs: []string{target.Customer.ID, sourceID}}})
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		w.Header().Set("Location", "/api/jobs/"+j.ID)
		write(w, http.StatusAccepted, NewJobView(j))
	})
}

// Merge phases, in order; the job's result records the phase reached.
const (
	phaseTenants = "tenants"
	phaseItems   = "items"
	phaseLinks   = "psa-links"
	phaseDelete  = "delete-source"
	phaseDone    = "done"
)

// runCustomerMerge moves the source's tenants, contacts, tickets, documents, activity
// and PSA links to the target, then deletes the source. Every step is one transaction
// that is safe to repeat, so a run that dies part-way is finished by the next.
func runCustomerMerge(ctx context.Context, env *jobs.Env, job *jobs.Job) error {
	var p mergeParams
	if err := env.Params(&p); err != nil {
		return err
	}
	var res mergeResult
	if len(job.Result) > 0 {
		if err := jsonUnmarshal(job.Result, &res); err != nil {
			return fmt.Errorf("merge result: %w", err)
		}
	}
	if res.Phase == "" {
		res.Phase = phaseTenants
	}
	st, org := env.Store, job.OrganizationID
	checkpoint := func(errs ...jobs.Error) error {
		return env.Checkpoint(ctx, jobs.Checkpoint{Done: res.TenantsMoved + res.ItemsMoved + res.PSALinksMoved, Errors: errs, Result: res})
	}
	for res.Phase != phaseDone {
		switch res.Phase {
		case phaseTenants:
			src, err := st.GetCustomer(ctx, org, p.SourceID)
			if errors.Is(err, store.ErrNotFound) {
				if err := mergeGone(ctx, env, job, &res, p, checkpoint); err != nil {
					return err
				}
				break
			}
			if err != nil {
				return jobs.Retry(err)
			}
			if _, err := st.GetCustomer(ctx, org, p.TargetID); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return jobs.Fail("the customer to merge into was deleted")
				}
				return jobs.Retry(err)
			}
			for _, t := range src.Tenants {
				// A step of the merge, so in the merge route's category (customer).
				ev := audit.New(ctx, org, audit.Customer, "tenant.move", fmt.Sprintf("moved tenant %s to the merged customer", t.DisplayName))
				ev.Targets = audit.Targets{CustomerIDs: []string{p.SourceID, p.TargetID}, TenantIDs: []string{t.ID}}
				if err := st.MoveTenant(ctx, org, t.ID, p.SourceID, p.TargetID, ev); err != nil && !errors.Is(err, store.ErrNotFound) {
					return jobs.Retry(err)
				}
				res.TenantsMoved++
				if err := checkpoint(); err != nil {
					return err
				}
			}
			res.Phase = phaseItems
		case phaseItems:
			n, err := st.MoveCustomerItems(ctx, org, p.SourceID, p.TargetID, 50)
			if err != nil {
				return jobs.Retry(err)
			}
			res.ItemsMoved += int64(n)
			if n == 0 {
				res.Phase = phaseLinks
			}
		case phaseLinks:
			src, err1 := st.GetCustomer(ctx, org, p.SourceID)
			dst, err2 := st.GetCustomer(ctx, org, p.TargetID)
			if err := errors.Join(err1, err2); err != nil {
				return jobs.Retry(err)
			}
			ev := audit.New(ctx, org, audit.Customer, "customer.merge-links",
				fmt.Sprintf("moved the PSA links of %q to %q", src.Customer.Name, dst.Customer.Name))
			ev.Targets.CustomerIDs = []string{p.SourceID, p.TargetID}
			moving := int64(len(src.Customer.PSALinks))
			conflicts, err := st.MergePSALinks(ctx, org, src.Customer, dst.Customer, ev)
			if store.ErrChangedDuringMerge(err) {
				continue // read both again
			}
			if err != nil {
				return jobs.Retry(err)
			}
			var errs []jobs.Error
			for _, c := range conflicts {
				errs = append(errs, jobs.Error{Field: "psaLinks", Message: fmt.Sprintf(
					"both customers link PSA connection %s; the target's link was kept and the source's (%s record %s) dropped",
					c.ConnectionID, c.Type, c.ExternalID)})
			}
			res.PSALinksMoved += moving - int64(len(conflicts))
			res.PSAConflicts += int64(len(conflicts))
			res.Phase = phaseDelete
			if err := checkpoint(errs...); err != nil {
				return err
			}
			continue
		case phaseDelete:
			err := deleteMergedSource(ctx, st, org, p, &res)
			if errors.Is(err, errRelink) {
				res.Phase = phaseTenants // a tenant was linked to the source meanwhile
				continue
			}
			if err != nil {
				return err
			}
			res.Phase = phaseDone
		}
		if err := checkpoint(); err != nil {
			return err
		}
	}
	return nil
}

// mergeGone handles a source that no longer exists before any of it was moved.
func mergeGone(_ context.Context, _ *jobs.Env, _ *jobs.Job, res *mergeResult, _ mergeParams, _ func(...jobs.Error) error) error {
	if res.TenantsMoved+res.ItemsMoved+res.PSALinksMoved == 0 {
		return jobs.Fail("the customer to merge was deleted before the merge started")
	}
	res.Phase, res.SourceDeleted = phaseDone, true
	return nil
}

var errRelink = errors.New("the source has tenants again")

func deleteMergedSource(ctx context.Context, st *store.Store, org string, p mergeParams, res *mergeResult) error {
	src, err := st.GetCustomer(ctx, org, p.SourceID)
	if errors.Is(err, store.ErrNotFound) {
		res.SourceDeleted = true
		return nil
	}
	if err != nil {
		return jobs.Retry(err)
	}
	dst, _ := st.GetCustomer(ctx, org, p.TargetID)
	src.Customer.PSALinks = nil // moved: their claims now belong to the target
	ev := audit.New(ctx, org, audit.Customer, "customer.merge",
		fmt.Sprintf("merged customer %q into %q and removed it", src.Customer.Name, dst.Customer.Name))
	ev.Targets.CustomerIDs = []string{p.SourceID, p.TargetID}
	err = st.DeleteCustomer(ctx, org, src.Customer, ev)
	var attached *store.TenantsAttachedError
	switch {
	case errors.As(err, &attached):
		return errRelink
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return jobs.Retry(err)
	}
	res.SourceDeleted = true
	return nil
}
