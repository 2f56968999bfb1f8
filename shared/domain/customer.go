package domain

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/switchboard-msp/switchboard/shared/problem"
)

// Health statuses of a tenant, and of a customer (the worst of its tenants).
const (
	HealthHealthy  = "healthy"
	HealthWarning  = "warning"
	HealthCritical = "critical"
	HealthUnknown  = "unknown"
)

// HealthStatuses lists them from best to worst.
func HealthStatuses() []string {
	return []string{HealthHealthy, HealthUnknown, HealthWarning, HealthCritical}
}

// PSA types a customer can be linked to.
const (
	PSAConnectWise = "connectwise"
	PSAAutotask    = "autotask"
	PSAHaloPSA     = "halopsa"
)

// PSALink links a customer to one record of one PSA connection.
type PSALink struct {
	ConnectionID string `json:"connectionId"`
	Type         string `json:"type"`
	ExternalID   string `json:"externalId"`
}

// Customer is a business relationship of the MSP (seed 001).
type Customer struct {
	ID                  string `json:"id"`
	Name                string `json:"name"`
	PrimaryContactName  string `json:"primaryContactName"`
	PrimaryContactEmail string `json:"primaryContactEmail"`
	Phone               string `json:"phone"`
	Address             string `json:"address"`
	// PostalAddress is the address in a PSA's parts; Address is the seed's one line,
	// kept as their rendering while it is one (FollowParts).
	PostalAddress PostalAddress `json:"postalAddress"`
	Website       string        `json:"website"`
	Notes         string        `json:"notes"`
	PSALinks      []PSALink     `json:"psaLinks"`
	// ExternalID identifies the customer in the system it was imported from.
	ExternalID string `json:"externalId"`
	Archived   bool   `json:"archived"`
	Counters
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	Version   int64     `json:"version"`
}

// Counters summarize a customer's tenants. They live on the customer item and change in
// the same transaction as whatever moves them.
type Counters struct {
	TenantCount      int64   `json:"tenantCount"`
	TotalUsers       int64   `json:"totalUsers"`
	TotalLicenses    int64   `json:"totalLicenses"`
	SecurityScoreSum float64 `json:"securityScoreSum"`
	HealthHealthy    int64   `json:"healthHealthy"`
	HealthWarning    int64   `json:"healthWarning"`
	HealthCritical   int64   `json:"healthCritical"`
	HealthUnknown    int64   `json:"healthUnknown"`
	// TenantIDs is kept as a string set in the table (see store) for the scope check.
	TenantIDs []string `json:"-"`
}

// Health is the worst health of the customer's tenants; unknown without tenants.
func (c Counters) Health() string {
	switch {
	case c.HealthCritical > 0:
		return HealthCritical
	case c.HealthWarning > 0:
		return HealthWarning
	case c.HealthUnknown > 0 || c.TenantCount == 0:
		return HealthUnknown
	}
	return HealthHealthy
}

// SecurityScore is the average score of the customer's tenants.
func (c Counters) SecurityScore() float64 {
	if c.TenantCount == 0 {
		return 0
	}
	return c.SecurityScoreSum / float64(c.TenantCount)
}

// Normalize trims the editable fields.
func (c *Customer) Normalize() {
	for _, s := range []*string{&c.Name, &c.PrimaryContactName, &c.PrimaryContactEmail, &c.Phone, &c.Address, &c.Notes, &c.ExternalID} {
		*s = strings.TrimSpace(*s)
	}
	c.PrimaryContactEmail = strings.ToLower(c.PrimaryContactEmail)
	c.Website = strings.TrimSpace(c.Website)
	c.PostalAddress.Normalize()
}

// Customer field limits.
const (
	MaxNotesLength = 5000
	MaxPSALinks    = 10
)

// Validate names every bad editable field, with prefix before each name (for CSV rows).
func (c Customer) Validate(v *problem.Validation, prefix string) {
	v.Check(c.Name == "", prefix+"name", "is required")
	v.Check(utf8.RuneCountInString(c.Name) > MaxNameLength, prefix+"name", "must be at most %d characters", MaxNameLength)
	v.Check(utf8.RuneCountInString(c.PrimaryContactName) > MaxNameLength, prefix+"primaryContactName", "must be at most %d characters", MaxNameLength)
	v.Check(c.PrimaryContactEmail != "" && !ValidEmail(c.PrimaryContactEmail), prefix+"primaryContactEmail", "must be an email address")
	v.Check(c.Phone != "" && !phonePattern().MatchString(c.Phone), prefix+"phone", "must be a phone number such as +1 (555) 123-4567")
	v.Check(utf8.RuneCountInString(c.Address) > MaxAddressLength, prefix+"address", "must be at most %d characters", MaxAddressLength)
	c.PostalAddress.Validate(v, prefix+"postalAddress.")
	v.Check(c.Website != "" && !ValidWebsite(c.Website), prefix+"website", "must be an http or https URL such as https://contoso.example")
	v.Check(utf8.RuneCountInString(c.Notes) > MaxNotesLength, prefix+"notes", "must be at most %d characters", MaxNotesLength)
	v.Check(utf8.RuneCountInString(c.ExternalID) > MaxShortField, prefix+"externalId", "must be at most %d characters", MaxShortField)
	v.Check(len(c.PSALinks) > MaxPSALinks, prefix+"psaLinks", "must hold at most %d links", MaxPSALinks)
	seen := map[string]bool{}
	for i, l := range c.PSALinks {
		f := prefix + "psaLinks[" + strconv.Itoa(i) + "]"
		v.Check(!ValidID(l.ConnectionID), f+".connectionId", "is required")
		v.Check(l.Type != PSAConnectWise && l.Type != PSAAutotask && l.Type != PSAHaloPSA, f+".type", "must be connectwise, autotask or halopsa")
		v.Check(strings.TrimSpace(l.ExternalID) == "" || len(l.ExternalID) > MaxShortField, f+".externalId", "is required, at most %d characters", MaxShortField)
		v.Check(seen[l.ConnectionID], f+".connectionId", "is linked twice; a customer has one link per PSA connection")
		seen[l.ConnectionID] = true
	}
}

// PostalAddress is an address in the parts a PSA keeps (ConnectWise addressLine1/2,
// city, state, zip, country; Autotask address1/2, city, state, postalCode).
type PostalAddress struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	State      string `json:"state"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
}

// Postal address limits: their one-line rendering (at most 469 characters) always fits
// the customer's address (500).
const (
	MaxAddressLine = 120
	MaxCity        = 80
	MaxState       = 60
	MaxPostalCode  = 20
	MaxCountry     = 60
)

// postalPart is one part of a postal address, with its field name and limit.
type postalPart struct {
	name  string
	value *string
	max   int
}

// parts are a's parts in rendering order.
func (a *PostalAddress) parts() []postalPart {
	return []postalPart{{"line1", &a.Line1, MaxAddressLine}, {"line2", &a.Line2, MaxAddressLine}, {"city", &a.City, MaxCity},
		{"state", &a.State, MaxState}, {"postalCode", &a.PostalCode, MaxPostalCode}, {"country", &a.Country, MaxCountry}}
}

// Normalize trims every part.
func (a *PostalAddress) Normalize() {
	for _, p := range a.parts() {
		*p.value = strings.TrimSpace(*p.value)
	}
}

// Validate names every part over its limit, with prefix before each name.
func (a PostalAddress) Validate(v *problem.Validation, prefix string) {
	for _, p := range a.parts() {
		v.Check(utf8.RuneCountInString(*p.value) > p.max, prefix+p.name, "must be at most %d characters", p.max)
	}
}

// Cut shortens every part to its limit (a PSA's longer values).
func (a *PostalAddress) Cut() {
	for _, p := range a.parts() {
		*p.value = CutRunes(strings.TrimSpace(*p.value), p.max)
	}
}

// IsZero reports whether no part is set.
func (a PostalAddress) IsZero() bool { return a == PostalAddress{} }

// OneLine renders the address on one line: "line1, line2, city, state postalCode,
// country", empty parts left out.
func (a PostalAddress) OneLine() string {
	var out []string
	for _, p := range []string{a.Line1, a.Line2, a.City, strings.TrimSpace(a.State + " " + a.PostalCode), a.Country} {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return CutRunes(strings.Join(out, ", "), MaxAddressLength)
}

// FollowParts keeps the one-line address the rendering of the postal address while it
// is one: an empty address, or one that renders prev (the parts before this change),
// becomes the rendering of the current parts. An address of its own is kept.
func (c *Customer) FollowParts(prev PostalAddress) {
	if c.Address == "" || (!prev.IsZero() && c.Address == prev.OneLine()) {
		c.Address = c.PostalAddress.OneLine()
	}
}

// CutRunes shortens s to at most n characters.
func CutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// SKULicense is one SKU's assigned licenses in a tenant.
type SKULicense struct {
	SKU      string `json:"sku"`
	Assigned int64  `json:"assigned"`
}

// Tenant is one Microsoft 365 tenant; it belongs to at most one customer.
type Tenant struct {
	ID            string       `json:"id"`
	EntraTenantID string       `json:"entraTenantId"`
	PrimaryDomain string       `json:"primaryDomain"`
	DisplayName   string       `json:"displayName"`
	LicensedUsers int64        `json:"licensedUsers"`
	Licenses      []SKULicense `json:"licenses"`
	SecurityScore float64      `json:"securityScore"`
	Health        string       `json:"health"`
	CustomerID    string       `json:"customerId"`
	// Sync is set once a Microsoft 365 connection has read the tenant.
	Sync      *TenantSync `json:"sync,omitempty"`
	CreatedAt time.Time   `json:"createdAt"`
	UpdatedAt time.Time   `json:"updatedAt"`
	Version   int64       `json:"version"`
}

// AssignedLicenses is the sum of assigned licenses over SKUs.
func (t Tenant) AssignedLicenses() int64 {
	var n int64
	for _, l := range t.Licenses {
		n += l.Assigned
	}
	return n
}

// The patterns compile on first use: a validation needs them, a cold start does not.
var (
	guidPattern = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	})
	domainPattern = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?i)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$`)
	})
	skuPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.:\-]{1,100}$`) })
)

// Tenant limits.
const MaxSKUs = 200

// Normalize trims and lower-cases what compares case-insensitively.
func (t *Tenant) Normalize() {
	t.EntraTenantID = strings.ToLower(strings.TrimSpace(t.EntraTenantID))
	t.PrimaryDomain = strings.ToLower(strings.TrimSpace(t.PrimaryDomain))
	t.DisplayName = strings.TrimSpace(t.DisplayName)
	if t.Health == "" {
		t.Health = HealthUnknown
	}
}

// Validate names every bad field of a tenant.
func (t Tenant) Validate() error {
	var v problem.Validation
	v.Check(!guidPattern().MatchString(t.EntraTenantID), "entraTenantId", "must be the Entra tenant id, a GUID")
	v.Check(len(t.PrimaryDomain) > 253 || !domainPattern().MatchString(t.PrimaryDomain), "primaryDomain", "must be a domain name such as contoso.onmicrosoft.com")
	v.Check(t.DisplayName == "", "displayName", "is required")
	v.Check(utf8.RuneCountInString(t.DisplayName) > MaxNameLength, "displayName", "must be at most %d characters", MaxNameLength)
	v.Check(t.LicensedUsers < 0 || t.LicensedUsers > 10_000_000, "licensedUsers", "must be from 0 to 10,000,000")
	v.Check(len(t.Licenses) > MaxSKUs, "licenses", "must list at most %d SKUs", MaxSKUs)
	seen := map[string]bool{}
	for i, l := range t.Licenses {
		f := "licenses[" + strconv.Itoa(i) + "]"
		v.Check(!skuPattern().MatchString(l.SKU), f+".sku", "must be a SKU part number such as SPE_E3")
		v.Check(l.Assigned < 0 || l.Assigned > 10_000_000, f+".assigned", "must be from 0 to 10,000,000")
		v.Check(seen[l.SKU], f+".sku", "is listed twice")
		seen[l.SKU] = true
	}
	v.Check(t.SecurityScore < 0 || t.SecurityScore > 100, "securityScore", "must be from 0 to 100")
	ok := false
	for _, h := range HealthStatuses() {
		ok = ok || h == t.Health
	}
	v.Check(!ok, "health", "must be healthy, warning, critical or unknown")
	return v.Err()
}
