package permission

import "slices"

// Portal permissions: what a company user (seed 002: an end user at one of the MSP's
// client companies) may do in the client portal, /api/portal/.... They are held by
// company roles, never by the MSP's roles: an MSP member holds none of them, and a
// company user none of the organization permissions above.
const (
	// PortalTickets: submit tickets and see the company's tickets.
	PortalTickets Permission = "portal-tickets"
	// PortalDashboard: the company dashboard (tenants, users, open tickets) and the
	// list of the company's users.
	PortalDashboard Permission = "portal-dashboard"
	// PortalManageUsers: add, change and remove the company's users.
	PortalManageUsers Permission = "portal-manage-users"
	// PortalTraining: one's own training assignments.
	PortalTraining Permission = "portal-training"
)

// The company roles, as seed 002 writes them (shared/domain names them too).
const (
	CompanyAdmin        = "Admin"
	CompanyManager      = "Manager"
	CompanyUser         = "User"
	CompanyTrainingOnly = "Training Only"
)

type portalRow struct {
	perm        Permission
	description string
	roles       []string
}

// portalTable is seed 002's company roles, permission by permission: Admin has full
// access and manages users; Manager most features with limited user management (it
// sees the users); User submits tickets and views; Training Only has its courses alone.
var portalTable = []portalRow{
	{PortalTickets, "submit and see the company's support tickets", []string{CompanyAdmin, CompanyManager, CompanyUser}},
	{PortalDashboard, "see the company dashboard: tenants, users, open tickets", []string{CompanyAdmin, CompanyManager}},
	{PortalManageUsers, "manage the company's users", []string{CompanyAdmin}},
	{PortalTraining, "see one's own training assignments", []string{CompanyAdmin, CompanyManager, CompanyUser, CompanyTrainingOnly}},
}

// PortalPermissions lists the portal permissions in table order.
func PortalPermissions() []Permission {
	out := make([]Permission, len(portalTable))
	for i, r := range portalTable {
		out[i] = r.perm
	}
	return out
}

// IsPortal reports whether p is a portal permission.
func IsPortal(p Permission) bool {
	_, ok := findPortal(p)
	return ok
}

func findPortal(p Permission) (portalRow, bool) {
	for _, r := range portalTable {
		if r.perm == p {
			return r, true
		}
	}
	return portalRow{}, false
}

// PortalAllows reports whether a company user of companyRole holds portal permission
// p. Unknown roles and permissions are denied.
func PortalAllows(companyRole string, p Permission) bool {
	r, ok := findPortal(p)
	return ok && slices.Contains(r.roles, companyRole)
}

// CompanyRoles lists the company roles in seed order.
func CompanyRoles() []string {
	return []string{CompanyAdmin, CompanyManager, CompanyUser, CompanyTrainingOnly}
}
