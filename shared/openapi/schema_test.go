package openapi_test

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// jsonFields lists the JSON members a Go struct encodes: every field by its json name,
// and whether it is always present (no omitempty).
func jsonFields(t reflect.Type) (all, always []string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			a, w := jsonFields(f.Type)
			all, always = append(all, a...), append(always, w...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		all = append(all, name)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			always = append(always, name)
		}
	}
	return all, always
}

// override changes one member of a Go type's encoding: a handler's view that adds,
// drops or re-tags a member.
type override struct {
	add, drop []string
	optional  []string // present but omitempty in the view
}

// customerView is how the API's customer view differs from domain.Customer.
var customerView = override{
	add:  []string{"securityScore", "health"},
	drop: []string{"securityScoreSum", "healthHealthy", "healthWarning", "healthCritical", "healthUnknown", "tenantIds"},
}

// TestResponseSchemasMatchTheGoTypes compares each response schema's properties and
// required list with the JSON the handler's Go type encodes: a member the Go type always
// writes must be required, an omitempty one must not be, and no member may be missing.
func TestResponseSchemasMatchTheGoTypes(t *testing.T) {
	s := loadSpec(t)
	tests := []struct {
		schema string
		goType any
		change override
	}{
		{"OrganizationAccess", domain.OrganizationAccess{}, override{}},
		{"OrganizationAccessList", api.List[domain.OrganizationAccess]{}, override{}},
		{"BillingContact", domain.BillingContact{}, override{}},
		{"AuthenticationSettings", domain.AuthSettings{}, override{}},
		// profileView: the profile, its organization id and version, and the billing
		// contact only for members who manage billing (omitempty).
		{"Profile", domain.Profile{}, override{add: []string{"organizationId", "version"}, optional: []string{"billingContact"}}},
		{"AuditEvent", audit.Event{}, override{}},
		{"AuditEventList", api.List[audit.Event]{}, override{}},
		{"AuditActor", audit.Actor{}, override{}},
		{"AuditTargets", audit.Targets{}, override{}},
		{"AuditOnBehalfOf", audit.OnBehalfOf{}, override{}},
		{"AuditChange", audit.Change{}, override{}},
		{"FieldError", problem.FieldError{}, override{}},
		{"Problem", problem.Document{}, override{}},
		// organizationView (unexported): Organization without owner, profile, SSO
		// provider (GET /api/settings/authentication shows that) and default admin (GET /api/msp-admin/sub-organizations/{subOrgId} does).
		{"Organization", domain.Organization{}, override{drop: []string{"ownerUserId", "profile", "sso", "defaultAdmin"}}},
		// customerView (unexported): the customer with the counters' summary, not the
		// counters themselves; the detail adds the tenants in scope, a write its warnings.
		{"Customer", domain.Customer{}, customerView},
		{"CustomerDetail", domain.Customer{}, override{add: slices.Concat(customerView.add, []string{"tenants"}), drop: customerView.drop}},
		{"CustomerWritten", domain.Customer{}, override{add: slices.Concat(customerView.add, []string{"tenants", "warnings"}), drop: customerView.drop}},
		{"CustomerList", api.List[domain.Customer]{}, override{}},
		{"PSALink", domain.PSALink{}, override{}},
		{"Warning", api.Warning{}, override{}},
		// tenantView (unexported): the tenant with the sum of its licenses.
		{"Tenant", domain.Tenant{}, override{add: []string{"assignedLicenses"}}},
		{"TenantList", api.List[domain.Tenant]{}, override{}},
		{"SKULicense", domain.SKULicense{}, override{}},
		{"Usage", domain.Usage{}, override{}},
		// defaultAdminView (unexported): the default admin, and how a create issued it.
		{"DefaultAdmin", domain.DefaultAdmin{}, override{add: []string{"account", "emailSent"}, optional: []string{"account", "emailSent"}}},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) { s.matchesGoType(t, tt.schema, tt.goType, tt.change) })
	}
}

// TestSchemasMatchTheDomainRules pins enums and limits to the Go constants they come
// from, so a change in one place fails here until the other follows.
func TestSchemasMatchTheDomainRules(t *testing.T) {
	s := loadSpec(t)
	strs := func(vs ...any) []any {
		out := make([]any, len(vs))
		for i, v := range vs {
			out[i] = fmt.Sprint(v)
		}
		return out
	}
	var roles, categories []any
	for _, r := range permission.Roles() {
		roles = append(roles, string(r))
	}
	for _, c := range audit.Categories() {
		categories = append(categories, string(c))
	}
	var heldActions, approvalStatuses []any
	for _, a := range domain.HeldActions() {
		heldActions = append(heldActions, string(a))
	}
	for _, st := range domain.ApprovalStatuses() {
		approvalStatuses = append(approvalStatuses, st)
	}
	var healths []any // best to worst
	for _, h := range domain.HealthStatuses() {
		healths = append(healths, h)
	}
	tests := []struct {
		pointer string // into the document
		want    any
	}{
		{"/components/schemas/Role/enum", roles},
		{"/components/schemas/AuditCategory/enum", categories},
		{"/components/schemas/Plan/enum", strs(domain.PlanFree, domain.PlanProfessional)},
		{"/components/schemas/DateFormat/enum", strs(domain.DateFormatUS, domain.DateFormatInternational)},
		{"/components/schemas/AuthenticationSettings/properties/sessionTimeoutMinutes/minimum", float64(domain.MinSessionTimeoutMinutes)},
		{"/components/schemas/AuthenticationSettings/properties/sessionTimeoutMinutes/maximum", float64(domain.MaxSessionTimeoutMinutes)},
		{"/components/schemas/AuthenticationSettingsInput/properties/sessionTimeoutMinutes/minimum", float64(domain.MinSessionTimeoutMinutes)},
		{"/components/schemas/AuthenticationSettingsInput/properties/sessionTimeoutMinutes/maximum", float64(domain.MaxSessionTimeoutMinutes)},
		{"/components/schemas/Profile/properties/companyName/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/Profile/properties/displayName/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/Profile/properties/address/maxLength", float64(domain.MaxAddressLength)},
		{"/components/schemas/Profile/properties/taxId/maxLength", float64(domain.MaxShortField)},
		{"/components/schemas/ProfileInput/properties/companyName/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/ProfileInput/properties/displayName/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/ProfileInput/properties/address/maxLength", float64(domain.MaxAddressLength)},
		{"/components/schemas/ProfileInput/properties/taxId/maxLength", float64(domain.MaxShortField)},
		{"/components/schemas/BillingContact/properties/name/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/BillingContactInput/properties/name/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/CreateOrganizationInput/properties/name/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/RenameOrganizationInput/properties/name/maxLength", float64(domain.MaxNameLength)},
		{"/components/parameters/Limit/schema/maximum", float64(store.MaxLimit)},
		{"/components/parameters/Limit/schema/default", float64(store.DefaultLimit)},
		{"/components/parameters/Limit/schema/minimum", float64(1)},
		{"/components/parameters/OrganizationHeader/name", api.HeaderOrganization},
		{"/components/parameters/IdempotencyKey/name", api.HeaderIdempotencyKey},
		{"/components/parameters/IdempotencyKey/schema/maxLength", float64(255)},
		{"/components/schemas/Cursor/maxLength", float64(2048)},
		{"/components/schemas/Health/enum", healths},
		{"/components/schemas/PSAType/enum", strs(domain.PSAConnectWise, domain.PSAAutotask, domain.PSAHaloPSA)},
		{"/components/schemas/Customer/properties/name/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/Customer/properties/primaryContactName/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/Customer/properties/address/maxLength", float64(domain.MaxAddressLength)},
		{"/components/schemas/Customer/properties/notes/maxLength", float64(domain.MaxNotesLength)},
		{"/components/schemas/Customer/properties/externalId/maxLength", float64(domain.MaxShortField)},
		{"/components/schemas/Customer/properties/psaLinks/maxItems", float64(domain.MaxPSALinks)},
		{"/components/schemas/CustomerInput/properties/name/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/CustomerInput/properties/primaryContactName/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/CustomerInput/properties/address/maxLength", float64(domain.MaxAddressLength)},
		{"/components/schemas/CustomerInput/properties/notes/maxLength", float64(domain.MaxNotesLength)},
		{"/components/schemas/CustomerInput/properties/externalId/maxLength", float64(domain.MaxShortField)},
		{"/components/schemas/CustomerInput/properties/psaLinks/maxItems", float64(domain.MaxPSALinks)},
		{"/components/schemas/PSALink/properties/externalId/maxLength", float64(domain.MaxShortField)},
		{"/components/schemas/PSALinkInput/properties/externalId/maxLength", float64(domain.MaxShortField)},
		{"/components/schemas/Tenant/properties/displayName/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/Tenant/properties/licenses/maxItems", float64(domain.MaxSKUs)},
		{"/components/schemas/TenantInput/properties/displayName/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/TenantInput/properties/licenses/maxItems", float64(domain.MaxSKUs)},
		{"/components/parameters/CustomerNamePrefix/schema/maxLength", float64(domain.MaxNameLength)},
		{"/components/parameters/TenantNamePrefix/schema/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/Problem/properties/type/description", problem.TypeBase + "<code>"},
		{"/components/schemas/HeldAction/enum", heldActions},
		{"/components/schemas/Profile/properties/requireApprovalFor/maxItems", float64(len(heldActions))},
		{"/components/schemas/ProfileInput/properties/requireApprovalFor/maxItems", float64(len(heldActions))},
		{"/components/schemas/ApprovalStatus/enum", approvalStatuses},
		{"/components/schemas/LicenseOrder/properties/quantity/maximum", float64(domain.MaxLicenseQuantity)},
		{"/components/schemas/LicenseOrderInput/properties/quantity/maximum", float64(domain.MaxLicenseQuantity)},
		{"/components/schemas/LicenseOrder/properties/note/maxLength", float64(domain.MaxOrderNoteLength)},
		{"/components/schemas/LicenseOrderInput/properties/note/maxLength", float64(domain.MaxOrderNoteLength)},
		{"/components/schemas/RejectionInput/properties/reason/maxLength", float64(domain.MaxReasonLength)},
		{"/components/schemas/LicenseOrder/properties/reason/maxLength", float64(domain.MaxReasonLength)},
	}
	for _, tt := range tests {
		t.Run(tt.pointer, func(t *testing.T) {
			got, ok := s.at(tt.pointer)
			if !ok {
				t.Fatalf("nothing at %s", tt.pointer)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.pointer, got, tt.want)
			}
		})
	}
}

// at reads a JSON pointer of the document.
func (s spec) at(pointer string) (any, bool) {
	node := any(s.tree)
	for _, part := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		m, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}
		if node, ok = m[strings.NewReplacer("~1", "/", "~0", "~").Replace(part)]; !ok {
			return nil, false
		}
	}
	return node, true
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func sorted(in []string) []string {
	out := slices.Clone(in)
	sort.Strings(out)
	return out
}

// matchesGoType checks that schema lists exactly the members goType encodes (with
// change applied) and requires those it always writes, and that a response schema
// closes additionalProperties so a new member is documented before it ships.
func (s spec) matchesGoType(t *testing.T, schema string, goType any, change override) {
	t.Helper()
	all, always := jsonFields(reflect.TypeOf(goType))
	all = append(all, change.add...)
	always = append(always, change.add...)
	all = slices.DeleteFunc(all, func(f string) bool { return slices.Contains(change.drop, f) })
	always = slices.DeleteFunc(always, func(f string) bool {
		return slices.Contains(change.drop, f) || slices.Contains(change.optional, f)
	})
	sch := s.deref(map[string]any{"$ref": "#/components/schemas/" + schema})
	if sch == nil {
		t.Fatalf("no schema %s", schema)
	}
	var props, required []string
	for p := range sch["properties"].(map[string]any) {
		props = append(props, p)
	}
	for _, r := range asList(sch["required"]) {
		required = append(required, r.(string))
	}
	if got, want := sorted(props), sorted(all); !slices.Equal(got, want) {
		t.Errorf("properties %v, but the Go type encodes %v", got, want)
	}
	if got, want := sorted(required), sorted(always); !slices.Equal(got, want) {
		t.Errorf("required %v, but the Go type always writes %v", got, want)
	}
	if schema != "Problem" && sch["additionalProperties"] != false {
		t.Errorf("a response schema must close additionalProperties, so a new member is documented before it ships")
	}
}
