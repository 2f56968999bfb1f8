package api

import (
	"github.com/switchboard-msp/switchboard/shared/permission"
)

// Routes is the whole API surface. The local server, template.yaml, events/, the
// OpenAPI document and the authorization tests are checked against it. Each feature
// lists its routes in its own file.
func Routes() []Route {
	var all []Route
	for _, feature := range [][]Route{
		foundationRoutes(),
		jobRoutes(),
		customerRoutes(),
		tenantRoutes(),
		customerDetailRoutes(),
		teamRoutes(),
		authSettingsRoutes(),
		subOrganizationRoutes(),
	} {
		all = append(all, feature...)
	}
	return all
}

// foundationRoutes are the organizations, the profile, the audit log and the document.
func foundationRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/openapi.json", Permission: permission.Public, Function: "openapi-get",
			Summary: "The OpenAPI document of this API", Handler: openAPIDocument},

		{Method: "GET", Path: "/api/me", Permission: permission.Authenticated, Function: "me-get",
			Summary: "The caller, their active organization and the organizations they can access", Handler: getMe},
		{Method: "PUT", Path: "/api/me/active-organization", Permission: permission.Authenticated, Function: "me-active-organization-put",
			Summary: "Switch the active organization", Handler: putActiveOrganization},
		{Method: "GET", Path: "/api/organizations", Permission: permission.Authenticated, Function: "organizations-list",
			Summary: "The organizations the caller can access", Handler: listOrganizations},
		{Method: "POST", Path: "/api/organizations", Permission: permission.Authenticated, Function: "organizations-create",
			Summary: "Create an organization; the caller becomes its Owner", Handler: createOrganization},
		{Method: "PUT", Path: "/api/organizations/{orgId}", Permission: permission.RenameOrganization, Function: "organizations-rename",
			OrgParam: "orgId", Summary: "Rename an organization", Handler: renameOrganization},

		{Method: "GET", Path: "/api/msp-portal/settings/profile", Permission: permission.ViewData, Function: "profile-get",
			Summary: "Get organization profile", Handler: getProfile},
		{Method: "PUT", Path: "/api/msp-portal/settings/profile", Permission: permission.PlatformSettings, Function: "profile-put",
			Summary: "Update organization profile", Handler: putProfile},

		{Method: "GET", Path: "/api/audit-log", Permission: permission.ViewAuditLog, Function: "audit-log-list",
			Summary: "Page through the organization's audit events, newest first", Read: fetchAuditLog},
	}
}

// Jobs are the functions that no route starts.
func Jobs() []Job {
	return []Job{
		jobWorker(),
		expireInvitationsJob(),
	}
}

// RouteByFunction finds the route a function serves.
func RouteByFunction(name string) (Route, bool) {
	for _, r := range Routes() {
		if r.Function == name {
			return r, true
		}
	}
	return Route{}, false
}
