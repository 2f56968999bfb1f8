package psa

import (
	"fmt"
	"strconv"
)

// NumericID reads a psa id as the vendor's positive integer id. A non-number
// names no record of the vendor, so it is ErrNotFound.
func NumericID(vendor, kind, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s: %s id %q is not a %s id: %w", vendor, kind, s, vendor, ErrNotFound)
	}
	return n, nil
}

// PageNumber reads a cursor that is a page number ("" is the first page).
func PageNumber(vendor, cursor string) (int, error) {
	if cursor == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(cursor)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s: the cursor %q is not one this connector gave", vendor, cursor)
	}
	return n, nil
}

// NumericStatus reads a ticket status that is a vendor's numeric status id; ""
// is def.
func NumericStatus(vendor, s string, def int) (int, error) {
	return NumericValue(vendor, "status", s, def)
}

// NumericValue reads a ticket field (status, priority) that is a vendor's numeric id;
// "" is def.
func NumericValue(vendor, field, s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s: the ticket %s %q is not a numeric %s", vendor, field, s, field)
	}
	return n, nil
}

// OptionalID is a vendor's numeric id as text, "" for 0 (not set).
func OptionalID(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// NewCompanyPage is a page of companies with its high-water mark.
func NewCompanyPage(companies []Company, next string) CompanyPage {
	p := CompanyPage{Companies: companies, Next: next}
	for _, c := range companies {
		if c.UpdatedAt.After(p.HighWater) {
			p.HighWater = c.UpdatedAt
		}
	}
	return p
}

// NewTicketPage is a page of tickets with its high-water mark.
func NewTicketPage(tickets []Ticket, next string) TicketPage {
	p := TicketPage{Tickets: tickets, Next: next}
	for _, t := range tickets {
		if t.UpdatedAt.After(p.HighWater) {
			p.HighWater = t.UpdatedAt
		}
	}
	return p
}

// Truncate cuts s to at most n characters, for the vendors' length limits.
func Truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
