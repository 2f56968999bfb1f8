package customerimport_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/shared/customerimport"
)

func TestParse(t *testing.T) {
	file := "\ufeffCUSTOMER name,Primary Contact Email,phone,PSA Type,PSA Connection ID,PSA ID,Extra\n" +
		"Contoso,alice@contoso.example,+1 555 123 4567,connectwise,cw1,42,x\n" +
		",bad-email,call me,,,,\n" +
		"\n" +
		"\"Fabrikam, Inc.\",,,autotask,,7,\n" +
		"Northwind,,,,,,\n"
	rows, err := customerimport.Parse(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	cases := []struct {
		line   int
		name   string
		fields []string
	}{
		{2, "Contoso", nil},
		{3, "", []string{"name", "primaryContactEmail", "phone"}},
		{5, "Fabrikam, Inc.", []string{"psaConnectionId"}},
		{6, "Northwind", nil},
	}
	for i, tc := range cases {
		r := rows[i]
		var got []string
		for _, f := range r.Errors {
			got = append(got, f.Field)
		}
		if r.Line != tc.line || r.Customer.Name != tc.name || fmt.Sprint(got) != fmt.Sprint(tc.fields) {
			t.Errorf("row %d: line %d name %q errors %v; want line %d name %q errors %v", i, r.Line, r.Customer.Name, got, tc.line, tc.name, tc.fields)
		}
	}
	if l := rows[0].Customer.PSALinks; len(l) != 1 || l[0].ExternalID != "42" || l[0].Type != "connectwise" {
		t.Errorf("psa link: %+v", l)
	}
}

func TestParseRefusesBadFiles(t *testing.T) {
	many := "name\n" + strings.Repeat("x\n", customerimport.MaxRows+1)
	for name, file := range map[string]string{
		"empty":          "",
		"no name column": "email,phone\na@b.c,1\n",
		"twice":          "name,Customer Name\na,b\n",
		"too many rows":  many,
	} {
		t.Run(name, func(t *testing.T) {
			var he *customerimport.HeaderError
			if _, err := customerimport.Parse(strings.NewReader(file)); !errors.As(err, &he) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("name,email\nA,a@b.c\n")
	f.Add("Customer Name,PSA ID,PSA Type,PSA Connection ID\n\"x\"\"y\",1,halopsa,c\n")
	f.Add("name\n\"unterminated\n")
	f.Add("\ufeffname;phone\n")
	f.Fuzz(func(t *testing.T, file string) {
		rows, err := customerimport.Parse(strings.NewReader(file))
		if err != nil {
			var he *customerimport.HeaderError
			if !errors.As(err, &he) {
				t.Fatalf("a file fault of another type: %v", err)
			}
			return
		}
		prev := 1
		for _, r := range rows {
			if r.Line <= prev-1 || r.Line < 2 {
				t.Fatalf("line numbers out of order: %d after %d", r.Line, prev)
			}
			prev = r.Line
			if len(r.Errors) == 0 && (strings.TrimSpace(r.Customer.Name) == "" || r.Customer.Name != strings.TrimSpace(r.Customer.Name)) {
				t.Fatalf("a row without errors has name %q", r.Customer.Name)
			}
		}
	})
}

// TestParseAddressColumns: the optional columns of the address in parts and the website
// fill the customer; the one-line address, when absent, is their rendering; a bad part
// fails its row naming it.
func TestParseAddressColumns(t *testing.T) {
	file := "Customer Name,Address,Address Line 1,City,State,ZIP,Country,Website\n" +
		"Contoso,,1 Main St,Springfield,IL,62701,USA,https://contoso.example\n" +
		"Fabrikam,\"HQ, Building 4\",4 Side St,Portland,,,,\n" +
		"Northwind,,,,,123456789012345678901,,northwind.example\n"
	rows, err := customerimport.Parse(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	c := rows[0].Customer
	if len(rows[0].Errors) != 0 || c.PostalAddress.Line1 != "1 Main St" || c.PostalAddress.PostalCode != "62701" ||
		c.Address != "1 Main St, Springfield, IL 62701, USA" || c.Website != "https://contoso.example" {
		t.Errorf("row 2: %+v %v", c, rows[0].Errors)
	}
	if c := rows[1].Customer; c.Address != "HQ, Building 4" || c.PostalAddress.City != "Portland" {
		t.Errorf("row 3: %+v", c)
	}
	var got []string
	for _, f := range rows[2].Errors {
		got = append(got, f.Field)
	}
	if fmt.Sprint(got) != "[postalAddress.postalCode website]" {
		t.Errorf("row 4 errors: %v", got)
	}
}
