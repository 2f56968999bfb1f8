package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Routes: the Microsoft 365 tenants as their own resource.
var (
	TenantsList = Route{Method: "GET", Path: "/api/msp-portal/tenants", Permission: permission.ViewData, Function: "tenants-list",
		Summary: "List the organization's Microsoft 365 tenants", Read: fetchTenants}
	TenantsCreate = Route{Method: "POST", Path: "/api/msp-portal/tenants", Permission: permission.ManageCustomers, Function: "tenants-create", Category: audit.Tenant,
		Summary: "Register a Microsoft 365 tenant", Handler: createTenant}
	TenantsGet = Route{Method: "GET", Path: "/api/msp-portal/tenants/{tenantId}", Permission: permission.ViewData, Function: "tenants-get",
		Summary: "Get a tenant", Read: fetchTenant}
	TenantsUpdate = Route{Method: "PUT", Path: "/api/msp-portal/tenants/{tenantId}", Permission: permission.ManageCustomers, Function: "tenants-update", Category: audit.Tenant,
		Summary: "Update a tenant", Handler: updateTenant, Actions: []string{"dynamodb:DeleteItem"}}
)

// tenantRoutes are the Microsoft 365 tenants as their own resource.
func tenantRoutes() []Route {
	return []Route{TenantsList, TenantsCreate, TenantsGet, TenantsUpdate}
}

type tenantView struct {
	ID               string              `json:"id"`
	EntraTenantID    string              `json:"entraTenantId"`
	PrimaryDomain    string              `json:"primaryDomain"`
	DisplayName      string              `json:"displayName"`
	LicensedUsers    int64               `json:"licensedUsers"`
	Licenses         []domain.SKULicense `json:"licenses"`
	AssignedLicenses int64               `json:"assignedLicenses"`
	SecurityScore    float64             `json:"securityScore"`
	Health           string              `json:"health"`
	CustomerID       string              `json:"customerId"`
	Sync             *domain.TenantSync  `json:"sync,omitempty"`
	CreatedAt        time.Time           `json:"createdAt"`
	UpdatedAt        time.Time           `json:"updatedAt"`
	Version          int64               `json:"version"`
}

func viewTenant(t domain.Tenant) tenantView {
	lic := t.Licenses
	if lic == nil {
		lic = []domain.SKULicense{}
	}
	return tenantView{ID: t.ID, EntraTenantID: t.EntraTenantID, PrimaryDomain: t.PrimaryDomain, DisplayName: t.DisplayName,
		LicensedUsers: t.LicensedUsers, Licenses: lic, AssignedLicenses: t.AssignedLicenses(), SecurityScore: t.SecurityScore,
		Health: t.Health, CustomerID: t.CustomerID, Sync: t.Sync, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Version: t.Version}
}

func fetchTenants(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	p, prefix, err := namedPage(r)
	if err != nil {
		return nil, err
	}
	tenants, next, err := d.Store.ListTenants(ctx, orgID, prefix, p)
	if err != nil {
		return nil, err
	}
	return tenantPage{tenants, next}, nil
}

type tenantPage struct {
	tenants []domain.Tenant
	next    string
}

// Present keeps the tenants inside the caller's scope.
func (p tenantPage) Present(oc *access.Context) (any, error) {
	keep := func(t domain.Tenant) bool { return oc.Scope().TenantAllowed(permission.ViewData, t.ID) }
	return filtered(p.tenants, p.next, keep, viewTenant), nil
}

func fetchTenant(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	t, err := d.Store.GetTenant(ctx, orgID, r.PathValue("tenantId"))
	if err != nil {
		return nil, notFoundAs(err, "tenant")
	}
	return tenantFetched(t), nil
}

type tenantFetched domain.Tenant

// Present hides a tenant outside the caller's scope.
func (t tenantFetched) Present(oc *access.Context) (any, error) {
	if !oc.Scope().TenantAllowed(permission.ViewData, t.ID) {
		return nil, problem.NotFoundf("the tenant was not found")
	}
	return viewTenant(domain.Tenant(t)), nil
}

type tenantInput struct {
	EntraTenantID string              `json:"entraTenantId"`
	PrimaryDomain string              `json:"primaryDomain"`
	DisplayName   string              `json:"displayName"`
	LicensedUsers int64               `json:"licensedUsers"`
	Licenses      []domain.SKULicense `json:"licenses"`
	SecurityScore float64             `json:"securityScore"`
	Health        string              `json:"health"`
	Version       *int64              `json:"version"`
}

func (in tenantInput) apply(t *domain.Tenant) error {
	t.EntraTenantID, t.PrimaryDomain, t.DisplayName = in.EntraTenantID, in.PrimaryDomain, in.DisplayName
	t.LicensedUsers, t.Licenses, t.SecurityScore, t.Health = in.LicensedUsers, in.Licenses, in.SecurityScore, in.Health
	t.Normalize()
	return t.Validate()
}

// tenantReachable is the scope check of a tenant-bound write: a tenant outside the
// caller's scope is not found; one they may see but not change is forbidden.
func tenantReachable(oc *access.Context, p permission.Permission, tenantID string) error {
	switch {
	case oc.Scope().TenantAllowed(p, tenantID):
		return nil
	case oc.Scope().TenantAllowed(permission.ViewData, tenantID):
		return problem.New(problem.Forbidden, "forbidden", "your role does not allow: "+permission.Describe(p))
	}
	return problem.NotFoundf("the tenant was not found")
}

func entraTaken(err error) error {
	if errors.Is(err, store.ErrEntraTenantTaken) {
		return problem.Conflictf("entra-tenant-registered", "a tenant with this Entra tenant id is already registered in this organization")
	}
	return err
}

func createTenant(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		if !oc.Scope().AllTenantsAllowed(permission.ManageCustomers) {
			problem.Write(ctx, w, r, problem.New(problem.Forbidden, "forbidden", "registering a tenant needs access to all tenants"))
			return
		}
		var in tenantInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		now := d.Store.Now()
		t := domain.Tenant{ID: domain.NewID(), CreatedAt: now, UpdatedAt: now}
		if err := in.apply(&t); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		ev := audit.New(ctx, oc.Org.ID, audit.Tenant, "tenant.create", fmt.Sprintf("registered tenant %s (%s)", t.DisplayName, t.PrimaryDomain))
		ev.Targets.TenantIDs = []string{t.ID}
		if err := d.Store.CreateTenant(ctx, oc.Org.ID, t, ev); err != nil {
			problem.Write(ctx, w, r, entraTaken(err))
			return
		}
		t.Version = 1
		w.Header().Set("Location", "/api/msp-portal/tenants/"+t.ID)
		write(w, http.StatusCreated, viewTenant(t))
	})
}

func updateTenant(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		id := r.PathValue("tenantId")
		if err := tenantReachable(oc, permission.ManageCustomers, id); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		cur, err := d.Store.GetTenant(ctx, oc.Org.ID, id)
		if err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "tenant"))
			return
		}
		var in tenantInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		next, err := d.Store.UpdateTenantFrom(ctx, oc.Org.ID, cur, in.Version, func(t *domain.Tenant) (audit.Event, error) {
			before := *t
			if err := in.apply(t); err != nil {
				return audit.Event{}, err
			}
			ev := audit.New(ctx, oc.Org.ID, audit.Tenant, "tenant.update", fmt.Sprintf("updated tenant %s", t.DisplayName))
			ev.Targets.TenantIDs = []string{t.ID}
			if t.CustomerID != "" {
				ev.Targets.CustomerIDs = []string{t.CustomerID}
			}
			ev.Changes = diff(viewTenant(before), viewTenant(*t))
			return ev, nil
		})
		if err != nil {
			problem.Write(ctx, w, r, entraTaken(err))
			return
		}
		write(w, http.StatusOK, viewTenant(next))
	})
}
