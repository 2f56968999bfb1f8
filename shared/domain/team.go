package domain

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// InvitationTTL is how long an invitation can be accepted (seed 003: 7 days).
const InvitationTTL = 7 * 24 * time.Hour

// Invitation states as stored. What a list shows is PlatformUserStatus.
const (
	InvitationPending     = "pending"
	InvitationEmailFailed = "email-failed"
	InvitationExpired     = "expired"
)

// Statuses of a row of the platform users list.
const (
	StatusActive      = "active"
	StatusInvited     = "invited"
	StatusExpired     = "expired"
	StatusEmailFailed = "email-failed"
)

// Inviter is who sent an invitation, as the invitee is told.
type Inviter struct {
	UserID string `json:"userId"`
	Email  string `json:"email"`
	Name   string `json:"name"`
}

// Invitation asks one email address to join an organization with a role and scope.
// Accepting or revoking it deletes it; the audit log keeps its history.
type Invitation struct {
	ID             string                  `json:"id"`
	OrganizationID string                  `json:"organizationId"`
	Email          string                  `json:"email"`
	DisplayName    string                  `json:"displayName"`
	Role           permission.Role         `json:"role"`
	Permissions    []permission.Permission `json:"permissions,omitempty"`
	TenantScope    TenantScope             `json:"tenantScope"`
	InvitedBy      Inviter                 `json:"invitedBy"`
	Status         string                  `json:"status"`
	// EmailError says why the last email was not sent; it is shown to the inviter.
	EmailError string    `json:"emailError,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	SentAt     time.Time `json:"sentAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
	// TokenHash is the SHA-256 of the accept token: the token itself is never stored.
	TokenHash string `json:"tokenHash"`
	Version   int64  `json:"version"`
}

// Expired reports whether the invitation can no longer be accepted at now.
func (i Invitation) Expired(now time.Time) bool {
	return i.Status == InvitationExpired || !now.Before(i.ExpiresAt)
}

// ListStatus is the status the platform users list shows.
func (i Invitation) ListStatus(now time.Time) string {
	switch {
	case i.Expired(now):
		return StatusExpired
	case i.Status == InvitationEmailFailed:
		return StatusEmailFailed
	}
	return StatusInvited
}

// Access is a member's or invitee's role, custom permissions and tenant scope.
type Access struct {
	Role        permission.Role         `json:"role"`
	Permissions []permission.Permission `json:"permissions,omitempty"`
	TenantScope TenantScope             `json:"tenantScope"`
}

// Member is the view the permission layer takes of this access.
func (a Access) Member() permission.Member {
	return permission.Member{Role: a.Role, Permissions: a.Permissions, Scope: a.TenantScope}
}

// Normalize gives an access its canonical form: an omitted scope is all tenants;
// Owners and Administrators always reach all tenants; only Custom keeps permissions.
func (a *Access) Normalize() {
	if a.TenantScope.Mode == "" || permission.AllTenants(a.Role) {
		a.TenantScope = AllTenantsScope()
	}
	if a.TenantScope.Mode == permission.ScopeAll {
		a.TenantScope.TenantIDs = nil
	}
	if a.Role != permission.Custom {
		a.Permissions = nil
	}
	slices.Sort(a.Permissions)
	a.Permissions = slices.Compact(a.Permissions)
	// Tenant ids keep the request's order, so a bad one is named by its index there.
	var ids []string
	for _, id := range a.TenantScope.TenantIDs {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	a.TenantScope.TenantIDs = ids
}

// MaxScopeTenants bounds the tenant ids a scope may name.
const MaxScopeTenants = 500

// Validate names every bad field of an access that a member may be given, as sent
// (before Normalize, so nothing sent is silently dropped). Whether the named tenants
// exist is checked against the store by the caller.
func (a Access) Validate(v *problem.Validation) {
	switch a.Role {
	case permission.Administrator, permission.Technician, permission.ReadOnly, permission.Custom:
	case permission.Owner:
		v.Add("role", "the Owner role is not granted; ownership is transferred")
	default:
		v.Add("role", "must be Administrator, Technician, Read-Only or Custom")
	}
	if a.Role == permission.Custom {
		v.Check(len(a.Permissions) == 0, "permissions", "a Custom role needs at least one permission")
		if err := permission.ValidateCustom(a.Permissions); err != nil {
			v.Add("permissions", "%s", err.Error())
		}
	} else {
		v.Check(len(a.Permissions) > 0, "permissions", "only a Custom role picks permissions")
	}
	s := a.TenantScope
	switch s.Mode {
	case "", permission.ScopeAll:
		v.Check(len(s.TenantIDs) > 0, "tenantAccess.tenantIds", "must be empty when the mode is all")
	case permission.ScopeSelected, permission.ScopeAllExcept:
		// Administrators reach every tenant whatever scope is sent; it is dropped.
		v.Check(len(s.TenantIDs) == 0 && !permission.AllTenants(a.Role), "tenantAccess.tenantIds",
			"%s tenant access needs at least one tenant", s.Mode)
	default:
		v.Add("tenantAccess.mode", "must be all, selected or all-except")
	}
	v.Check(len(s.TenantIDs) > MaxScopeTenants, "tenantAccess.tenantIds", "must name at most %d tenants", MaxScopeTenants)
	for i, id := range s.TenantIDs {
		v.Check(!ValidID(id), "tenantAccess.tenantIds["+strconv.Itoa(i)+"]", "is not a tenant id")
	}
}

// Invitee is what an inviter fills in.
type Invitee struct {
	Email       string `json:"email"`
	DisplayName string `json:"displayName"`
	Access
}

// Normalize trims and lowercases the email. The access is normalized once validated
// (Access.Normalize), so that a bad value is named rather than dropped.
func (in *Invitee) Normalize() {
	in.Email = NormalizeEmail(in.Email)
	in.DisplayName = strings.TrimSpace(in.DisplayName)
}

// Validate names every bad field.
func (in Invitee) Validate() error {
	var v problem.Validation
	v.Check(!ValidEmail(in.Email), "email", "must be an email address")
	v.Check(utf8.RuneCountInString(in.DisplayName) > MaxNameLength, "displayName", "must be at most %d characters", MaxNameLength)
	in.Access.Validate(&v)
	return v.Err()
}

// NewInvitationToken returns an accept token (256 random bits, URL-safe) and the hash
// that is stored in its place.
func NewInvitationToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashInvitationToken(token)
}

// HashInvitationToken is the stored form of a token.
func HashInvitationToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ValidInvitationToken reports whether s could be a token this system issued.
func ValidInvitationToken(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// ManagesPlatformUsers reports whether an access can manage platform users: the
// organization must always keep one member who can.
func (a Access) ManagesPlatformUsers() bool {
	return permission.GrantFor(a.Role, a.Permissions, permission.ManagePlatformUsers) != permission.Denied
}

// Access returns the membership's role, permissions and scope.
func (m Membership) Access() Access {
	return Access{Role: m.Role, Permissions: m.Permissions, TenantScope: m.TenantScope}
}
