package api

import (
	"github.com/switchboard-msp/switchboard/shared/audit"
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
		sessionRoutes(),
		licenseOrderRoutes(),
		approvalRoutes(),
		auditLogRoutes(),
		connectionRoutes(),
		m365Routes(),
		billingRoutes(),
		companyUserRoutes(),
		portalRoutes(),
		onboardingRoutes(),
		psaRoutes(),
		psaTicketRoutes(),
	} {
		all = append(all, feature...)
	}
	return all
}

// Routes: the organizations, the profile, the audit log and the document.
var (
	OpenapiGet = Route{Method: "GET", Path: "/api/openapi.json", Permission: permission.Public, Function: "openapi-get",
		Summary: "The OpenAPI document of this API", Handler: openAPIDocument}
	MeGet = Route{Method: "GET", Path: "/api/me", Permission: permission.Authenticated, Function: "me-get",
		Summary: "The caller, their active organization and the organizations they can access", Handler: getMe}
	MeActiveOrganizationPut = Route{Method: "PUT", Path: "/api/me/active-organization", Permission: permission.Authenticated, Function: "me-active-organization-put", Unaudited: "a personal preference of the caller's (which organization the console opens), no change to any organization",
		Summary: "Switch the active organization", Handler: putActiveOrganization}
	OrganizationsList = Route{Method: "GET", Path: "/api/organizations", Permission: permission.Authenticated, Function: "organizations-list",
		Summary: "The organizations the caller can access", Handler: listOrganizations}
	OrganizationsCreate = Route{Method: "POST", Path: "/api/organizations", Permission: permission.Authenticated, Function: "organizations-create", Category: audit.Settings,
		Summary: "Create an organization; the caller becomes its Owner", Handler: createOrganization}
	OrganizationsRename = Route{Method: "PUT", Path: "/api/organizations/{orgId}", Permission: permission.RenameOrganization, Function: "organizations-rename", Category: audit.Settings,
		OrgParam: "orgId", Summary: "Rename an organization", Handler: renameOrganization}
	ProfileGet = Route{Method: "GET", Path: "/api/msp-portal/settings/profile", Permission: permission.ViewData, Function: "profile-get",
		Summary: "Get organization profile", Handler: getProfile}
	ProfilePut = Route{Method: "PUT", Path: "/api/msp-portal/settings/profile", Permission: permission.PlatformSettings, Function: "profile-put", Category: audit.Settings,
		Summary: "Update organization profile", Handler: putProfile}
	AuditLogList = Route{Method: "GET", Path: "/api/audit-log", Permission: permission.ViewAuditLog, Function: "audit-log-list",
		Summary: "Page through the organization's audit events, newest first, filtered by category, actor, target and time", Read: fetchAuditLog}
)

// foundationRoutes are the organizations, the profile, the audit log and the document.
func foundationRoutes() []Route {
	return []Route{OpenapiGet, MeGet, MeActiveOrganizationPut, OrganizationsList, OrganizationsCreate, OrganizationsRename, ProfileGet, ProfilePut, AuditLogList}
}

// Jobs are the functions that no route starts.
func Jobs() []Job {
	return []Job{
		jobWorker(),
		expireInvitationsJob(),
		auditCheckpointsJob(),
		postAuthenticationJob(),
		preTokenGenerationJob(),
		expireApprovalsJob(),
		consoleJob(),
		m365SyncJob(),
		meterUsageJob(),
		billingEventsJob(),
		psaSyncJob(),
		psaTicketSyncJob(),
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
