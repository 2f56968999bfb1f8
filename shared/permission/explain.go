package permission

import (
	"fmt"
	"strings"
)

// Rules an Explanation names as deciding. They are stable machine words: clients may
// switch on them.
const (
	RuleRoleDenies             = "role-denies"
	RuleCustomNotPicked        = "custom-not-picked"
	RuleOwnerOnly              = "owner-only"
	RuleRoleAllows             = "role-allows"
	RuleAllTenantsRole         = "all-tenants-role"
	RuleScopeAll               = "scope-all"
	RuleScopeSelectedIncludes  = "scope-selected-includes"
	RuleScopeSelectedExcludes  = "scope-selected-excludes"
	RuleScopeAllExceptExcludes = "scope-all-except-excludes"
	RuleScopeAllExceptIncludes = "scope-all-except-includes"
	RuleScopeUnresolvable      = "scope-unresolvable"
	RuleUnknownPermission      = "unknown-permission"
)

// Explanation is the "access explain" answer: whether a member may use a permission,
// and which rule decided it.
type Explanation struct {
	Allowed    bool       `json:"allowed"`
	Role       Role       `json:"role"`
	Permission Permission `json:"permission"`
	// Grant is how the role holds the permission: "allowed", "scoped", "approval" or
	// "denied".
	Grant    string `json:"grant"`
	TenantID string `json:"tenantId,omitempty"`
	// Rule is the deciding rule, one of the Rule constants.
	Rule string `json:"rule"`
	// Reason is one human sentence naming the role, the permission and the rule.
	Reason string `json:"reason"`
}

// GrantName is the word an Explanation uses for g.
func GrantName(g Grant) string {
	switch g {
	case Allowed:
		return "allowed"
	case Scoped:
		return "scoped"
	case ScopedApproval:
		return "approval"
	}
	return "denied"
}

// Explain says whether m may use p on tenantID, and why. It decides exactly as
// Member.TenantAllowed does. With tenantID "" it answers whether m holds p at all
// (any grant but Denied); the tenant scope then applies per tenant, which the reason
// says.
func Explain(m Member, p Permission, tenantID string) Explanation {
	g := GrantFor(m.Role, m.Permissions, p)
	e := Explanation{Role: m.Role, Permission: p, Grant: GrantName(g), TenantID: tenantID}
	r, known := find(p)
	if !known {
		e.Rule = RuleUnknownPermission
		e.Reason = fmt.Sprintf("%q is not a permission of the organization", p)
		return e
	}
	what := fmt.Sprintf("%q", Describe(p))
	who := roleName(m.Role)

	if g == Denied {
		switch {
		case r.ownerOnly && m.Role != Owner:
			e.Rule = RuleOwnerOnly
			e.Reason = fmt.Sprintf("%s is the Owner's alone; %s does not hold it", what, who)
		case m.Role == Custom:
			e.Rule = RuleCustomNotPicked
			e.Reason = fmt.Sprintf("%s was not picked among this Custom role's permissions", what)
		case !ValidRole(m.Role):
			e.Rule = RuleRoleDenies
			e.Reason = fmt.Sprintf("%s is not a known role, so it holds nothing, %s included", who, what)
		default:
			e.Rule = RuleRoleDenies
			e.Reason = fmt.Sprintf("%s does not hold %s", who, what)
		}
		return e
	}

	holds := who + " holds " + what
	if g == ScopedApproval {
		holds = who + " may request " + what + " (an Administrator approves it)"
	}

	if tenantID == "" {
		e.Allowed = true
		e.Rule = RuleRoleAllows
		switch {
		case g == Allowed:
			e.Reason = holds + " for every tenant"
		case AllTenants(m.Role):
			e.Reason = holds + "; Owners and Administrators reach every tenant whatever their tenant scope"
		default:
			e.Reason = holds + " only within their tenant scope, which is checked per tenant; " + describeScope(m.Scope)
		}
		return e
	}

	// The order below mirrors TenantAllowed, so the two cannot disagree.
	switch {
	case AllTenants(m.Role):
		e.Allowed = true
		e.Rule = RuleAllTenantsRole
		e.Reason = holds + " on every tenant; Owners and Administrators reach every tenant whatever their tenant scope"
		return e
	case g == Allowed:
		e.Allowed = true
		e.Rule = RuleRoleAllows
		e.Reason = holds + " for every tenant; the tenant scope does not limit it"
		return e
	}

	scoped := holds + " only within their tenant scope; "
	in := m.Scope.covers(tenantID)
	e.Allowed = in
	switch m.Scope.Mode {
	case "", ScopeAll:
		e.Rule = RuleScopeAll
		e.Reason = scoped + "the scope is all tenants"
	case ScopeSelected:
		if in {
			e.Rule = RuleScopeSelectedIncludes
			e.Reason = scoped + fmt.Sprintf("tenant %s is among the selected tenants", tenantID)
		} else {
			e.Rule = RuleScopeSelectedExcludes
			e.Reason = scoped + fmt.Sprintf("tenant %s is not among the selected tenants", tenantID)
		}
	case ScopeAllExcept:
		if in {
			e.Rule = RuleScopeAllExceptIncludes
			e.Reason = scoped + fmt.Sprintf("the scope is all tenants except %s, so tenant %s is included", idList(m.Scope.TenantIDs), tenantID)
		} else {
			e.Rule = RuleScopeAllExceptExcludes
			e.Reason = scoped + fmt.Sprintf("tenant %s is among the excluded tenants", tenantID)
		}
	default:
		// covers denies an unknown mode; say so rather than guess what was meant.
		e.Allowed = false
		e.Rule = RuleScopeUnresolvable
		e.Reason = scoped + fmt.Sprintf("the scope mode %q cannot be resolved, so no tenant is reached", m.Scope.Mode)
	}
	return e
}

// roleName is how a reason names a role: Custom reads better as "A Custom role".
func roleName(r Role) string {
	switch {
	case r == Custom:
		return "A Custom role"
	case r == "":
		return "No role"
	case !ValidRole(r):
		return fmt.Sprintf("%q", string(r))
	}
	return string(r)
}

// describeScope says in words which tenants a scope reaches.
func describeScope(s Scope) string {
	switch s.Mode {
	case "", ScopeAll:
		return "the scope is all tenants"
	case ScopeSelected:
		if len(s.TenantIDs) == 0 {
			return "the scope selects no tenant"
		}
		return "the scope is the selected tenants " + idList(s.TenantIDs)
	case ScopeAllExcept:
		return "the scope is all tenants except " + idList(s.TenantIDs)
	}
	return fmt.Sprintf("the scope mode %q cannot be resolved, so no tenant is reached", s.Mode)
}

// idList joins tenant ids for a sentence.
func idList(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}
