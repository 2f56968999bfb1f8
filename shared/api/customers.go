package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Routes: seed 001's customer API, with unlinking a tenant.
var (
	CustomersList = Route{Method: "GET", Path: "/api/msp-portal/customers", Permission: permission.ViewData, Function: "customers-list",
		Summary: "List all customers with summary data", Read: fetchCustomers}
	CustomersCreate = Route{Method: "POST", Path: "/api/msp-portal/customers", Permission: permission.ManageCustomers, Function: "customers-create", Category: audit.Customer,
		Summary: "Create a new customer record", Handler: createCustomer}
	CustomersGet = Route{Method: "GET", Path: "/api/msp-portal/customers/{customerId}", Permission: permission.ViewData, Function: "customers-get",
		Summary: "Get customer details including associated tenants", Read: fetchCustomer}
	CustomersUpdate = Route{Method: "PUT", Path: "/api/msp-portal/customers/{customerId}", Permission: permission.ManageCustomers, Function: "customers-update", Category: audit.Customer,
		Summary: "Update customer information", Handler: updateCustomer, Actions: []string{"dynamodb:DeleteItem"}}
	CustomersDelete = Route{Method: "DELETE", Path: "/api/msp-portal/customers/{customerId}", Permission: permission.DeleteCustomers, Function: "customers-delete", Category: audit.Customer,
		Summary: "Delete customer (must have no associated tenants)", Handler: deleteCustomer, Actions: []string{"dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}}
	CustomersTenantsAssociate = Route{Method: "POST", Path: "/api/msp-portal/customers/{customerId}/tenants", Permission: permission.ManageCustomers, Function: "customers-tenants-associate", Category: audit.Tenant,
		Summary: "Associate a tenant with this customer", Handler: associateTenant}
	CustomersTenantsUnlink = Route{Method: "DELETE", Path: "/api/msp-portal/customers/{customerId}/tenants/{tenantId}", Permission: permission.ManageCustomers, Function: "customers-tenants-unlink", Category: audit.Tenant,
		Summary: "Remove a tenant's association with this customer", Handler: unlinkTenant, Actions: []string{"dynamodb:DeleteItem"}}
)

// customerRoutes are seed 001's customer API, with unlinking a tenant.
func customerRoutes() []Route {
	return []Route{CustomersExport, CustomersImport, CustomersMerge, CustomersList, CustomersCreate, CustomersGet, CustomersUpdate, CustomersDelete, CustomersTenantsAssociate, CustomersTenantsUnlink}
}

// customerView is a customer as the list and the detail show it: seed 001's columns.
type customerView struct {
	ID                  string               `json:"id"`
	Name                string               `json:"name"`
	PrimaryContactName  string               `json:"primaryContactName"`
	PrimaryContactEmail string               `json:"primaryContactEmail"`
	Phone               string               `json:"phone"`
	Address             string               `json:"address"`
	PostalAddress       domain.PostalAddress `json:"postalAddress"`
	Website             string               `json:"website"`
	Notes               string               `json:"notes"`
	PSALinks            []domain.PSALink     `json:"psaLinks"`
	ExternalID          string               `json:"externalId"`
	Archived            bool                 `json:"archived"`
	TenantCount         int64                `json:"tenantCount"`
	TotalUsers          int64                `json:"totalUsers"`
	TotalLicenses       int64                `json:"totalLicenses"`
	SecurityScore       float64              `json:"securityScore"`
	Health              string               `json:"health"`
	CreatedAt           time.Time            `json:"createdAt"`
	UpdatedAt           time.Time            `json:"updatedAt"`
	Version             int64                `json:"version"`
}

func viewCustomer(c domain.Customer) customerView {
	links := c.PSALinks
	if links == nil {
		links = []domain.PSALink{}
	}
	return customerView{ID: c.ID, Name: c.Name, PrimaryContactName: c.PrimaryContactName, PrimaryContactEmail: c.PrimaryContactEmail,
		Phone: c.Phone, Address: c.Address, PostalAddress: c.PostalAddress, Website: c.Website, Notes: c.Notes, PSALinks: links, ExternalID: c.ExternalID, Archived: c.Archived,
		TenantCount: c.TenantCount, TotalUsers: c.TotalUsers, TotalLicenses: c.TotalLicenses,
		SecurityScore: roundScore(c.SecurityScore()), Health: c.Health(), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Version: c.Version}
}

func roundScore(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// customerDetailView adds the tenants the caller may see.
type customerDetailView struct {
	customerView
	Tenants []tenantView `json:"tenants"`
}

// Warning is a non-blocking remark on a successful write.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type customerWritten struct {
	customerDetailView
	Warnings []Warning `json:"warnings"`
}

// visibleCustomer applies the tenant scope: a member scoped to selected tenants sees a
// customer only when one of its tenants is in scope.
func visibleCustomer(oc *access.Context, p permission.Permission, c domain.Customer) bool {
	return oc.Scope().AnyTenantAllowed(p, c.TenantIDs)
}

func detail(oc *access.Context, d store.CustomerDetail) customerDetailView {
	v := customerDetailView{customerView: viewCustomer(d.Customer), Tenants: []tenantView{}}
	for _, t := range d.Tenants {
		if oc.Scope().TenantAllowed(permission.ViewData, t.ID) {
			v.Tenants = append(v.Tenants, viewTenant(t))
		}
	}
	return v
}

func fetchCustomers(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	p, err := page(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	var v problem.Validation
	query := store.CustomerQuery{Page: p, SortBy: q.Get("sort"), NamePrefix: strings.TrimSpace(q.Get("q"))}
	v.Check(query.SortBy != "" && query.SortBy != "name" && query.SortBy != "created", "sort", "must be name or created")
	switch q.Get("order") {
	case "", "asc":
	case "desc":
		query.Descending = true
	default:
		v.Add("order", "must be asc or desc")
	}
	switch q.Get("archived") {
	case "", "false":
	case "true":
		query.Archived = true
	default:
		v.Add("archived", "must be true or false")
	}
	v.Check(query.NamePrefix != "" && query.SortBy == "created", "q", "searches by name; sort by name to search")
	v.Check(utf8.RuneCountInString(query.NamePrefix) > domain.MaxNameLength, "q", "must be at most %d characters", domain.MaxNameLength)
	if err := v.Err(); err != nil {
		return nil, err
	}
	customers, next, err := d.Store.ListCustomers(ctx, orgID, query)
	if err != nil {
		return nil, err
	}
	return customerPage{customers, next}, nil
}

type customerPage struct {
	customers []domain.Customer
	next      string
}

// Present keeps the customers the caller's tenant scope shows.
func (p customerPage) Present(oc *access.Context) (any, error) {
	keep := func(c domain.Customer) bool { return visibleCustomer(oc, permission.ViewData, c) }
	return filtered(p.customers, p.next, keep, viewCustomer), nil
}

func fetchCustomer(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	got, err := d.Store.GetCustomer(ctx, orgID, r.PathValue("customerId"))
	if err != nil {
		return nil, notFoundAs(err, "customer")
	}
	return customerFetched(got), nil
}

type customerFetched store.CustomerDetail

// Present hides a customer outside the caller's tenant scope and its tenants outside it.
func (f customerFetched) Present(oc *access.Context) (any, error) {
	if !visibleCustomer(oc, permission.ViewData, f.Customer) {
		return nil, problem.NotFoundf("the customer was not found")
	}
	return detail(oc, store.CustomerDetail(f)), nil
}

// loadCustomer reads the customer of the path and applies the caller's scope for p.
func loadCustomer(ctx context.Context, d *Deps, r *http.Request, p permission.Permission) (store.CustomerDetail, error) {
	return loadCustomerByID(ctx, d, r.PathValue("customerId"), p)
}

// loadCustomerByID is loadCustomer for a customer id from elsewhere than the path (an
// approved request's).
func loadCustomerByID(ctx context.Context, d *Deps, id string, p permission.Permission) (store.CustomerDetail, error) {
	oc := access.From(ctx)
	got, err := d.Store.GetCustomer(ctx, oc.Org.ID, id)
	if err != nil {
		return store.CustomerDetail{}, notFoundAs(err, "customer")
	}
	switch {
	case visibleCustomer(oc, p, got.Customer):
		return got, nil
	case visibleCustomer(oc, permission.ViewData, got.Customer):
		return store.CustomerDetail{}, problem.New(problem.Forbidden, "forbidden", "your role does not allow: "+permission.Describe(p))
	}
	return store.CustomerDetail{}, problem.NotFoundf("the customer was not found")
}

type customerInput struct {
	Name                *string `json:"name"`
	PrimaryContactName  string  `json:"primaryContactName"`
	PrimaryContactEmail string  `json:"primaryContactEmail"`
	Phone               string  `json:"phone"`
	Address             string  `json:"address"`
	// PostalAddress and Website absent (or null) keep what is stored: a client that
	// knows only the seed's fields does not clear them (and the PSA's with them).
	PostalAddress *domain.PostalAddress `json:"postalAddress"`
	Website       *string               `json:"website"`
	Notes         string                `json:"notes"`
	PSALinks      []domain.PSALink      `json:"psaLinks"`
	ExternalID    string                `json:"externalId"`
	Archived      *bool                 `json:"archived"`
	Version       *int64                `json:"version"`
}

// apply copies the editable fields onto c and validates them.
func (in customerInput) apply(c *domain.Customer) error {
	if in.Name != nil {
		c.Name = *in.Name
	} else {
		c.Name = ""
	}
	c.PrimaryContactName, c.PrimaryContactEmail, c.Phone = in.PrimaryContactName, in.PrimaryContactEmail, in.Phone
	c.Address, c.Notes, c.PSALinks, c.ExternalID = in.Address, in.Notes, in.PSALinks, in.ExternalID
	prev := c.PostalAddress
	if in.PostalAddress != nil {
		c.PostalAddress = *in.PostalAddress
	}
	if in.Website != nil {
		c.Website = *in.Website
	}
	c.Normalize()
	c.FollowParts(prev)
	var v problem.Validation
	c.Validate(&v, "")
	return v.Err()
}

func duplicateKeyProblem(err error) error {
	var dup *store.DuplicateKeyError
	if errors.As(err, &dup) {
		kind, value, _ := strings.Cut(dup.Key, "#")
		field, code := "externalId", "duplicate-external-id"
		if kind == "psa" {
			field, code = "psaLinks", "duplicate-psa-link"
			value = strings.Replace(value, "#", " record ", 1)
		}
		pe := problem.Conflictf(code, "customer %s already has %s %s", dup.CustomerID, field, value)
		pe.Extra = map[string]any{"customerId": dup.CustomerID, "field": field}
		return pe
	}
	return err
}

func (d *Deps) nameWarnings(ctx context.Context, orgID, name, except string) []Warning {
	dup, err := d.Store.HasCustomerNamed(ctx, orgID, name, except)
	if err != nil || !dup {
		return []Warning{}
	}
	return []Warning{{Code: "duplicate-name", Message: fmt.Sprintf("another customer is also named %q", name)}}
}

func createCustomer(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		if !oc.Scope().AllTenantsAllowed(permission.ManageCustomers) {
			problem.Write(ctx, w, r, problem.New(problem.Forbidden, "forbidden", "creating a customer needs access to all tenants"))
			return
		}
		var in customerInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		now := d.Store.Now()
		c := domain.Customer{ID: domain.NewID(), CreatedAt: now, UpdatedAt: now}
		if err := in.apply(&c); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		c.Archived = in.Archived != nil && *in.Archived
		if c.Archived && !oc.Can(permission.DeleteCustomers) {
			problem.Write(ctx, w, r, problem.New(problem.Forbidden, "forbidden", "your role does not allow: "+permission.Describe(permission.DeleteCustomers)))
			return
		}
		// The duplicate-name check only warns, so it runs beside the write.
		warned := make(chan []Warning, 1)
		go func() { warned <- d.nameWarnings(ctx, oc.Org.ID, c.Name, c.ID) }()
		ev := audit.New(ctx, oc.Org.ID, audit.Customer, "customer.create", fmt.Sprintf("created customer %q", c.Name))
		ev.Targets.CustomerIDs = []string{c.ID}
		err := d.Store.CreateCustomer(ctx, oc.Org.ID, c, ev)
		warnings := <-warned
		if err != nil {
			problem.Write(ctx, w, r, duplicateKeyProblem(err))
			return
		}
		w.Header().Set("Location", "/api/msp-portal/customers/"+c.ID)
		c.Version = 1
		write(w, http.StatusCreated, customerWritten{customerDetailView{viewCustomer(c), []tenantView{}}, warnings})
	})
}

func updateCustomer(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		cur, err := loadCustomer(ctx, d, r, permission.ManageCustomers)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var in customerInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if in.Archived != nil && *in.Archived != cur.Customer.Archived && !oc.Can(permission.DeleteCustomers) {
			problem.Write(ctx, w, r, problem.New(problem.Forbidden, "forbidden", "your role does not allow: "+permission.Describe(permission.DeleteCustomers)))
			return
		}
		// The duplicate-name check only warns, so it runs beside the write, for the name
		// the input gives (input that does not apply is refused below, unchecked).
		warned := make(chan []Warning, 1)
		if probe := cur.Customer; in.apply(&probe) == nil {
			go func() { warned <- d.nameWarnings(ctx, oc.Org.ID, probe.Name, probe.ID) }()
		} else {
			warned <- []Warning{}
		}
		next, err := d.Store.UpdateCustomerFrom(ctx, oc.Org.ID, cur.Customer, in.Version, func(c *domain.Customer) (audit.Event, error) {
			before := *c
			if err := in.apply(c); err != nil {
				return audit.Event{}, err
			}
			if in.Archived != nil {
				c.Archived = *in.Archived
			}
			action, summary := "customer.update", fmt.Sprintf("updated customer %q", c.Name)
			if c.Archived != before.Archived {
				action, summary = "customer.archive", fmt.Sprintf("archived customer %q", c.Name)
				if !c.Archived {
					action, summary = "customer.unarchive", fmt.Sprintf("restored customer %q from the archive", c.Name)
				}
			}
			ev := audit.New(ctx, oc.Org.ID, audit.Customer, action, summary)
			ev.Targets.CustomerIDs = []string{c.ID}
			ev.Changes = diff(viewCustomer(before), viewCustomer(*c))
			return ev, nil
		})
		warnings := <-warned
		if err != nil {
			problem.Write(ctx, w, r, duplicateKeyProblem(err))
			return
		}
		cur.Customer = next
		write(w, http.StatusOK, customerWritten{detail(oc, cur), warnings})
	})
}

func deleteCustomer(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		cur, err := loadCustomer(ctx, d, r, permission.DeleteCustomers)
		if problem.As(err).Kind == problem.NotFound {
			// A delete that committed but could not empty a very large partition is
			// finished by its repeat.
			if purged, perr := d.Store.PurgeDeletedCustomer(ctx, oc.Org.ID, r.PathValue("customerId")); perr == nil && purged {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if cur.Customer.TenantCount > 0 {
			problem.Write(ctx, w, r, tenantsAttached(cur.Customer.TenantCount))
			return
		}
		if oc.Org.Profile.RequiresApproval(domain.ActionDeleteCustomer) {
			d.hold(w, r, domain.ActionDeleteCustomer, fmt.Sprintf("delete customer %q", cur.Customer.Name),
				domain.HeldAction{CustomerID: cur.Customer.ID}, audit.Targets{CustomerIDs: []string{cur.Customer.ID}})
			return
		}
		if err := d.deleteCustomerNow(ctx, cur.Customer); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// deleteCustomerNow deletes a customer read with no tenants, with its audit event;
// the delete route and an approved delete-customer request share it. The store
// refuses (409 customer-has-tenants) a customer that gained a tenant since.
func (d *Deps) deleteCustomerNow(ctx context.Context, c domain.Customer) error {
	oc := access.From(ctx)
	ev := audit.New(ctx, oc.Org.ID, audit.Customer, "customer.delete", fmt.Sprintf("deleted customer %q", c.Name))
	ev.Targets.CustomerIDs = []string{c.ID}
	err := d.Store.DeleteCustomer(ctx, oc.Org.ID, c, ev)
	var attached *store.TenantsAttachedError
	if errors.As(err, &attached) {
		err = tenantsAttached(attached.Count)
	}
	return notFoundAs(err, "customer")
}

func tenantsAttached(n int64) error {
	pe := problem.Conflictf("customer-has-tenants", "the customer has %d associated tenants; unlink them or archive the customer instead", n)
	pe.Extra = map[string]any{"tenantCount": n}
	return pe
}

type associateInput struct {
	TenantID *string `json:"tenantId"`
}

func associateTenant(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		customerID := r.PathValue("customerId")
		// The customer must be reachable, inside the caller's scope (404), before the
		// body is validated (400).
		cust, err := loadCustomer(ctx, d, r, permission.ManageCustomers)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var in associateInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if in.TenantID == nil || strings.TrimSpace(*in.TenantID) == "" {
			problem.Write(ctx, w, r, problem.Invalidf("tenantId", "is required"))
			return
		}
		tenantID := strings.TrimSpace(*in.TenantID)
		if err := tenantReachable(oc, permission.ManageCustomers, tenantID); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		ev := audit.New(ctx, oc.Org.ID, audit.Tenant, "tenant.associate", fmt.Sprintf("associated a tenant with customer %q", cust.Customer.Name))
		ev.Targets = audit.Targets{CustomerIDs: []string{customerID}, TenantIDs: []string{tenantID}}
		tenant, err := d.Store.AssociateTenant(ctx, oc.Org.ID, customerID, tenantID, ev)
		var linked *store.AlreadyLinkedError
		if errors.As(err, &linked) {
			pe := problem.Conflictf("tenant-linked", "the tenant belongs to another customer; unlink it there first")
			if visibleCustomerID(ctx, d, oc, linked.CustomerID) {
				pe.Extra = map[string]any{"customerId": linked.CustomerID}
			}
			err = pe
		}
		if err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "tenant"))
			return
		}
		got, err := d.Store.GetCustomer(ctx, oc.Org.ID, customerID)
		if err != nil {
			// The association is committed: answer from what this request read and
			// wrote rather than fail a change that was made.
			slog.WarnContext(ctx, "associated customer not read again", "requestId", RequestID(ctx), "err", err.Error())
			got = cust
			if !slices.ContainsFunc(got.Tenants, func(t domain.Tenant) bool { return t.ID == tenant.ID }) {
				got.Tenants = append(slices.Clone(got.Tenants), tenant)
			}
			got.Customer.Counters = store.WithTenant(got.Customer.Counters, tenant)
		}
		write(w, http.StatusOK, detail(oc, got))
	})
}

// visibleCustomerID reports whether the caller may learn of customer id.
func visibleCustomerID(ctx context.Context, d *Deps, oc *access.Context, id string) bool {
	got, err := d.Store.GetCustomer(ctx, oc.Org.ID, id)
	return err == nil && visibleCustomer(oc, permission.ViewData, got.Customer)
}

func unlinkTenant(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		customerID, tenantID := r.PathValue("customerId"), r.PathValue("tenantId")
		if err := tenantReachable(oc, permission.ManageCustomers, tenantID); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		ev := audit.New(ctx, oc.Org.ID, audit.Tenant, "tenant.unlink", "removed a tenant from its customer")
		ev.Targets = audit.Targets{CustomerIDs: []string{customerID}, TenantIDs: []string{tenantID}}
		if err := d.Store.UnlinkTenant(ctx, oc.Org.ID, customerID, tenantID, ev); err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "tenant association"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
