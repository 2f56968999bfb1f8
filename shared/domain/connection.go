package domain

import (
	"math"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-msp/switchboard/shared/envelope"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// Connection types (DESIGN.md's machine words).
const (
	ConnectionM365        = "m365"
	ConnectionConnectWise = PSAConnectWise
	ConnectionAutotask    = PSAAutotask
	ConnectionHaloPSA     = PSAHaloPSA
)

// ConnectionTypes lists them.
func ConnectionTypes() []string {
	return []string{ConnectionM365, ConnectionConnectWise, ConnectionAutotask, ConnectionHaloPSA}
}

// Connection statuses: untested until a test or a sync used it, then connected or
// failed by the last use.
const (
	ConnectionUntested  = "untested"
	ConnectionConnected = "connected"
	ConnectionFailed    = "failed"
)

// Problem is an error an outside system answered, kept for the user to read.
type Problem struct {
	Code    string    `json:"code"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// Connection holds the credentials of an outside system: Microsoft 365 (one per
// tenant, for Graph) or a PSA. The credentials are sealed (envelope) and never leave
// the store in plain; Hint is a masked tail of the main secret.
type Connection struct {
	ID             string `json:"id"`
	OrganizationID string `json:"organizationId"`
	Type           string `json:"type"`
	Label          string `json:"label"`
	// TenantID is the tenant a Microsoft 365 connection reads; empty for a PSA.
	TenantID     string     `json:"tenantId,omitempty"`
	Status       string     `json:"status"`
	LastError    *Problem   `json:"lastError,omitempty"`
	LastTestedAt *time.Time `json:"lastTestedAt,omitempty"`
	LastUsedAt   *time.Time `json:"lastUsedAt,omitempty"`
	Hint         string     `json:"hint"`
	// RotatedAt is when the credentials were last set.
	RotatedAt time.Time       `json:"rotatedAt"`
	Sealed    envelope.Sealed `json:"sealed"`
	// NextSyncAt is when the m365-sync schedule reads a Microsoft 365 connection's
	// tenant next, or the psa-sync schedule syncs a PSA connection next.
	NextSyncAt *time.Time `json:"nextSyncAt,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	Version    int64      `json:"version"`
}

// EncryptionContext binds a connection's sealed credentials to it: they open only as
// this connection of this organization.
func (c Connection) EncryptionContext(orgID string) map[string]string {
	return map[string]string{"purpose": "switchboard-connection", "organization": orgID, "connection": c.ID}
}

// Credentials are a connection's secrets and the identifiers that go with them, per
// type (the vendors' names):
//   - m365: entraTenantId (default: the tenant's), clientId, clientSecret of an app
//     registration granted Graph application permissions;
//   - connectwise: site (the API host), companyId, publicKey, privateKey, clientId
//     (the developer client id ConnectWise requires);
//   - autotask: username and secret of an API user, integrationCode (the tracking
//     identifier), zone (its webservices URL; optional, found by zone lookup),
//     ownerResourceId (the resource that owns companies created in Autotask; optional,
//     DefaultAutotaskOwnerResource);
//   - halopsa: instanceUrl, clientId, clientSecret, tenant (hosted instances only).
//
// All are write-only: no response ever carries one.
type Credentials struct {
	EntraTenantID   string `json:"entraTenantId,omitempty"`
	ClientID        string `json:"clientId,omitempty"`
	ClientSecret    string `json:"clientSecret,omitempty"`
	Site            string `json:"site,omitempty"`
	CompanyID       string `json:"companyId,omitempty"`
	PublicKey       string `json:"publicKey,omitempty"`
	PrivateKey      string `json:"privateKey,omitempty"`
	Username        string `json:"username,omitempty"`
	Secret          string `json:"secret,omitempty"`
	IntegrationCode string `json:"integrationCode,omitempty"`
	Zone            string `json:"zone,omitempty"`
	InstanceURL     string `json:"instanceUrl,omitempty"`
	Tenant          string `json:"tenant,omitempty"`
	// OwnerResourceID is not a secret but is kept with the credentials it goes with:
	// it is the Autotask instance's own resource id, set when the connection is made.
	OwnerResourceID *int64 `json:"ownerResourceId,omitempty"`
}

// DefaultAutotaskOwnerResource owns the companies created in Autotask when the
// connection names no owner (Autotask requires one; 4 is the stand-in's, and a common
// id of an instance's first resource, not a documented value).
const DefaultAutotaskOwnerResource = 4

// AutotaskOwnerResource is the owner resource of companies created through c.
func (c Credentials) AutotaskOwnerResource() int {
	if c.OwnerResourceID == nil {
		return DefaultAutotaskOwnerResource
	}
	return int(*c.OwnerResourceID)
}

// MaxCredentialLength bounds each credential field.
const MaxCredentialLength = 1024

type credField struct {
	name  string
	value *string
	// need: required (r), optional (o) or not of this type (-), per type in
	// ConnectionTypes order.
	need string
	url  bool
}

func (c *Credentials) fields() []credField {
	return []credField{
		{"entraTenantId", &c.EntraTenantID, "o---", false},
		{"clientId", &c.ClientID, "rr-r", false},
		{"clientSecret", &c.ClientSecret, "r--r", false},
		{"site", &c.Site, "-r--", true},
		{"companyId", &c.CompanyID, "-r--", false},
		{"publicKey", &c.PublicKey, "-r--", false},
		{"privateKey", &c.PrivateKey, "-r--", false},
		{"username", &c.Username, "--r-", false},
		{"secret", &c.Secret, "--r-", false},
		{"integrationCode", &c.IntegrationCode, "--r-", false},
		{"zone", &c.Zone, "--o-", true},
		{"instanceUrl", &c.InstanceURL, "---r", true},
		{"tenant", &c.Tenant, "---o", false},
	}
}

// Normalize trims every field.
func (c *Credentials) Normalize() {
	for _, f := range c.fields() {
		*f.value = strings.TrimSpace(*f.value)
	}
	c.EntraTenantID = strings.ToLower(c.EntraTenantID)
}

// Validate names every missing, misplaced or malformed field of typ's credentials,
// under prefix ("credentials.").
func (c Credentials) Validate(v *problem.Validation, typ, prefix string) {
	col := -1
	for i, t := range ConnectionTypes() {
		if t == typ {
			col = i
		}
	}
	if col < 0 {
		return // the type's own error names it
	}
	if c.OwnerResourceID != nil {
		v.Check(typ != ConnectionAutotask, prefix+"ownerResourceId", "does not apply to a %s connection", typ)
		v.Check(typ == ConnectionAutotask && (*c.OwnerResourceID < 1 || *c.OwnerResourceID > math.MaxInt32), prefix+"ownerResourceId",
			"must be an Autotask resource id: a positive integer")
	}
	for _, f := range c.fields() {
		need := f.need[col]
		val := *f.value
		switch {
		case need == '-' && val != "":
			v.Add(prefix+f.name, "does not apply to a %s connection", typ)
		case need == 'r' && val == "":
			v.Add(prefix+f.name, "is required for a %s connection", typ)
		case utf8.RuneCountInString(val) > MaxCredentialLength:
			v.Add(prefix+f.name, "must be at most %d characters", MaxCredentialLength)
		case val != "" && f.url && !httpsURL(val):
			v.Add(prefix+f.name, "must be an https URL or host name")
		case f.name == "entraTenantId" && val != "" && !guidPattern().MatchString(val):
			v.Add(prefix+f.name, "must be the Entra tenant id, a GUID")
		}
	}
}

// httpsURL accepts an https URL or a bare host name (a ConnectWise site such as
// api-na.myconnectwise.net).
func httpsURL(s string) bool {
	if !strings.Contains(s, "://") {
		return domainPattern().MatchString(s)
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil
}

// MainSecret is the secret a connection's hint masks.
func (c Credentials) MainSecret(typ string) string {
	switch typ {
	case ConnectionConnectWise:
		return c.PrivateKey
	case ConnectionAutotask:
		return c.Secret
	}
	return c.ClientSecret
}

// Hint masks a secret: its last four characters when it is long enough that they
// reveal little (at least 16), else nothing but the mask.
func Hint(secret string) string {
	r := []rune(secret)
	if len(r) < 16 {
		return "••••"
	}
	return "••••" + string(r[len(r)-4:])
}

// Validate names every bad field of a connection's own (not credential) fields.
func (c Connection) Validate(v *problem.Validation) {
	ok := false
	for _, t := range ConnectionTypes() {
		ok = ok || c.Type == t
	}
	v.Check(!ok, "type", "must be m365, connectwise, autotask or halopsa")
	v.Check(strings.TrimSpace(c.Label) == "", "label", "is required")
	v.Check(utf8.RuneCountInString(c.Label) > MaxNameLength, "label", "must be at most %d characters", MaxNameLength)
	v.Check(c.Type == ConnectionM365 && !ValidID(c.TenantID), "tenantId", "is required for a Microsoft 365 connection: the tenant it reads")
	v.Check(ok && c.Type != ConnectionM365 && c.TenantID != "", "tenantId", "applies to Microsoft 365 connections only")
}

// TenantSync is what the last Microsoft 365 read of a tenant left.
type TenantSync struct {
	ConnectionID  string     `json:"connectionId"`
	LastAttemptAt *time.Time `json:"lastAttemptAt,omitempty"`
	LastSuccessAt *time.Time `json:"lastSuccessAt,omitempty"`
	// Error is the last attempt's failure; the readings are the last success's.
	Error *Problem `json:"error,omitempty"`
}

// Readings are what a Microsoft 365 sync reads of a tenant.
type Readings struct {
	LicensedUsers int64
	Licenses      []SKULicense
	// SecureScore is the percentage of the maximum; HasScore is false when the tenant
	// has none yet.
	SecureScore float64
	HasScore    bool
	// OverAssigned SKUs have more units consumed than enabled; Suspended SKUs are not
	// Enabled (Suspended, Warning or LockedOut).
	OverAssigned, Suspended []string
}

// Health thresholds of the Secure Score, in percent.
const (
	HealthCriticalBelow = 40
	HealthWarningBelow  = 70
)

// HealthOf derives a tenant's health from its readings (docs/decisions.md,
// "Tenant health"):
//   - unknown without a Secure Score;
//   - critical when the score is under 40% or a subscription is suspended or locked out;
//   - warning when the score is under 70%, a SKU has more units assigned than bought, or
//     a subscription is in its warning (grace) period;
//   - healthy otherwise.
func HealthOf(r Readings) string {
	switch {
	case !r.HasScore:
		return HealthUnknown
	case r.SecureScore < HealthCriticalBelow || len(r.Suspended) > 0:
		return HealthCritical
	case r.SecureScore < HealthWarningBelow || len(r.OverAssigned) > 0:
		return HealthWarning
	}
	return HealthHealthy
}

// RoundScore keeps one decimal of a percentage.
func RoundScore(p float64) float64 { return math.Round(p*10) / 10 }
