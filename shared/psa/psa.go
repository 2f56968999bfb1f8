// Package psa is what Switchboard needs from a PSA (ConnectWise Manage, Autotask,
// HaloPSA): companies changed since a time, one company, create and update; tickets
// created, updated and read back; the contacts of a company. Each vendor's connector
// lives in a subpackage; the types and errors here are vendor-neutral so the sync
// never branches on the vendor.
package psa

import (
	"context"
	"time"
)

// Company is a PSA company (ConnectWise company, Autotask company, HaloPSA client).
// ID is the PSA's own id, as a string so every vendor's ids fit; links are made by it.
type Company struct {
	ID         string
	Name       string
	Domain     string // the website as the PSA holds it
	Phone      string
	Address1   string
	Address2   string
	City       string
	State      string
	PostalCode string
	Country    string
	// UpdatedAt is the PSA's last-modified time; zero when the PSA does not expose
	// one (HaloPSA clients), so the sync must compare fields instead.
	UpdatedAt time.Time
}

// Ticket is a PSA service ticket. Status and Priority are the vendor's values as
// text: names for ConnectWise, the picklist or id (decimal) for Autotask and HaloPSA.
type Ticket struct {
	ID          string
	CompanyID   string
	Summary     string
	Description string
	Status      string
	// Priority is empty when unknown or, on a write, for the connector's default.
	Priority  string
	UpdatedAt time.Time
}

// TicketValue is one ticket status or priority a PSA offers: Value is what a status or
// priority map takes (a ConnectWise name, an Autotask or HaloPSA id), Name what a
// person reads.
type TicketValue struct {
	Value  string
	Name   string
	Active bool
}

// TicketValues are a PSA's ticket statuses and priorities; a nil list is one the
// connector cannot read from that PSA.
type TicketValues struct {
	Statuses   []TicketValue
	Priorities []TicketValue
}

// TicketValueLister is a Connector that can list its PSA's ticket statuses and
// priorities, so a status or priority map can be picked from them.
type TicketValueLister interface {
	TicketValues(ctx context.Context) (TicketValues, error)
}

// Contact is a person of a PSA company.
type Contact struct {
	ID        string
	CompanyID string
	FirstName string
	LastName  string
	Email     string
	Title     string
}

// CompanyPage is one page of companies changed since a time.
type CompanyPage struct {
	Companies []Company
	// Next continues the listing; empty on the last page. It is opaque and only
	// valid with the same since.
	Next string
	// HighWater is the latest UpdatedAt on this page (zero when none): the sync
	// stores the largest over all pages as its next since.
	HighWater time.Time
	// FullScan says the PSA cannot filter by change time, so every company is
	// listed whatever since was (HaloPSA clients).
	FullScan bool
}

// TicketPage is one page of tickets changed since a time.
type TicketPage struct {
	Tickets   []Ticket
	Next      string
	HighWater time.Time
}

// Connector is one PSA account, with its credentials bound.
type Connector interface {
	// CompaniesChangedSince lists companies modified at or after since, one page per call;
	// pass the previous page's Next as cursor ("" for the first page).
	CompaniesChangedSince(ctx context.Context, since time.Time, cursor string) (CompanyPage, error)
	Company(ctx context.Context, id string) (Company, error)
	// CreateCompany creates c (ID ignored) and answers it as the PSA stored it.
	CreateCompany(ctx context.Context, c Company) (Company, error)
	// UpdateCompany writes c's fields to the company c.ID and answers the result.
	UpdateCompany(ctx context.Context, c Company) (Company, error)
	// CreateTicket creates t for t.CompanyID (ID ignored); an empty Status or
	// Priority takes the connector's configured default.
	CreateTicket(ctx context.Context, t Ticket) (Ticket, error)
	// UpdateTicket writes t's summary, description, status and priority (each when not
	// empty; ConnectWise keeps the description as a note and does not rewrite it).
	UpdateTicket(ctx context.Context, t Ticket) (Ticket, error)
	// TicketsChangedSince lists tickets modified at or after since, so status changes
	// made in the PSA flow back.
	TicketsChangedSince(ctx context.Context, since time.Time, cursor string) (TicketPage, error)
	// Contacts lists every contact of the company companyID.
	Contacts(ctx context.Context, companyID string) ([]Contact, error)
}

// Fields says which of a company's optional fields a connector reads and writes both
// ways; the sync leaves the others out (a vendor keeps them where the connector does
// not reach, or only as an id of its own picklist).
type Fields struct {
	Website bool // Domain
	Address bool // Address1, Address2, City, State, PostalCode
	Country bool
}

// SyncedFields are the optional fields c syncs: those its SyncedFields method names,
// none when it has none.
func SyncedFields(c Connector) Fields {
	if f, ok := c.(interface{ SyncedFields() Fields }); ok {
		return f.SyncedFields()
	}
	return Fields{}
}
