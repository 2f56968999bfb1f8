// Package permission holds the pinned permission table of DESIGN.md: the permissions a
// route can require and which built-in role holds each. It is the only place in code
// that says what a role may do.
package permission

import (
	"fmt"
	"slices"
)

// Permission names one capability. Routes name exactly one.
type Permission string

// Route-level permissions that need no role.
const (
	// Public routes need no token at all.
	Public Permission = "public"
	// Authenticated routes need a signed-in user and no organization.
	Authenticated Permission = "authenticated"
)

// Organization permissions, one per row of the DESIGN.md table.
const (
	ViewData            Permission = "view-data"
	ManageCustomers     Permission = "manage-customers"
	DeleteCustomers     Permission = "delete-customers"
	ManageUsers         Permission = "manage-users"
	ManageDevices       Permission = "manage-devices"
	RunAutomation       Permission = "run-automation"
	OrderLicenses       Permission = "order-licenses"
	ApproveRequests     Permission = "approve-requests"
	PlatformSettings    Permission = "platform-settings"
	ViewAuditLog        Permission = "view-audit-log"
	ManageBilling       Permission = "manage-billing"
	ManagePlatformUsers Permission = "manage-platform-users"
	ManageSubOrgs       Permission = "manage-sub-organizations"
	RenameOrganization  Permission = "rename-organization"
	DeleteOrganization  Permission = "delete-organization"
)

// Role is a member's role inside one organization, written as the seeds write it.
type Role string

// The built-in roles.
const (
	Owner         Role = "Owner"
	Administrator Role = "Administrator"
	Technician    Role = "Technician"
	ReadOnly      Role = "Read-Only"
	Custom        Role = "Custom"
)

// Grant says how a role holds a permission.
type Grant int

const (
	// Denied: the role lacks the permission.
	Denied Grant = iota
	// Allowed: the role holds it for every tenant of the organization.
	Allowed
	// Scoped: the role holds it only for tenants inside the member's tenant scope.
	Scoped
	// ScopedApproval: the role may request it, inside its scope, and an
	// Administrator must approve the request.
	ScopedApproval
)

// row is one line of the pinned table.
type row struct {
	perm                   Permission
	description            string
	owner, admin, tech, ro Grant
	ownerOnly              bool
}

// table is DESIGN.md's "Permissions (pinned)" table, row for row.
var table = []row{
	{ViewData, "view data, dashboards, reports, usage; export data", Allowed, Allowed, Scoped, Allowed, false},
	{ManageCustomers, "manage customers and tenants (create, edit, associate, import)", Allowed, Allowed, Scoped, Denied, false},
	{DeleteCustomers, "delete, archive and merge customers", Allowed, Allowed, Denied, Denied, false},
	{ManageUsers, "manage users (company users, tenant users)", Allowed, Allowed, Scoped, Denied, false},
	{ManageDevices, "manage devices", Allowed, Allowed, Scoped, Denied, false},
	{RunAutomation, "run automation (imports, syncs)", Allowed, Allowed, Scoped, Denied, false},
	{OrderLicenses, "order licenses", Allowed, Allowed, ScopedApproval, Denied, false},
	{ApproveRequests, "approve requests", Allowed, Allowed, Denied, Denied, false},
	{PlatformSettings, "platform settings (profile, authentication, connections, onboarding)", Allowed, Allowed, Denied, Denied, false},
	{ViewAuditLog, "view the audit log", Allowed, Allowed, Denied, Allowed, false},
	{ManageBilling, "manage billing (plan, billing contact; view billing)", Allowed, Allowed, Denied, Denied, false},
	{ManagePlatformUsers, "manage platform users (invite, change role or scope, remove)", Allowed, Allowed, Denied, Denied, false},
	{ManageSubOrgs, "manage and support sub-organizations", Allowed, Allowed, Denied, Denied, false},
	{RenameOrganization, "rename the organization", Allowed, Allowed, Denied, Denied, false},
	{DeleteOrganization, "delete the organization, transfer ownership", Allowed, Denied, Denied, Denied, true},
}

// All lists every organization permission in table order.
func All() []Permission {
	out := make([]Permission, len(table))
	for i, r := range table {
		out[i] = r.perm
	}
	return out
}

// Roles lists the built-in roles in seed order.
func Roles() []Role { return []Role{Owner, Administrator, Technician, ReadOnly, Custom} }

// Describe returns the table's wording for a permission.
func Describe(p Permission) string {
	if r, ok := find(p); ok {
		return r.description
	}
	if r, ok := findPortal(p); ok {
		return r.description
	}
	return string(p)
}

func find(p Permission) (row, bool) {
	for _, r := range table {
		if r.perm == p {
			return r, true
		}
	}
	return row{}, false
}

// Valid reports whether p is a route permission: public, authenticated, a table row or
// a portal permission.
func Valid(p Permission) bool {
	if p == Public || p == Authenticated || IsPortal(p) {
		return true
	}
	_, ok := find(p)
	return ok
}

// ValidRole reports whether r is one of the built-in roles.
func ValidRole(r Role) bool { return slices.Contains(Roles(), r) }

// GrantFor says how role holds p. For Custom, custom lists the permissions picked for
// the member; they are held within the member's tenant scope, and owner-only
// permissions are never held. Unknown roles and permissions are denied: nothing is
// allowed by default.
func GrantFor(role Role, custom []Permission, p Permission) Grant {
	r, ok := find(p)
	if !ok {
		return Denied
	}
	switch role {
	case Owner:
		return r.owner
	case Administrator:
		return r.admin
	case Technician:
		return r.tech
	case ReadOnly:
		return r.ro
	case Custom:
		if r.ownerOnly || !slices.Contains(custom, p) {
			return Denied
		}
		if p == OrderLicenses {
			return ScopedApproval
		}
		return Scoped
	}
	return Denied
}

// AllTenants reports whether a role always covers every tenant, whatever scope it
// carries: Owners and Administrators do.
func AllTenants(role Role) bool { return role == Owner || role == Administrator }

// ValidateCustom checks a Custom role's permission list.
func ValidateCustom(perms []Permission) error {
	for _, p := range perms {
		r, ok := find(p)
		if !ok {
			return fmt.Errorf("unknown permission %q", p)
		}
		if r.ownerOnly {
			return fmt.Errorf("permission %q is the Owner's alone", p)
		}
	}
	return nil
}
