package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/mail"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// alwaysOpenBilling: an organization whose API calls are used up must still be able to
// see why and upgrade.
const alwaysOpenBilling = "billing: an organization whose API calls are used up can always see why and upgrade"

// Routes: the plan, its limits and the usage they are measured on (seeds 000, 003).
var (
	BillingGet = Route{Method: "GET", Path: "/api/billing", Permission: permission.ManageBilling, Function: "billing-get",
		Summary: "The plan, its limits, current usage against them and the billing contact", Read: fetchBilling, AlwaysOpen: alwaysOpenBilling}
	BillingPlanPut = Route{Method: "PUT", Path: "/api/billing/plan", Permission: permission.ManageBilling, Function: "billing-plan-put", Category: audit.Billing,
		Summary: "Change the plan; a downgrade below current usage is refused with what must be removed", Handler: putPlan,
		Actions: []string{"ses:SendEmail"}, AlwaysOpen: alwaysOpenBilling}
	UsageGet = Route{Method: "GET", Path: "/api/msp-portal/usage", Permission: permission.ViewData, Function: "usage-get",
		Summary: "Usage summary: managed users, managed tenants, API calls by month, and per sub-organization", Read: fetchUsage}
)

// billingRoutes are the plan and the usage summary.
func billingRoutes() []Route { return []Route{BillingGet, BillingPlanPut, UsageGet} }

// limitView is one metric's limit (nil: unlimited) and what is used of it.
type limitView struct {
	Limit *int64 `json:"limit"`
	Used  int64  `json:"used"`
}

type billingView struct {
	OrganizationID string `json:"organizationId"`
	Plan           string `json:"plan"`
	// BilledTo, on a sub-organization, is the parent whose plan and limits it shares.
	BilledTo       string                      `json:"billedTo,omitempty"`
	Plans          []string                    `json:"plans"`
	Limits         map[domain.Metric]limitView `json:"limits"`
	PeriodStart    time.Time                   `json:"periodStart"`
	PeriodEnd      time.Time                   `json:"periodEnd"`
	BillingContact domain.BillingContact       `json:"billingContact"`
}

// fetchBilling reads the bill of orgID and its API calls this month together, alongside
// the authorization read (Route.Read). A sub-organization's calls are on its parent's
// bill, read once the bill names it: one more round trip for a sub-organization only.
func fetchBilling(ctx context.Context, d *Deps, _ *http.Request, orgID string) (any, error) {
	now := d.Store.Now()
	month := domain.MonthKey(now)
	b, calls, err := billAndCalls(ctx, d, orgID, month)
	if err != nil {
		return nil, err
	}
	return billingFetched{bill: b, calls: calls, now: now}, nil
}

// billAndCalls reads orgID's bill and, at the same time, the API calls of months on the
// bill orgID would be the root of; a sub-organization's are read again on its parent's.
func billAndCalls(ctx context.Context, d *Deps, orgID string, months ...string) (store.Bill, []store.MonthCalls, error) {
	var b store.Bill
	var calls []store.MonthCalls
	var err, callsErr error
	parallel(
		func() { b, err = d.Store.GetBill(ctx, orgID) },
		func() { calls, callsErr = d.Store.APICalls(ctx, orgID, months...) },
	)
	if err != nil {
		return store.Bill{}, nil, notFoundAs(err, "organization")
	}
	if b.OrganizationID != orgID {
		calls, callsErr = d.Store.APICalls(ctx, b.OrganizationID, months...)
	}
	if callsErr != nil {
		return store.Bill{}, nil, callsErr
	}
	return b, calls, nil
}

// billingFetched is what GET /api/billing read; the billing contact comes from the
// organization authorization read.
type billingFetched struct {
	bill  store.Bill
	calls []store.MonthCalls
	now   time.Time
}

func (f billingFetched) Present(oc *access.Context) (any, error) { return f.view(oc), nil }

func (f billingFetched) view(oc *access.Context) billingView {
	b, now := f.bill, f.now
	used := b.Used
	used[domain.MetricAPICalls] = f.calls[0].Total
	v := billingView{OrganizationID: oc.Org.ID, Plan: b.Plan, Plans: domain.PlanNames(), Limits: map[domain.Metric]limitView{},
		PeriodStart: domain.MonthStart(now), PeriodEnd: domain.MonthStart(now).AddDate(0, 1, 0),
		BillingContact: oc.Org.Profile.BillingContact}
	if b.OrganizationID != oc.Org.ID {
		v.BilledTo = b.OrganizationID
	}
	for _, m := range domain.Metrics() {
		lv := limitView{Used: used[m]}
		if l := b.Limits.Of(m); l != domain.Unlimited {
			lv.Limit = &l
		}
		v.Limits[m] = lv
	}
	return v
}

// readBilling reads the bill of the organization acting and its API calls this month.
func readBilling(ctx context.Context, d *Deps, oc *access.Context) (billingView, error) {
	f, err := fetchBilling(ctx, d, nil, oc.Org.ID)
	if err != nil {
		return billingView{}, err
	}
	return f.(billingFetched).view(oc), nil
}

type planInput struct {
	Plan string `json:"plan"`
}

func putPlan(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		var in planInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		plan, ok := domain.LookupPlan(in.Plan)
		if !ok {
			problem.Write(ctx, w, r, problem.Invalidf("plan", "must be one of %v", domain.PlanNames()))
			return
		}
		if oc.Org.ParentID != "" {
			problem.Write(ctx, w, r, problem.Conflictf("plan-inherited",
				"a sub-organization has no plan of its own: it is on its parent's plan, which the parent changes"))
			return
		}
		ev := audit.New(ctx, oc.Org.ID, audit.Billing, "billing.plan-change", "changed the plan to "+plan.Name)
		prev, changed, err := d.Store.SetPlan(ctx, oc.Org.ID, plan, ev)
		if errors.Is(err, store.ErrNotFound) {
			err = notFoundAs(err, "organization")
		}
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if changed {
			d.notifyBillingContact(ctx, oc.Org, "Plan changed from "+prev+" to "+plan.Name, [][2]string{
				{"Previous plan", prev}, {"New plan", plan.Name}, {"Changed by", oc.Member.Email},
				{"API calls a month", limitText(plan.Limits.APICallsPerMonth)},
				{"Managed tenants", limitText(plan.Limits.ManagedTenants)}, {"Customers", limitText(plan.Limits.Customers)}})
		}
		v, err := readBilling(ctx, d, oc)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		write(w, http.StatusOK, v)
	})
}

func limitText(l int64) string {
	if l == domain.Unlimited {
		return "unlimited"
	}
	return strconv.FormatInt(l, 10)
}

// notifyBillingContact emails org's billing contact (seed 000: billing-related alerts
// go to them). No contact, no mail sender or a failed send is logged: the change it
// tells of is done either way.
func (d *Deps) notifyBillingContact(ctx context.Context, org domain.Organization, headline string, details [][2]string) {
	if err := sendBillingNotice(ctx, d.Mail, d.ConsoleURL, org, headline, details); err != nil {
		slog.WarnContext(ctx, "billing contact not emailed", "requestId", RequestID(ctx), "organizationId", org.ID, "err", err.Error())
	}
}

// errNoBillingContact: the organization has designated no billing contact.
var errNoBillingContact = errors.New("no billing contact is set in the organization profile")

// sendBillingNotice emails org's billing contact a notice carrying its company
// information and tax ID.
func sendBillingNotice(ctx context.Context, sender mail.Sender, consoleURL string, org domain.Organization, headline string, details [][2]string) error {
	bc := org.Profile.BillingContact
	switch {
	case bc.Email == "":
		return errNoBillingContact
	case sender == nil:
		return errors.New("no mail sender is configured")
	}
	company := org.Profile.CompanyName
	if company == "" {
		company = org.Name
	}
	msg, err := mail.BillingNotice(mail.BillingNoticeEmail{To: bc.Email, ContactName: bc.Name, OrganizationName: org.Name,
		Headline: headline, Details: details, CompanyName: company, Address: org.Profile.Address, TaxID: org.Profile.TaxID,
		URL: consoleURL + "/settings/billing"})
	if err != nil {
		return err
	}
	return sender.Send(ctx, msg)
}

type monthCallsView struct {
	Month string `json:"month"`
	Calls int64  `json:"calls"`
}

type apiCallsView struct {
	ThisMonth int64 `json:"thisMonth"`
	// Limit is the plan's monthly limit, nil when unlimited (professional).
	Limit  *int64           `json:"limit"`
	Months []monthCallsView `json:"months"`
}

type subOrgUsageView struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	ManagedUsers      int64  `json:"managedUsers"`
	ManagedTenants    int64  `json:"managedTenants"`
	Customers         int64  `json:"customers"`
	APICallsThisMonth int64  `json:"apiCallsThisMonth"`
}

type usageView struct {
	OrganizationID string `json:"organizationId"`
	Plan           string `json:"plan"`
	// ManagedUsers is the sum of licensed users over the tenants (with the
	// sub-organizations' for an MSP).
	ManagedUsers   int64        `json:"managedUsers"`
	ManagedTenants int64        `json:"managedTenants"`
	Customers      int64        `json:"customers"`
	APICalls       apiCallsView `json:"apiCalls"`
	// SubOrganizations, for an organization with any, break the usage down (the
	// first page of them by name; NextCursor pages on).
	SubOrganizations []subOrgUsageView `json:"subOrganizations,omitempty"`
	NextCursor       string            `json:"nextCursor,omitempty"`
}

// usageMonths is how many months of API calls the summary shows, this one included.
const usageMonths = 6

// fetchUsage builds the usage summary from counters: the bill's item and the API-call
// shards of six months read together, alongside the authorization read (Route.Read);
// then a sub-organization's own counters, or for an MSP with sub-organizations one page
// of them, which carry their own counters.
func fetchUsage(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	pg, err := page(r)
	if err != nil {
		return nil, err
	}
	now := d.Store.Now()
	months := make([]string, usageMonths)
	for i := range months {
		months[i] = domain.MonthKey(domain.MonthStart(now).AddDate(0, -i, 0))
	}
	b, calls, err := billAndCalls(ctx, d, orgID, months...)
	if err != nil {
		return nil, err
	}
	v := usageView{OrganizationID: orgID, Plan: b.Plan}
	if l := b.Limits.APICallsPerMonth; l != domain.Unlimited {
		v.APICalls.Limit = &l
	}
	sub := b.OrganizationID != orgID
	for _, c := range calls {
		n := c.Total
		if sub {
			n = c.ByOrg[orgID] // a sub-organization sees its own calls
		}
		v.APICalls.Months = append(v.APICalls.Months, monthCallsView{Month: c.Month, Calls: n})
	}
	v.APICalls.ThisMonth = v.APICalls.Months[0].Calls
	if sub {
		own, err := d.Store.GetOwnUsage(ctx, orgID)
		if err != nil {
			return nil, notFoundAs(err, "organization")
		}
		v.ManagedUsers, v.ManagedTenants, v.Customers = own.ManagedUsers, own.ManagedTenants, own.Customers
		return v, nil
	}
	v.ManagedUsers, v.ManagedTenants, v.Customers = b.ManagedUsers, b.Used[domain.MetricManagedTenants], b.Used[domain.MetricCustomers]
	if b.Used[domain.MetricSubOrganizations] == 0 {
		return v, nil
	}
	subs, next, err := d.Store.ListSubOrganizations(ctx, orgID, "", pg)
	if err != nil {
		return nil, err
	}
	v.SubOrganizations = make([]subOrgUsageView, 0, len(subs))
	for _, s := range subs {
		v.SubOrganizations = append(v.SubOrganizations, subOrgUsageView{ID: s.Organization.ID, Name: s.Organization.Name,
			ManagedUsers: s.ManagedUsers, ManagedTenants: s.Usage.ManagedTenants, Customers: s.Customers,
			APICallsThisMonth: calls[0].ByOrg[s.Organization.ID]})
	}
	v.NextCursor = next
	return v, nil
}
