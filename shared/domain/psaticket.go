package domain

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-msp/switchboard/shared/problem"
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

// PSAPriorityMap maps Switchboard's ticket priorities to a vendor's: a priority name
// for ConnectWise, the numeric priority (picklist value, priority_id) for Autotask and
// HaloPSA.
type PSAPriorityMap map[string]string

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

// DefaultPSAPriorities is the priority map of a vendor (docs/psa.md, "Ticket
// priorities"): common defaults, not read from an instance.
func DefaultPSAPriorities(vendor string) PSAPriorityMap {
	switch vendor {
	case PSAConnectWise:
		return PSAPriorityMap{PriorityLow: "Priority 4 - Schedule Maintenance", PriorityNormal: "Priority 3 - Normal Response",
			PriorityHigh: "Priority 2 - Quick Response", PriorityUrgent: "Priority 1 - Emergency Response"}
	case PSAAutotask:
		return PSAPriorityMap{PriorityLow: "3", PriorityNormal: "2", PriorityHigh: "1", PriorityUrgent: "4"}
	case PSAHaloPSA:
		return PSAPriorityMap{PriorityLow: "4", PriorityNormal: "3", PriorityHigh: "2", PriorityUrgent: "1"}
	}
	return PSAPriorityMap{}
}

// Out is the vendor status of Switchboard status s ("" when unmapped: the PSA's default).
func (m PSAStatusMap) Out(s string) string { return m[s] }

// In is the Switchboard status a vendor status v stands for, given the ticket's
// current status: cur when cur maps to v already, else the first status in workflow
// order that does. ok is false for a vendor status the map does not name (a status of
// the PSA's own, which leaves the ticket's status alone). Names compare without case.
func (m PSAStatusMap) In(v, cur string) (string, bool) { return mapIn(m, v, cur, TicketStatuses()) }

// Out is the vendor priority of Switchboard priority p ("" when unmapped).
func (m PSAPriorityMap) Out(p string) string { return m[p] }

// In is the Switchboard priority a vendor priority v stands for, as PSAStatusMap.In
// (in the order lowest first).
func (m PSAPriorityMap) In(v, cur string) (string, bool) { return mapIn(m, v, cur, TicketPriorities()) }

func mapIn(m map[string]string, v, cur string, order []string) (string, bool) {
	if v == "" {
		return cur, false
	}
	if strings.EqualFold(m[cur], v) {
		return cur, true
	}
	for _, s := range order {
		if strings.EqualFold(m[s], v) {
			return s, true
		}
	}
	return cur, false
}

// MaxPSAValueLength bounds a ConnectWise status or priority name (its own limit for
// both is 50 characters).
const MaxPSAValueLength = 50

// PSATicketSettings are a PSA connection's ticket settings: how Switchboard's ticket
// statuses and priorities are written to its PSA and read back. Empty maps stand for
// the vendor's defaults (Resolve fills them).
type PSATicketSettings struct {
	ConnectionID string         `json:"connectionId"`
	StatusMap    PSAStatusMap   `json:"ticketStatusMap,omitempty"`
	PriorityMap  PSAPriorityMap `json:"ticketPriorityMap,omitempty"`
	UpdatedAt    *time.Time     `json:"updatedAt,omitempty"`
	// Version guards every write; 0 for a connection whose settings were never set.
	Version int64 `json:"version"`
}

// Resolve answers s with the vendor's defaults where s sets no map.
func (s PSATicketSettings) Resolve(vendor string) PSATicketSettings {
	if len(s.StatusMap) == 0 {
		s.StatusMap = DefaultPSAStatuses(vendor)
	}
	if len(s.PriorityMap) == 0 {
		s.PriorityMap = DefaultPSAPriorities(vendor)
	}
	return s
}

// PSAValueNumeric reports whether vendor's ticket statuses and priorities are numeric
// ids (Autotask picklist values, HaloPSA ids) rather than names (ConnectWise).
func PSAValueNumeric(vendor string) bool { return vendor != PSAConnectWise }

// ValidatePSAMap checks a status or priority map of vendor given under field: every
// key of keys is mapped, no other key is, and each value is of the vendor's kind (a
// name of at most MaxPSAValueLength characters, or a positive integer in decimal).
func ValidatePSAMap(v *problem.Validation, vendor, field string, m map[string]string, keys []string) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v.Check(!slices.Contains(keys, k), field+"."+k, "is not one of %s", strings.Join(keys, ", "))
	}
	for _, k := range keys {
		val, ok := m[k]
		f := field + "." + k
		switch {
		case !ok:
			v.Add(f, "is required: every one of %s maps to a value of the PSA", strings.Join(keys, ", "))
		case PSAValueNumeric(vendor):
			n, err := strconv.ParseInt(val, 10, 32)
			v.Check(err != nil || n <= 0, f, "must be a positive integer (the PSA's id)")
		default:
			v.Check(strings.TrimSpace(val) == "" || val != strings.TrimSpace(val) || utf8.RuneCountInString(val) > MaxPSAValueLength, f,
				"must be the PSA's name: 1 to %d characters, no surrounding spaces", MaxPSAValueLength)
		}
	}
}
