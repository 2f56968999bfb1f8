package permission

import (
	"fmt"
	"slices"
)

// Request fields a GrantError can blame, so the API can point at the one to change.
const (
	FieldRole         = "role"
	FieldPermissions  = "permissions"
	FieldTenantAccess = "tenantAccess"
)

// GrantError says why a member may not give another member some access.
type GrantError struct {
	// Permission is the permission the grantee would hold beyond the granter; empty when
	// the role itself cannot be granted.
	Permission Permission
	// Reason is the human half of the message, without the "you cannot grant" lead.
	Reason string
	// Field is the request field to blame: FieldRole, FieldPermissions or FieldTenantAccess.
	Field string
}

// Error reads as one sentence addressed to the granter.
func (e *GrantError) Error() string {
	if e.Permission == "" {
		return "you cannot grant this " + e.Field + ": " + e.Reason
	}
	return fmt.Sprintf("you cannot grant %q: %s", e.Permission, e.Reason)
}

// CanGrant enforces DESIGN.md's rule that no one grants a role, permission or scope they
// do not hold themselves: granter may give grantee its role, custom permissions and
// tenant scope only if every permission grantee would hold is held by granter at least
// as strongly and, where granter's hold is scoped, only within granter's scope. It
// returns nil or a *GrantError. Whether the role and permissions are valid at all is
// the caller's validation; unknown ones grant nothing here.
func CanGrant(granter, grantee Member) error {
	// Ownership moves by transfer, which the Owner does on purpose; granting would
	// leave two Owners.
	if grantee.Role == Owner {
		return &GrantError{Field: FieldRole, Reason: "the Owner role is transferred, not granted"}
	}
	// Rank before scope across all permissions: a permission not held at all is the
	// more useful thing to report than a scope that reaches too far.
	for _, p := range All() {
		if err := exceeds(granter, grantee, p); err != nil {
			return err
		}
	}
	for _, p := range All() {
		if err := outsideScope(granter, grantee, p); err != nil {
			return err
		}
	}
	return nil
}

// rank orders grants by strength. Grant's own values are not in that order, so it is
// spelled out: an approval request is weaker than a scoped grant, which is weaker than
// an unscoped one.
func rank(g Grant) int {
	switch g {
	case ScopedApproval:
		return 1
	case Scoped:
		return 2
	case Allowed:
		return 3
	}
	return 0
}

// exceeds reports grantee holding p more strongly than granter does.
func exceeds(granter, grantee Member, p Permission) *GrantError {
	g1 := GrantFor(granter.Role, granter.Permissions, p)
	g2 := GrantFor(grantee.Role, grantee.Permissions, p)
	if rank(g2) <= rank(g1) {
		return nil
	}
	// A built-in role carries its permissions, so the role is what to change; for
	// Custom (and unknown roles, which hold nothing) it is the picked list.
	field := FieldPermissions
	if ValidRole(grantee.Role) && grantee.Role != Custom {
		field = FieldRole
	}
	var reason string
	switch g1 {
	case ScopedApproval:
		reason = "you may only request it, for an Administrator to approve"
	case Scoped:
		reason = "you hold it only within your tenant scope"
	default:
		reason = "you do not hold it"
	}
	return &GrantError{Permission: p, Reason: reason, Field: field}
}

// outsideScope reports grantee reaching, with p, a tenant that granter's scoped hold of
// p does not reach.
func outsideScope(granter, grantee Member, p Permission) *GrantError {
	g1 := GrantFor(granter.Role, granter.Permissions, p)
	if g1 != Scoped && g1 != ScopedApproval || AllTenants(granter.Role) {
		return nil
	}
	if GrantFor(grantee.Role, grantee.Permissions, p) == Denied {
		return nil
	}
	granteeAll := AllTenants(grantee.Role) || grantee.Scope.coversAll()
	if scopeContains(granter.Scope, grantee.Scope, granteeAll) {
		return nil
	}
	return &GrantError{Permission: p, Reason: "the tenant access reaches beyond your tenant scope", Field: FieldTenantAccess}
}

// scopeContains reports whether every tenant inner reaches, now and in future, is inside
// outer. innerAll says inner reaches every tenant whatever its mode says. A mode that
// cannot be resolved fails closed.
func scopeContains(outer, inner Scope, innerAll bool) bool {
	if !knownMode(outer.Mode) || !knownMode(inner.Mode) {
		return false
	}
	if outer.coversAll() {
		return true
	}
	if innerAll {
		return false
	}
	switch outer.Mode {
	case ScopeSelected:
		// A list of selected tenants never holds the tenants added later that an
		// all-except scope would reach.
		if inner.Mode != ScopeSelected {
			return false
		}
		for _, id := range inner.TenantIDs {
			if !slices.Contains(outer.TenantIDs, id) {
				return false
			}
		}
		return true
	case ScopeAllExcept:
		switch inner.Mode {
		case ScopeSelected:
			for _, id := range inner.TenantIDs {
				if slices.Contains(outer.TenantIDs, id) {
					return false
				}
			}
			return true
		case ScopeAllExcept:
			for _, id := range outer.TenantIDs {
				if !slices.Contains(inner.TenantIDs, id) {
					return false
				}
			}
			return true
		}
	}
	return false
}

// knownMode reports whether a scope mode can be resolved; empty means all tenants.
func knownMode(mode string) bool {
	switch mode {
	case "", ScopeAll, ScopeSelected, ScopeAllExcept:
		return true
	}
	return false
}
