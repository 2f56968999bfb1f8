package permission

import "slices"

// Tenant scope modes. An empty mode means all tenants (an invitation without a scope
// grants all tenants).
const (
	ScopeAll       = "all"
	ScopeSelected  = "selected"
	ScopeAllExcept = "all-except"
)

// Scope limits the tenants a member's scoped permissions reach.
type Scope struct {
	Mode      string   `json:"mode"`
	TenantIDs []string `json:"tenantIds,omitempty"`
}

// covers reports whether the scope includes tenantID. A scope that cannot be resolved
// (an unknown mode, an empty tenant id) denies.
func (s Scope) covers(tenantID string) bool {
	if tenantID == "" {
		return false
	}
	switch s.Mode {
	case "", ScopeAll:
		return true
	case ScopeSelected:
		return slices.Contains(s.TenantIDs, tenantID)
	case ScopeAllExcept:
		return !slices.Contains(s.TenantIDs, tenantID)
	}
	return false
}

// coversAll reports whether the scope is every tenant, present and future.
func (s Scope) coversAll() bool { return s.Mode == "" || s.Mode == ScopeAll }

// Member is what the scope checks need to know about a caller.
type Member struct {
	Role        Role
	Permissions []Permission
	Scope       Scope
}

// TenantAllowed is the tenant scope check every tenant-bound route calls: whether m
// may use p on tenant tenantID. Owners and Administrators reach every tenant; scoped
// grants reach only tenants inside the member's scope.
func (m Member) TenantAllowed(p Permission, tenantID string) bool {
	switch GrantFor(m.Role, m.Permissions, p) {
	case Allowed:
		return tenantID != ""
	case Scoped, ScopedApproval:
		return AllTenants(m.Role) || m.Scope.covers(tenantID)
	}
	return false
}

// AllTenantsAllowed is whether m may use p across every tenant, as creating a
// customer or a tenant needs: a scoped member may not act on tenants outside the scope,
// and a new object is outside every list of selected tenants.
func (m Member) AllTenantsAllowed(p Permission) bool {
	switch GrantFor(m.Role, m.Permissions, p) {
	case Allowed:
		return true
	case Scoped, ScopedApproval:
		return AllTenants(m.Role) || m.Scope.coversAll()
	}
	return false
}

// AnyTenantAllowed reports whether m may use p on at least one of tenantIDs.
func (m Member) AnyTenantAllowed(p Permission, tenantIDs []string) bool {
	if m.AllTenantsAllowed(p) {
		return true
	}
	for _, id := range tenantIDs {
		if m.TenantAllowed(p, id) {
			return true
		}
	}
	return false
}
