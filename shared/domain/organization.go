// Package domain holds Switchboard's records and the rules that apply to them alone,
// independent of storage and HTTP.
package domain

import (
	"time"

	"github.com/switchboard-msp/switchboard/shared/permission"
)

// User is one person: one verified email address.
type User struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	// ActiveOrganizationID is the organization the user last switched to; it is
	// remembered across sessions.
	ActiveOrganizationID string    `json:"activeOrganizationId"`
	CreatedAt            time.Time `json:"createdAt"`
}

// Organization is an isolated tenant of Switchboard.
type Organization struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Plan is a top-level organization's plan (plan.go). A sub-organization has none
	// of its own: it is on its parent's, which readers fill in here.
	Plan string `json:"plan"`
	// ParentID is set on a sub-organization; only top-level organizations have
	// sub-organizations.
	ParentID    string    `json:"parentId,omitempty"`
	OwnerUserID string    `json:"ownerUserId,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	Version     int64     `json:"version"`
	Profile     Profile   `json:"profile"`
	// SSO is the organization's own Entra ID provider, when it set one up.
	SSO *SSOSettings `json:"sso,omitempty"`
	// DefaultAdmin, on a sub-organization, is the admin it was created for.
	DefaultAdmin *DefaultAdmin `json:"defaultAdmin,omitempty"`
	// APICallsExhausted, on a top-level organization, is the month ("2026-11") whose
	// API calls reached its plan's limit. Only the store's metering writes it.
	APICallsExhausted string `json:"-"`
}

// SSOSettings record the organization's own Entra ID provider in the user pool. The
// client secret lives only in Cognito: it is write-only.
type SSOSettings struct {
	ProviderName  string    `json:"providerName"`
	EntraTenantID string    `json:"entraTenantId"`
	ClientID      string    `json:"clientId"`
	Domains       []string  `json:"domains"`
	Issuer        string    `json:"issuer"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// Membership is a user's role inside one organization.
type Membership struct {
	OrganizationID string                  `json:"organizationId"`
	UserID         string                  `json:"userId"`
	Email          string                  `json:"email"`
	Name           string                  `json:"name"`
	Role           permission.Role         `json:"role"`
	Permissions    []permission.Permission `json:"permissions,omitempty"`
	TenantScope    TenantScope             `json:"tenantScope"`
	JoinedAt       time.Time               `json:"joinedAt"`
	Version        int64                   `json:"version"`
}

// TenantScope limits the tenants a member's scoped permissions reach; the permission
// layer evaluates it.
type TenantScope = permission.Scope

// AllTenantsScope grants every tenant.
func AllTenantsScope() TenantScope { return TenantScope{Mode: permission.ScopeAll} }

// OrganizationAccess is one entry of a user's organization switcher.
type OrganizationAccess struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Plan     string          `json:"plan"`
	Role     permission.Role `json:"role"`
	Owner    bool            `json:"owner"`
	Active   bool            `json:"active"`
	ParentID string          `json:"parentId,omitempty"`
}
