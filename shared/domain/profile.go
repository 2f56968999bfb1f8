package domain

import (
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"

	"github.com/switchboard-msp/switchboard/shared/problem"
)

// Date formats of seed 000's business settings.
const (
	DateFormatUS            = "US"
	DateFormatInternational = "International"
)

// Profile is seed 000's organization profile: company information, business settings,
// the billing contact and the authentication settings.
type Profile struct {
	CompanyName         string         `json:"companyName"`
	DisplayName         string         `json:"displayName"`
	Address             string         `json:"address"`
	Phone               string         `json:"phone"`
	PrimaryContactEmail string         `json:"primaryContactEmail"`
	Website             string         `json:"website"`
	TaxID               string         `json:"taxId"`
	TimeZone            string         `json:"timeZone"`
	DateFormat          string         `json:"dateFormat"`
	Currency            string         `json:"currency"`
	Language            string         `json:"language"`
	BillingContact      BillingContact `json:"billingContact"`
	Authentication      AuthSettings   `json:"authentication"`
	// RequireApprovalFor lists the actions that, taken by anyone, wait for another
	// member's approval instead of happening (HeldActions).
	RequireApprovalFor []ApprovalAction `json:"requireApprovalFor"`
}

// RequiresApproval reports whether the organization holds action for approval.
func (p Profile) RequiresApproval(action ApprovalAction) bool {
	return slices.Contains(p.RequireApprovalFor, action)
}

// BillingContact receives invoice notifications, payment confirmations and billing alerts.
type BillingContact struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// AuthSettings are seed 000's authentication settings.
type AuthSettings struct {
	EntraSSOEnabled bool `json:"entraSsoEnabled"`
	RequireMFA      bool `json:"requireMfa"`
	// SessionTimeoutMinutes is the inactivity after which a session must sign in again.
	SessionTimeoutMinutes int `json:"sessionTimeoutMinutes"`
}

// Session timeout bounds, in minutes.
const (
	DefaultSessionTimeoutMinutes = 8 * 60
	MinSessionTimeoutMinutes     = 5
	MaxSessionTimeoutMinutes     = 7 * 24 * 60
)

// SessionTimeout returns the timeout as a duration.
func (a AuthSettings) SessionTimeout() time.Duration {
	if a.SessionTimeoutMinutes <= 0 {
		return DefaultSessionTimeoutMinutes * time.Minute
	}
	return time.Duration(a.SessionTimeoutMinutes) * time.Minute
}

// NewProfile is the profile of a new organization: MFA required, 8-hour timeout.
func NewProfile(name string) Profile {
	return Profile{
		CompanyName: name,
		DisplayName: name,
		TimeZone:    "UTC",
		DateFormat:  DateFormatUS,
		Currency:    "USD",
		Language:    "en-US",
		Authentication: AuthSettings{
			EntraSSOEnabled:       true,
			RequireMFA:            true,
			SessionTimeoutMinutes: DefaultSessionTimeoutMinutes,
		},
	}
}

// It compiles on first use, as websitePattern does: validations need them, a cold
// start does not.
var phonePattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\+?[0-9 ().\-]{5,30}(\s*(x|ext\.?)\s*[0-9]{1,6})?$`)
})

// Field length limits.
const (
	MaxNameLength    = 200
	MaxAddressLength = 500
	MaxShortField    = 100
)

// Normalize trims whitespace from every text field.
func (p *Profile) Normalize() {
	for _, s := range []*string{&p.CompanyName, &p.DisplayName, &p.Address, &p.Phone, &p.PrimaryContactEmail,
		&p.Website, &p.TaxID, &p.TimeZone, &p.DateFormat, &p.Currency, &p.Language,
		&p.BillingContact.Name, &p.BillingContact.Email, &p.BillingContact.Phone} {
		*s = strings.TrimSpace(*s)
	}
	p.Currency = strings.ToUpper(p.Currency)
}

// Validate names every bad field in one error.
func (p Profile) Validate() error {
	var v problem.Validation
	v.Check(p.CompanyName == "", "companyName", "is required")
	v.Check(utf8.RuneCountInString(p.CompanyName) > MaxNameLength, "companyName", "must be at most %d characters", MaxNameLength)
	v.Check(p.DisplayName == "", "displayName", "is required")
	v.Check(utf8.RuneCountInString(p.DisplayName) > MaxNameLength, "displayName", "must be at most %d characters", MaxNameLength)
	v.Check(utf8.RuneCountInString(p.Address) > MaxAddressLength, "address", "must be at most %d characters", MaxAddressLength)
	v.Check(p.Phone != "" && !phonePattern().MatchString(p.Phone), "phone", "must be a phone number such as +1 (555) 123-4567")
	v.Check(p.PrimaryContactEmail != "" && !ValidEmail(p.PrimaryContactEmail), "primaryContactEmail", "must be an email address")
	v.Check(p.Website != "" && !ValidWebsite(p.Website), "website", "must be an http or https URL")
	v.Check(utf8.RuneCountInString(p.TaxID) > MaxShortField, "taxId", "must be at most %d characters", MaxShortField)
	if _, err := time.LoadLocation(p.TimeZone); p.TimeZone == "" || err != nil || p.TimeZone == "Local" {
		v.Add("timeZone", "must be an IANA time zone such as America/Los_Angeles")
	}
	v.Check(p.DateFormat != DateFormatUS && p.DateFormat != DateFormatInternational, "dateFormat", "must be %q or %q", DateFormatUS, DateFormatInternational)
	if _, err := currency.ParseISO(p.Currency); len(p.Currency) != 3 || err != nil {
		v.Add("currency", "must be an ISO 4217 currency code such as USD")
	}
	if tag, err := language.Parse(p.Language); p.Language == "" || err != nil || tag == language.Und {
		v.Add("language", "must be a BCP 47 language tag such as en-US")
	}
	v.Check(utf8.RuneCountInString(p.BillingContact.Name) > MaxNameLength, "billingContact.name", "must be at most %d characters", MaxNameLength)
	v.Check(p.BillingContact.Email != "" && !ValidEmail(p.BillingContact.Email), "billingContact.email", "must be an email address")
	v.Check(p.BillingContact.Phone != "" && !phonePattern().MatchString(p.BillingContact.Phone), "billingContact.phone", "must be a phone number")
	m := p.Authentication.SessionTimeoutMinutes
	v.Check(m < MinSessionTimeoutMinutes || m > MaxSessionTimeoutMinutes, "authentication.sessionTimeoutMinutes",
		"must be between %d and %d minutes", MinSessionTimeoutMinutes, MaxSessionTimeoutMinutes)
	ValidateRequireApprovalFor(&v, p.RequireApprovalFor)
	return v.Err()
}

// ValidEmail reports whether s is a bare email address (no display name).
func ValidEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == "" && strings.Contains(s[strings.LastIndex(s, "@"):], ".")
}

// NormalizeEmail is the form an email is compared and keyed in.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// websitePattern is what a website must match: an http or https URL with a host name,
// written with the characters RFC 3986 allows (others percent-encoded), an optional
// user, port, path, query and fragment. The document's OptionalWebsite (format uri)
// admits every website it matches, so a website the API stores is always a URI as
// documented; url.Parse alone lets through spaces, non-ASCII text and a second '#'.
var websitePattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[Hh][Tt][Tt][Pp][Ss]?://` +
		`(([A-Za-z0-9._~!$&'()*+,;=:-]|%[0-9A-Fa-f]{2})*@)?[A-Za-z0-9._~!$&'()*+,;=-]+(:[0-9]*)?` +
		`(/([A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})*)*` +
		`(\?([A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?` +
		`(#([A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?$`)
})

// ValidWebsite reports whether s is a website a profile or a customer may hold.
func ValidWebsite(s string) bool {
	if len(s) > 2048 || !websitePattern().MatchString(s) {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// ValidateOrganizationName checks a name given to create or rename an organization.
func ValidateOrganizationName(name string) error {
	var v problem.Validation
	v.Check(strings.TrimSpace(name) == "", "name", "is required")
	v.Check(utf8.RuneCountInString(name) > MaxNameLength, "name", "must be at most %d characters", MaxNameLength)
	return v.Err()
}
