package domain

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-msp/switchboard/shared/problem"
)

// ApprovalAction names what an approval lets happen: a license order, or one of the
// actions an organization's profile may hold for approval (requireApprovalFor).
type ApprovalAction string

// The actions. License orders need approval by the permission table (a Technician's
// "with approval"); the others only when the organization lists them.
const (
	ActionLicenseOrder       ApprovalAction = "license-order"
	ActionDeleteCustomer     ApprovalAction = "delete-customer"
	ActionGrantAdministrator ApprovalAction = "grant-administrator"
	ActionRemoveMember       ApprovalAction = "remove-member"
	ActionChangeAuthSettings ApprovalAction = "change-authentication-settings"
)

// HeldActions are the actions requireApprovalFor may list, in the order documented.
func HeldActions() []ApprovalAction {
	return []ApprovalAction{ActionDeleteCustomer, ActionGrantAdministrator, ActionRemoveMember, ActionChangeAuthSettings}
}

// Approval statuses. Expired is also what a pending approval past its expiry reads as
// before the schedule stores it (Approval.StatusAt).
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalRejected = "rejected"
	ApprovalExpired  = "expired"
)

// ApprovalStatuses lists the statuses a list may be filtered by.
func ApprovalStatuses() []string {
	return []string{ApprovalPending, ApprovalApproved, ApprovalRejected, ApprovalExpired}
}

// ApprovalTTL is how long a request waits for a decision: 7 days, like an invitation.
const ApprovalTTL = 7 * 24 * time.Hour

// Limits of what an approval carries.
const (
	MaxReasonLength     = 1000
	MaxOrderNoteLength  = 1000
	MaxLicenseQuantity  = 10_000
	maxSKULicenseCount  = 10_000_000
	problemSelfApproval = "self-approval"
)

// Approval is one request that another member must approve: a license order, or an
// action the organization holds for approval. License orders and held actions share
// this record, its states, its expiry and its rules; Order or Request carries what is
// particular to each.
type Approval struct {
	ID             string         `json:"id"`
	OrganizationID string         `json:"organizationId"`
	Action         ApprovalAction `json:"action"`
	Status         string         `json:"status"`
	// Summary says what approving does, in words, for the list and the audit log.
	Summary     string     `json:"summary"`
	RequestedBy Inviter    `json:"requestedBy"`
	RequestedAt time.Time  `json:"requestedAt"`
	ExpiresAt   time.Time  `json:"expiresAt"`
	DecidedBy   *Inviter   `json:"decidedBy,omitempty"`
	DecidedAt   *time.Time `json:"decidedAt,omitempty"`
	// Reason is the rejection's reason.
	Reason string `json:"reason,omitempty"`
	// NotifyError says why the approvers were not emailed about it.
	NotifyError string        `json:"notifyError,omitempty"`
	Order       *LicenseOrder `json:"order,omitempty"`
	Request     *HeldAction   `json:"request,omitempty"`
	Version     int64         `json:"version"`
}

// LicenseOrder is what a license order asks for: quantity more licenses of one SKU in
// one tenant.
type LicenseOrder struct {
	TenantID   string `json:"tenantId"`
	TenantName string `json:"tenantName"`
	SKU        string `json:"sku"`
	Quantity   int64  `json:"quantity"`
	Note       string `json:"note"`
}

// HeldAction is the input of an action held for approval, kept to perform it when
// approved: what its route was sent, once validated.
type HeldAction struct {
	// CustomerID is the customer to delete.
	CustomerID string `json:"customerId,omitempty"`
	// PlatformUserID is the member to remove, or the member or invitation whose access
	// changes; empty for a new invitation.
	PlatformUserID string `json:"platformUserId,omitempty"`
	// Email and DisplayName are a new invitation's, or name the platform user.
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	// Access is the access granted.
	Access *Access `json:"access,omitempty"`
	// Authentication are the new authentication settings.
	Authentication *AuthSettings `json:"authentication,omitempty"`
}

// NewApprovalID returns an id that sorts by creation time (milliseconds, then 80
// random bits): the newest-first lists read a partition backwards in id order, and
// the random part keeps ids unguessable.
func NewApprovalID(at time.Time) string {
	// 6 bytes of milliseconds (until the year 10889), then 10 random ones.
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(max(at.UnixMilli(), 0))<<16)
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails on supported platforms
	// base32hex's alphabet is in ASCII order, so the text sorts as the bytes do.
	return strings.ToLower(base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// StatusAt is the status as of now: a pending approval past its expiry is expired,
// whether or not the schedule has stored it yet.
func (a Approval) StatusAt(now time.Time) string {
	if a.Status == ApprovalPending && !now.Before(a.ExpiresAt) {
		return ApprovalExpired
	}
	return a.Status
}

// CheckDecision says whether decider may approve or reject a at now: never their own
// request (403 self-approval, whatever their role has become), and only while it is
// pending (409 approval-not-pending).
func (a Approval) CheckDecision(deciderUserID string, now time.Time) error {
	if deciderUserID != "" && deciderUserID == a.RequestedBy.UserID {
		return problem.New(problem.Forbidden, problemSelfApproval,
			"you requested this yourself; another member who may approve requests must decide it")
	}
	if s := a.StatusAt(now); s != ApprovalPending {
		pe := problem.Conflictf("approval-not-pending", "this request is %s; only a pending request can be approved or rejected", s)
		pe.Extra = map[string]any{"status": s}
		return pe
	}
	return nil
}

// Decide returns a as decided by decider at now: status approved or rejected, with
// the reason of a rejection.
func (a Approval) Decide(status string, decider Inviter, reason string, now time.Time) Approval {
	a.Status, a.DecidedBy, a.Reason = status, &decider, reason
	at := now
	a.DecidedAt = &at
	return a
}

// ValidateReason checks a rejection's reason, as sent (trimmed): optional plain text.
func ValidateReason(reason string) error {
	var v problem.Validation
	v.Check(utf8.RuneCountInString(reason) > MaxReasonLength, "reason", "must be at most %d characters", MaxReasonLength)
	return v.Err()
}

// Normalize trims the order's text fields.
func (o *LicenseOrder) Normalize() {
	o.TenantID, o.SKU, o.Note = strings.TrimSpace(o.TenantID), strings.TrimSpace(o.SKU), strings.TrimSpace(o.Note)
}

// Validate names every bad field of an order, as its route takes it. That the tenant
// exists is the caller's check (404).
func (o LicenseOrder) Validate(v *problem.Validation) {
	v.Check(o.TenantID == "", "tenantId", "is required")
	v.Check(o.TenantID != "" && !ValidID(o.TenantID), "tenantId", "is not a tenant id")
	v.Check(!skuPattern().MatchString(o.SKU), "sku", "must be a SKU part number such as SPE_E3")
	v.Check(o.Quantity < 1 || o.Quantity > MaxLicenseQuantity, "quantity", "must be a whole number from 1 to %d", MaxLicenseQuantity)
	v.Check(utf8.RuneCountInString(o.Note) > MaxOrderNoteLength, "note", "must be at most %d characters", MaxOrderNoteLength)
}

// Apply returns the tenant's licenses with the order's quantity added to its SKU (a
// SKU the tenant has none of yet is added). It refuses (409) an order that would take
// the tenant past a SKU's or the SKU list's limit.
func (o LicenseOrder) Apply(t Tenant) ([]SKULicense, error) {
	out := slices.Clone(t.Licenses)
	i := slices.IndexFunc(out, func(l SKULicense) bool { return strings.EqualFold(l.SKU, o.SKU) })
	if i < 0 {
		if len(out) >= MaxSKUs {
			return nil, problem.Conflictf("tenant-sku-limit", "tenant %s already has %d SKUs, the most it can hold", t.ID, MaxSKUs)
		}
		return append(out, SKULicense{SKU: o.SKU, Assigned: o.Quantity}), nil
	}
	if out[i].Assigned+o.Quantity > maxSKULicenseCount {
		return nil, problem.Conflictf("tenant-license-limit", "tenant %s would hold more than %d licenses of %s", t.ID, maxSKULicenseCount, o.SKU)
	}
	out[i].Assigned += o.Quantity
	return out, nil
}

// ValidateRequireApprovalFor checks a profile's list of held actions: each one of
// HeldActions, at most once.
func ValidateRequireApprovalFor(v *problem.Validation, list []ApprovalAction) {
	for i, a := range list {
		f := "requireApprovalFor[" + strconv.Itoa(i) + "]"
		v.Check(!slices.Contains(HeldActions(), a), f,
			"must be one of delete-customer, grant-administrator, remove-member, change-authentication-settings")
		v.Check(slices.Contains(list[:i], a), f, "is listed twice")
	}
}

// NormalizeRequireApprovalFor sorts the list in the documented order, without repeats.
func NormalizeRequireApprovalFor(list []ApprovalAction) []ApprovalAction {
	out := []ApprovalAction{}
	for _, a := range HeldActions() {
		if slices.Contains(list, a) {
			out = append(out, a)
		}
	}
	return out
}
