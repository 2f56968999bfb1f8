package domain

import (
	"strings"
	"time"
)

// Where a ticket stands in its PSA (TicketPSA.State).
const (
	// PSAQueued: written here, not (yet) in the PSA as it is here; the psa-ticket-sync
	// schedule pushes it at NextAttemptAt.
	PSAQueued = "queued"
	// PSASynced: the PSA holds the ticket as it is here.
	PSASynced = "synced"
	// PSAFailed: the PSA refused the last push (credentials, a record it does not
	// know); it is retried like a queued ticket, since the fix is made elsewhere.
	PSAFailed = "failed"
)

// TicketPSA links a ticket to the PSA its customer is linked to: the PSA company it is
// filed under, the PSA's ticket id once it is known, and how the last push went.
type TicketPSA struct {
	ConnectionID string `json:"connectionId"`
	Type         string `json:"type"`
	CompanyID    string `json:"companyId"`
	// TicketID is the PSA's id of the ticket; empty until the PSA made it.
	TicketID string `json:"ticketId,omitempty"`
	State    string `json:"state"`
	// Status is the vendor's status last written to or read from the PSA, so a status
	// read back that Switchboard itself wrote is not taken for a change.
	Status        string     `json:"status,omitempty"`
	Attempts      int        `json:"attempts"`
	LastError     *Problem   `json:"lastError,omitempty"`
	NextAttemptAt *time.Time `json:"nextAttemptAt,omitempty"`
	SyncedAt      *time.Time `json:"syncedAt,omitempty"`
	// CreateStartedAt is when a create was sent whose outcome is unknown (no answer, a
	// 5xx): the PSA may hold the ticket, so the next attempt looks for it first.
	CreateStartedAt *time.Time `json:"createStartedAt,omitempty"`
}

// Pending reports whether the ticket waits for a push.
func (p *TicketPSA) Pending() bool { return p != nil && p.State != PSASynced }

// PSAStatusMap maps Switchboard's ticket statuses to a vendor's: a status name for
// ConnectWise, the numeric status (picklist value, status_id) for Autotask and HaloPSA.
type PSAStatusMap map[string]string

// DefaultPSAStatuses is the status map of a vendor (docs/psa.md, "Ticket statuses").
// Several Switchboard statuses may share a vendor status; reading it back keeps the
// Switchboard status when it maps there.
func DefaultPSAStatuses(vendor string) PSAStatusMap {
	switch vendor {
	case PSAConnectWise:
		return PSAStatusMap{TicketOpen: "New", TicketInProgress: "In Progress", TicketWaiting: "Waiting Customer",
			TicketResolved: "Completed", TicketClosed: "Closed"}
	case PSAAutotask:
		return PSAStatusMap{TicketOpen: "1", TicketInProgress: "8", TicketWaiting: "7", TicketResolved: "5", TicketClosed: "5"}
	case PSAHaloPSA:
		return PSAStatusMap{TicketOpen: "1", TicketInProgress: "2", TicketWaiting: "4", TicketResolved: "9", TicketClosed: "9"}
	}
	return PSAStatusMap{}
}

// Out is the vendor status of Switchboard status s ("" when unmapped: the PSA's default).
func (m PSAStatusMap) Out(s string) string { return m[s] }

// In is the Switchboard status a vendor status v stands for, given the ticket's
// current status: cur when cur maps to v already, else the first status in workflow
// order that does. ok is false for a vendor status the map does not name (a status of
// the PSA's own, which leaves the ticket's status alone). Names compare without case.
func (m PSAStatusMap) In(v, cur string) (string, bool) {
	if v == "" {
		return cur, false
	}
	if strings.EqualFold(m[cur], v) {
		return cur, true
	}
	for _, s := range TicketStatuses() {
		if strings.EqualFold(m[s], v) {
			return s, true
		}
	}
	return cur, false
}
