package domain

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// Contact is an additional contact of a customer, beyond its primary contact, in an
// escalation path: order 1 is called first. Several contacts may share an order.
type Contact struct {
	ID              string    `json:"id"`
	CustomerID      string    `json:"customerId"`
	Name            string    `json:"name"`
	Email           string    `json:"email"`
	Phone           string    `json:"phone"`
	Title           string    `json:"title"`
	EscalationOrder int       `json:"escalationOrder"`
	Notes           string    `json:"notes"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
	Version         int64     `json:"version"`
}

// Contact limits.
const (
	MaxEscalationOrder = 999
	MaxContactNotes    = 2000
)

// Normalize trims the editable fields and lower-cases the email.
func (c *Contact) Normalize() {
	for _, s := range []*string{&c.Name, &c.Email, &c.Phone, &c.Title, &c.Notes} {
		*s = strings.TrimSpace(*s)
	}
	c.Email = strings.ToLower(c.Email)
}

// Validate names every bad editable field.
func (c Contact) Validate(v *problem.Validation) {
	v.Check(c.Name == "", "name", "is required")
	v.Check(utf8.RuneCountInString(c.Name) > MaxNameLength, "name", "must be at most %d characters", MaxNameLength)
	v.Check(c.Email != "" && !ValidEmail(c.Email), "email", "must be an email address")
	v.Check(c.Phone != "" && !phonePattern().MatchString(c.Phone), "phone", "must be a phone number such as +1 (555) 123-4567")
	v.Check(utf8.RuneCountInString(c.Title) > MaxShortField, "title", "must be at most %d characters", MaxShortField)
	v.Check(c.EscalationOrder < 1 || c.EscalationOrder > MaxEscalationOrder, "escalationOrder", "must be a whole number from 1 to %d", MaxEscalationOrder)
	v.Check(utf8.RuneCountInString(c.Notes) > MaxContactNotes, "notes", "must be at most %d characters", MaxContactNotes)
}

// Ticket statuses and priorities.
const (
	TicketOpen       = "open"
	TicketInProgress = "in-progress"
	TicketWaiting    = "waiting"
	TicketResolved   = "resolved"
	TicketClosed     = "closed"

	PriorityLow    = "low"
	PriorityNormal = "normal"
	PriorityHigh   = "high"
	PriorityUrgent = "urgent"
)

// TicketStatuses lists the statuses in their workflow order.
func TicketStatuses() []string {
	return []string{TicketOpen, TicketInProgress, TicketWaiting, TicketResolved, TicketClosed}
}

// TicketPriorities lists the priorities from lowest to highest.
func TicketPriorities() []string {
	return []string{PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent}
}

// TicketActive reports whether a ticket in status still needs work (it counts as open).
func TicketActive(status string) bool { return status != TicketResolved && status != TicketClosed }

// Ticket is a support ticket of a customer, optionally about one of its tenants. It is
// stored here first; for a customer linked to a PSA it is also filed there (PSA).
type Ticket struct {
	ID          string      `json:"id"`
	CustomerID  string      `json:"customerId"`
	TenantID    string      `json:"tenantId"`
	Subject     string      `json:"subject"`
	Description string      `json:"description"`
	Status      string      `json:"status"`
	Priority    string      `json:"priority"`
	CreatedBy   audit.Actor `json:"createdBy"`
	CreatedAt   time.Time   `json:"createdAt"`
	UpdatedAt   time.Time   `json:"updatedAt"`
	// ResolvedAt is when the ticket last became resolved or closed; nil while active.
	ResolvedAt *time.Time `json:"resolvedAt,omitempty"`
	// PSA is where the ticket stands in its customer's PSA; nil for a ticket that is
	// Switchboard's only.
	PSA     *TicketPSA `json:"psa,omitempty"`
	Version int64      `json:"version"`
}

// Ticket limits.
const MaxTicketDescription = 10000

// Normalize trims the editable fields and fills in the defaults.
func (t *Ticket) Normalize() {
	t.Subject, t.Description, t.TenantID = strings.TrimSpace(t.Subject), strings.TrimSpace(t.Description), strings.TrimSpace(t.TenantID)
	if t.Status == "" {
		t.Status = TicketOpen
	}
	if t.Priority == "" {
		t.Priority = PriorityNormal
	}
}

// Validate names every bad editable field. Whether tenantId is one of the customer's
// tenants is the caller's check.
func (t Ticket) Validate(v *problem.Validation) {
	v.Check(t.Subject == "", "subject", "is required")
	v.Check(utf8.RuneCountInString(t.Subject) > MaxNameLength, "subject", "must be at most %d characters", MaxNameLength)
	v.Check(utf8.RuneCountInString(t.Description) > MaxTicketDescription, "description", "must be at most %d characters", MaxTicketDescription)
	v.Check(!slices.Contains(TicketStatuses(), t.Status), "status", "must be one of %s", strings.Join(TicketStatuses(), ", "))
	v.Check(!slices.Contains(TicketPriorities(), t.Priority), "priority", "must be one of %s", strings.Join(TicketPriorities(), ", "))
	v.Check(t.TenantID != "" && !ValidID(t.TenantID), "tenantId", "must be the id of one of this customer's tenants")
}

// Document is a file stored for a customer (a contract, a runbook). The bytes live in
// the documents bucket under Key, which the server builds from ids only; clients upload
// and download them through presigned URLs.
type Document struct {
	ID          string `json:"id"`
	CustomerID  string `json:"customerId"`
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	// Size is the size declared when the upload was requested; the upload URL is signed
	// for exactly this many bytes.
	Size       int64       `json:"size"`
	Key        string      `json:"key"`
	UploadedBy audit.Actor `json:"uploadedBy"`
	CreatedAt  time.Time   `json:"createdAt"`
}

// MaxDocumentSize is the largest document: 25 MiB.
const MaxDocumentSize = 25 << 20

// DocumentContentTypes are the media types a document may have: office documents,
// PDF, plain text formats and common images. Types a browser would run (HTML, SVG) and
// archives are refused.
func DocumentContentTypes() []string {
	return []string{
		"application/pdf",
		"application/msword",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"application/vnd.ms-excel",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"application/vnd.ms-powerpoint",
		"application/vnd.openxmlformats-officedocument.presentationml.presentation",
		"application/vnd.visio",
		"application/vnd.ms-visio.drawing",
		"application/vnd.oasis.opendocument.text",
		"application/vnd.oasis.opendocument.spreadsheet",
		"application/vnd.oasis.opendocument.presentation",
		"application/rtf",
		"text/plain",
		"text/csv",
		"text/markdown",
		"image/png",
		"image/jpeg",
		"image/gif",
		"image/webp",
	}
}

// DocumentKey is where a document's bytes live in the bucket: built from ids only,
// never from anything a client names.
func DocumentKey(orgID, customerID, documentID string) string {
	return "orgs/" + orgID + "/customers/" + customerID + "/" + documentID
}

// Normalize trims the name and the content type.
func (d *Document) Normalize() {
	d.Name, d.ContentType = strings.TrimSpace(d.Name), strings.TrimSpace(d.ContentType)
}

// Validate names every bad field of a new document.
func (d Document) Validate(v *problem.Validation) {
	v.Check(d.Name == "", "name", "is required")
	v.Check(utf8.RuneCountInString(d.Name) > MaxNameLength, "name", "must be at most %d characters", MaxNameLength)
	v.Check(strings.ContainsFunc(d.Name, func(r rune) bool { return unicode.IsControl(r) || r == '/' || r == '\\' }),
		"name", "must be a file name without slashes or control characters")
	v.Check(!slices.Contains(DocumentContentTypes(), d.ContentType), "contentType", "must be one of %s", strings.Join(DocumentContentTypes(), ", "))
	v.Check(d.Size < 1 || d.Size > MaxDocumentSize, "size", "must be from 1 to %d bytes (25 MiB)", MaxDocumentSize)
}
