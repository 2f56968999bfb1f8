package domain

import (
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/shared/problem"
)

func TestPostalAddressOneLine(t *testing.T) {
	for _, tc := range []struct {
		in   PostalAddress
		want string
	}{
		{PostalAddress{}, ""},
		{PostalAddress{Line1: "1 Main St", Line2: "Suite 5", City: "Springfield", State: "IL", PostalCode: "62701", Country: "USA"},
			"1 Main St, Suite 5, Springfield, IL 62701, USA"},
		{PostalAddress{Line1: "1 Main St", PostalCode: "62701"}, "1 Main St, 62701"},
		{PostalAddress{City: "Paris", Country: "France"}, "Paris, France"},
	} {
		if got := tc.in.OneLine(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.in, got, tc.want)
		}
	}
	// The longest parts render within the customer's address limit.
	longest := PostalAddress{Line1: strings.Repeat("a", MaxAddressLine), Line2: strings.Repeat("b", MaxAddressLine), City: strings.Repeat("c", MaxCity),
		State: strings.Repeat("d", MaxState), PostalCode: strings.Repeat("e", MaxPostalCode), Country: strings.Repeat("f", MaxCountry)}
	if n := len(longest.OneLine()); n > MaxAddressLength || n != 469 {
		t.Errorf("the longest rendering has %d characters", n)
	}
}

// TestFollowParts: the one-line address follows the parts while it is empty or their
// rendering; an address of its own stays.
func TestFollowParts(t *testing.T) {
	old := PostalAddress{Line1: "1 Main St", City: "Springfield"}
	moved := PostalAddress{Line1: "2 Side St", City: "Springfield"}
	for _, tc := range []struct {
		name    string
		address string
		prev    PostalAddress
		parts   PostalAddress
		want    string
	}{
		{"empty: the rendering", "", PostalAddress{}, moved, "2 Side St, Springfield"},
		{"only a one-line address: kept, parts empty", "1 Old Road", PostalAddress{}, PostalAddress{}, "1 Old Road"},
		{"one of its own beside new parts: kept", "1 Old Road", PostalAddress{}, moved, "1 Old Road"},
		{"the old rendering: follows", "1 Main St, Springfield", old, moved, "2 Side St, Springfield"},
		{"the old rendering, parts cleared: cleared", "1 Main St, Springfield", old, PostalAddress{}, ""},
		{"edited away from the rendering: kept", "HQ, 1 Main St", old, moved, "HQ, 1 Main St"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Customer{Address: tc.address, PostalAddress: tc.parts}
			c.FollowParts(tc.prev)
			if c.Address != tc.want {
				t.Errorf("address %q, want %q", c.Address, tc.want)
			}
		})
	}
}

func TestCustomerValidateAddressAndWebsite(t *testing.T) {
	for _, tc := range []struct {
		name  string
		c     Customer
		field string
	}{
		{"line1", Customer{Name: "A", PostalAddress: PostalAddress{Line1: strings.Repeat("x", MaxAddressLine+1)}}, "postalAddress.line1"},
		{"line2", Customer{Name: "A", PostalAddress: PostalAddress{Line2: strings.Repeat("x", MaxAddressLine+1)}}, "postalAddress.line2"},
		{"city", Customer{Name: "A", PostalAddress: PostalAddress{City: strings.Repeat("x", MaxCity+1)}}, "postalAddress.city"},
		{"state", Customer{Name: "A", PostalAddress: PostalAddress{State: strings.Repeat("x", MaxState+1)}}, "postalAddress.state"},
		{"postalCode", Customer{Name: "A", PostalAddress: PostalAddress{PostalCode: strings.Repeat("9", MaxPostalCode+1)}}, "postalAddress.postalCode"},
		{"country", Customer{Name: "A", PostalAddress: PostalAddress{Country: strings.Repeat("x", MaxCountry+1)}}, "postalAddress.country"},
		{"website scheme", Customer{Name: "A", Website: "ftp://contoso.example"}, "website"},
		{"website without scheme", Customer{Name: "A", Website: "contoso.example"}, "website"},
		{"valid", Customer{Name: "A", Website: "https://contoso.example/x", PostalAddress: PostalAddress{Line1: "1 Main St", PostalCode: "62701"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v problem.Validation
			tc.c.Validate(&v, "")
			err := v.Err()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || len(problem.As(err).Fields) != 1 || problem.As(err).Fields[0].Field != tc.field {
				t.Fatalf("want one fault of %s, got %v", tc.field, err)
			}
		})
	}
}
