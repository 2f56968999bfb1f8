// Package audit defines the audit event that every change writes in the same transaction
// as the change, and the request facts (actor, source) that events are stamped with.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Category is one of DESIGN.md's audit categories.
type Category string

// The categories.
const (
	SignIn         Category = "sign-in"
	UserManagement Category = "user-management"
	Tenant         Category = "tenant"
	Customer       Category = "customer"
	Settings       Category = "settings"
	LicenseOrder   Category = "license-order"
	Approval       Category = "approval"
	Support        Category = "support"
	Billing        Category = "billing"
)

// Categories lists every category.
func Categories() []Category {
	return []Category{SignIn, UserManagement, Tenant, Customer, Settings, LicenseOrder, Approval, Support, Billing}
}

// Actor is who did it.
type Actor struct {
	UserID string `json:"userId"`
	Email  string `json:"email"`
}

// OnBehalfOf records that an MSP member acted inside a sub-organization it supports:
// "actor X of MSP organization Y, on behalf of sub-organization Z".
type OnBehalfOf struct {
	MSPOrganizationID string `json:"mspOrganizationId"`
	SubOrganizationID string `json:"subOrganizationId"`
	Reason            string `json:"reason,omitempty"`
}

// Targets are the objects an event touched; each list is queryable by later indexes.
type Targets struct {
	CustomerIDs []string `json:"customerIds,omitempty"`
	TenantIDs   []string `json:"tenantIds,omitempty"`
	UserIDs     []string `json:"userIds,omitempty"`
	// Emails name people who are not users yet (invitees).
	Emails []string `json:"emails,omitempty"`
}

// Change is one field's before and after.
type Change struct {
	Field string `json:"field"`
	From  any    `json:"from"`
	To    any    `json:"to"`
}

// Client is what a sign-in's user agent says about the caller's browser, operating
// system and device (shared/signin parses it), and whether Cognito saw a device it did
// not remember. Fields the user agent does not reveal are empty.
type Client struct {
	Browser        string `json:"browser,omitempty"`
	BrowserVersion string `json:"browserVersion,omitempty"`
	OS             string `json:"os,omitempty"`
	Device         string `json:"device,omitempty"`
	// NewDevice: Cognito's device tracking did not know the device (Post
	// Authentication's newDeviceUsed).
	NewDevice bool `json:"newDevice,omitempty"`
}

// Event is one append-only audit record.
type Event struct {
	ID             string      `json:"id"`
	OrganizationID string      `json:"organizationId"`
	Actor          Actor       `json:"actor"`
	Category       Category    `json:"category"`
	Action         string      `json:"action"`
	Targets        Targets     `json:"targets"`
	OnBehalfOf     *OnBehalfOf `json:"onBehalfOf,omitempty"`
	Summary        string      `json:"summary"`
	Changes        []Change    `json:"changes,omitempty"`
	SourceIP       string      `json:"sourceIp"`
	UserAgent      string      `json:"userAgent"`
	// Client and IdentityProvider describe a sign-in (category sign-in): the parsed
	// user agent, and the identity provider that authenticated the user ("Cognito"
	// for a native user, the provider's name for a federated one).
	Client           *Client   `json:"client,omitempty"`
	IdentityProvider string    `json:"identityProvider,omitempty"`
	At               time.Time `json:"at"`
	// Seq, PrevHash and Hash chain the organization's events (tamper evidence): Seq
	// counts them from 1, PrevHash is the previous event's Hash ("" before the first),
	// and Hash is the SHA-256 of the event's canonical form (CanonicalHash). The store
	// assigns them in the transaction that writes the event.
	Seq      int64  `json:"seq,omitempty"`
	PrevHash string `json:"prevHash,omitempty"`
	Hash     string `json:"hash,omitempty"`
}

// CanonicalHash is the hex SHA-256 of ev's canonical form: its JSON encoding as
// encoding/json writes it (fields in the declaration order above, object keys of
// change values sorted, times in RFC 3339 with nanoseconds), with Hash left out and
// every other field, Seq and PrevHash included. The store hashes the event as it
// reads back from its item, so the hash covers exactly what is stored.
func CanonicalHash(ev Event) (string, error) {
	ev.Hash = ""
	b, err := json.Marshal(ev)
	if err != nil {
		return "", fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Valid reports whether c is one of the categories.
func (c Category) Valid() bool {
	return slices.Contains(Categories(), c)
}

// Origin is what the request knows about who acts and from where.
type Origin struct {
	Actor      Actor
	SourceIP   string
	UserAgent  string
	OnBehalfOf *OnBehalfOf
}

type originKey struct{}

// WithOrigin stores the request's origin in ctx.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginFrom returns the request's origin, or a zero Origin for system jobs.
func OriginFrom(ctx context.Context) Origin {
	o, _ := ctx.Value(originKey{}).(Origin)
	return o
}

// New starts an event in organization orgID, stamped with the request's origin. The
// store assigns its id and time when it writes it.
func New(ctx context.Context, orgID string, category Category, action, summary string) Event {
	o := OriginFrom(ctx)
	return Event{
		OrganizationID: orgID,
		Actor:          o.Actor,
		Category:       category,
		Action:         action,
		Summary:        summary,
		OnBehalfOf:     o.OnBehalfOf,
		SourceIP:       o.SourceIP,
		UserAgent:      o.UserAgent,
	}
}
