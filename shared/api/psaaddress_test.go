package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/psa"
)

// addressCustomer is what the address tests read of a customer.
type addressCustomer struct {
	ID, Name, Address, Website string
	PostalAddress              domain.PostalAddress
	Version                    int64
}

func (c psaClient) addressCustomer(id string) addressCustomer {
	c.t.Helper()
	var out addressCustomer
	c.do("GET", "/api/msp-portal/customers/"+id, nil, http.StatusOK).JSON(c.t, &out)
	return out
}

// TestPSASyncAddresses syncs the website and the postal address with each vendor's
// stand-in: a customer made here with only a one-line address takes the PSA's parts
// (under switchboard-wins too) and wipes nothing; a new PSA company fills them; a PSA
// change arrives, a local change is pushed, both sides' change is a conflict under each
// policy, dry runs list the field changes, and a second sync changes nothing. HaloPSA
// syncs only the website (its addresses are on sites).
func TestPSASyncAddresses(t *testing.T) {
	w := newWorld(t)
	s := startPSAStandins(t, w.env)
	// Names far apart, so no company is a likely match of another vendor's customer.
	newName := map[string]string{"connectwise": "Harbor Freight Logistics", "autotask": "Quantum Bakery", "halopsa": "Zephyr Dental"}
	linkedName := map[string]string{"connectwise": "Kestrel Mining", "autotask": "Orchid Florists", "halopsa": "Vantage Optics"}
	for _, vendor := range psaVendors {
		t.Run(vendor, func(t *testing.T) {
			c := psaClient{t, w}
			st := s.of(vendor)
			parts := vendor != "halopsa"
			country := vendor == "connectwise"
			seeded := st.Seed(
				psa.Company{Name: linkedName[vendor], Phone: "+1 555 0100", Domain: "www." + vendor + ".example", Address1: "1 Main St",
					Address2: "Suite 5", City: "Springfield", State: "IL", PostalCode: "62701", Country: "United States"},
				psa.Company{Name: newName[vendor], Phone: "+1 555 0101", Address1: "7 Harbor Way", City: "Portland", State: "OR",
					PostalCode: "97201", Country: "United States"},
			)
			linkedID, newID := seeded[0].ID, seeded[1].ID
			conn := connectPSA(t, w, s, vendor)
			c.policy(conn, "switchboard-wins")

			// A customer made here with a one-line address only, linked to the company.
			var made struct{ ID string }
			c.do("POST", "/api/msp-portal/customers", map[string]any{"name": linkedName[vendor], "phone": "+1 555 0100",
				"address": "1 Old Road, Springfield"}, http.StatusCreated).JSON(t, &made)
			if got := c.addressCustomer(made.ID); !got.PostalAddress.IsZero() || got.Website != "" {
				t.Fatalf("a one-line address made parts: %+v", got)
			}
			c.do("POST", "/api/psa/"+conn+"/matches/accept", map[string]any{"matches": []any{map[string]any{"customerId": made.ID, "externalId": linkedID}}}, http.StatusOK)

			wantParts := domain.PostalAddress{}
			if parts {
				wantParts = domain.PostalAddress{Line1: "1 Main St", Line2: "Suite 5", City: "Springfield", State: "IL", PostalCode: "62701"}
			}
			if country {
				wantParts.Country = "United States"
			}
			d := c.dryRun(conn)
			if d.Counts["conflicts"] != 0 || d.Counts["updatedInPsa"] != 0 || len(d.UpdatesHere) != 1 || d.UpdatesHere[0].To.PostalAddress != wantParts ||
				d.UpdatesHere[0].To.Website != "https://www."+vendor+".example" || len(d.CreatesHere) != 1 {
				t.Fatalf("dry run: %+v", d)
			}
			d = c.sync(conn)
			got := c.addressCustomer(made.ID)
			if got.PostalAddress != wantParts || got.Website != "https://www."+vendor+".example" || got.Address != "1 Old Road, Springfield" {
				t.Fatalf("the linked customer after the sync: %+v", got)
			}
			if co, _ := st.Company(linkedID); co.Address1 != "1 Main St" || co.City != "Springfield" || co.Domain != "www."+vendor+".example" {
				t.Fatalf("the sync changed the PSA's company: %+v", co)
			}
			// The new company's customer has its parts, their rendering and the website.
			var created addressCustomer
			for _, cr := range d.CreatesHere {
				if cr.ExternalID == newID {
					created = c.addressCustomer(cr.CustomerID)
				}
			}
			wantNew, wantLine := domain.PostalAddress{}, ""
			if parts {
				wantNew = domain.PostalAddress{Line1: "7 Harbor Way", City: "Portland", State: "OR", PostalCode: "97201"}
				wantLine = "7 Harbor Way, Portland, OR 97201"
			}
			if country {
				wantNew.Country, wantLine = "United States", wantLine+", United States"
			}
			if created.ID == "" || created.PostalAddress != wantNew || created.Address != wantLine {
				t.Fatalf("the customer of the new company: %+v (%+v)", created, d.CreatesHere)
			}
			if d := c.sync(conn); d.changes() != 0 {
				t.Fatalf("second sync: %+v", d)
			}

			// A change in the PSA arrives (the city; HaloPSA's website).
			co, _ := st.Company(linkedID)
			co.City, co.Domain, co.UpdatedAt = "Shelbyville", "https://moved-"+vendor+".example", time.Time{}
			st.Seed(co)
			if parts {
				wantParts.City = "Shelbyville"
			}
			d = c.dryRun(conn)
			if len(d.UpdatesHere) != 1 || d.UpdatesHere[0].To.PostalAddress != wantParts || d.UpdatesHere[0].To.Website != "https://moved-"+vendor+".example" {
				t.Fatalf("dry run of the PSA's change: %+v", d)
			}
			c.sync(conn)
			if got := c.addressCustomer(made.ID); got.PostalAddress != wantParts || got.Website != "https://moved-"+vendor+".example" || got.Address != "1 Old Road, Springfield" {
				t.Fatalf("after the PSA's change: %+v", got)
			}

			// A local change is pushed (an address of its own stays as written).
			put := func(id string, postal domain.PostalAddress, website string) {
				t.Helper()
				cur := c.addressCustomer(id)
				c.do("PUT", "/api/msp-portal/customers/"+id, map[string]any{"name": cur.Name, "phone": "+1 555 0100", "address": cur.Address,
					"postalAddress": postal, "website": website, "psaLinks": []any{map[string]any{"connectionId": conn, "type": vendor, "externalId": linkedID}},
					"version": cur.Version}, http.StatusOK)
			}
			local := domain.PostalAddress{Line1: "2 Side St", City: "Shelbyville", State: "IL", PostalCode: "62565"}
			if country {
				local.Country = "Canada"
			}
			put(made.ID, local, "https://local-"+vendor+".example")
			d = c.dryRun(conn)
			if len(d.UpdatesInPsa) != 1 || d.UpdatesInPsa[0].To.Website != "https://local-"+vendor+".example" ||
				(parts && d.UpdatesInPsa[0].To.PostalAddress != local) || len(d.UpdatesHere) != 0 {
				t.Fatalf("dry run of the local change: %+v", d)
			}
			if d := c.sync(conn); d.Counts["updatedInPsa"] != 1 || d.changes() != 1 {
				t.Fatalf("push: %+v", d)
			}
			co, _ = st.Company(linkedID)
			if co.Domain != "https://local-"+vendor+".example" || parts && (co.Address1 != "2 Side St" || co.PostalCode != "62565") ||
				!parts && co.Address1 != "1 Main St" || country && co.Country != "Canada" || vendor == "autotask" && co.Country != "United States" {
				t.Fatalf("the PSA's company after the push: %+v", co)
			}
			if d := c.sync(conn); d.changes() != 0 {
				t.Fatalf("after the push: %+v", d)
			}

			// Both sides change: a conflict under each policy.
			field := "postalAddress"
			if !parts {
				field = "website"
			}
			step := 0
			conflict := func() (ours, theirs string) {
				t.Helper()
				step++
				ours, theirs = "https://ours-"+vendor+"-"+string(rune('0'+step))+".example", "https://theirs-"+vendor+"-"+string(rune('0'+step))+".example"
				l := local
				l.Line1 = "Ours " + string(rune('0'+step))
				web := c.addressCustomer(made.ID).Website
				if !parts {
					web = ours
				}
				put(made.ID, l, web)
				co, _ := st.Company(linkedID)
				co.Address1, co.UpdatedAt = "Theirs "+string(rune('0'+step)), time.Time{}
				if !parts {
					co.Domain = theirs
				}
				st.Seed(co)
				return
			}
			// Line1 (or the website) as each side holds it.
			sides := func() (here, there string) {
				got := c.addressCustomer(made.ID)
				co, _ := st.Company(linkedID)
				if parts {
					return got.PostalAddress.Line1, co.Address1
				}
				return got.Website, co.Domain
			}
			for _, policy := range []string{"hold", "switchboard-wins", "psa-wins"} {
				c.policy(conn, policy)
				ours, theirs := conflict()
				if parts {
					ours, theirs = "Ours "+string(rune('0'+step)), "Theirs "+string(rune('0'+step))
				}
				d := c.dryRun(conn)
				if len(d.Conflicts) != 1 || !slices.Equal(d.Conflicts[0].Fields, []string{field}) || d.Conflicts[0].Resolution != policy {
					t.Fatalf("%s: dry run: %+v", policy, d)
				}
				c.sync(conn)
				here, there := sides()
				switch policy {
				case "hold":
					if here != ours || there != theirs {
						t.Fatalf("hold changed a side: %q %q", here, there)
					}
					c.do("POST", "/api/psa/"+conn+"/conflicts/"+linkedID+"/resolve", map[string]any{"winner": "switchboard"}, http.StatusOK)
					if here, there := sides(); here != ours || there != ours {
						t.Fatalf("resolved for Switchboard: %q %q", here, there)
					}
				case "switchboard-wins":
					if here != ours || there != ours {
						t.Fatalf("switchboard-wins: %q %q", here, there)
					}
				case "psa-wins":
					if here != theirs || there != theirs {
						t.Fatalf("psa-wins: %q %q", here, there)
					}
				}
				if d := c.sync(conn); d.changes() != 0 {
					t.Fatalf("%s: the sync after the conflict: %+v", policy, d)
				}
			}
			res := c.do("GET", "/api/audit-log?category=customer&limit=100", nil, http.StatusOK)
			if !strings.Contains(string(res.Body), "postalAddress.line1") && parts {
				t.Errorf("the audit log names no postalAddress.line1 change")
			}
			c.do("DELETE", "/api/connections/"+conn, nil, http.StatusNoContent)
		})
	}
}

// TestCustomerPostalAddressAndWebsite: the parts and the website are created, returned,
// kept by a PUT that omits them (a client of the seed's fields), cleared by an empty
// object; the one-line address follows the parts while it is their rendering; bad parts
// are a 400 naming the field; the audit log names the changed part.
func TestCustomerPostalAddressAndWebsite(t *testing.T) {
	w := newWorld(t)
	c := psaClient{t, w}
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"postal code too long", map[string]any{"postalAddress": map[string]any{"postalCode": strings.Repeat("9", 21)}}, "postalAddress.postalCode"},
		{"line1 too long", map[string]any{"postalAddress": map[string]any{"line1": strings.Repeat("a", 121)}}, "postalAddress.line1"},
		{"city not a string", map[string]any{"postalAddress": map[string]any{"city": 5}}, "postalAddress.city"},
		{"postal address not an object", map[string]any{"postalAddress": "1 Main St"}, "postalAddress"},
		{"website without a scheme", map[string]any{"website": "contoso.example"}, "website"},
		{"website ftp", map[string]any{"website": "ftp://contoso.example"}, "website"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.body["name"] = "Bad " + tc.name
			res := c.do("POST", "/api/msp-portal/customers", tc.body, http.StatusBadRequest)
			if !strings.Contains(string(res.Body), `"`+tc.field+`"`) {
				t.Fatalf("the fault names no %s: %s", tc.field, res.Body)
			}
		})
	}

	var made addressCustomer
	c.do("POST", "/api/msp-portal/customers", map[string]any{"name": "Parts Co", "website": "https://parts.example",
		"postalAddress": map[string]any{"line1": " 1 Main St ", "city": "Springfield", "state": "IL", "postalCode": "62701"}}, http.StatusCreated).JSON(t, &made)
	want := domain.PostalAddress{Line1: "1 Main St", City: "Springfield", State: "IL", PostalCode: "62701"}
	got := c.addressCustomer(made.ID)
	if got.PostalAddress != want || got.Website != "https://parts.example" || got.Address != "1 Main St, Springfield, IL 62701" {
		t.Fatalf("created: %+v", got)
	}
	// A PUT of the seed's fields only keeps the parts and the website.
	c.do("PUT", "/api/msp-portal/customers/"+made.ID, map[string]any{"name": "Parts Co", "address": got.Address, "notes": "n"}, http.StatusOK)
	if got := c.addressCustomer(made.ID); got.PostalAddress != want || got.Website != "https://parts.example" || got.Address != "1 Main St, Springfield, IL 62701" {
		t.Fatalf("after a PUT without them: %+v", got)
	}
	// New parts, the address sent back as it was: it follows them.
	c.do("PUT", "/api/msp-portal/customers/"+made.ID, map[string]any{"name": "Parts Co", "address": "1 Main St, Springfield, IL 62701",
		"postalAddress": map[string]any{"line1": "2 Side St", "city": "Springfield", "state": "IL", "postalCode": "62701"}}, http.StatusOK)
	if got := c.addressCustomer(made.ID); got.Address != "2 Side St, Springfield, IL 62701" || got.PostalAddress.Line1 != "2 Side St" {
		t.Fatalf("after new parts: %+v", got)
	}
	res := c.do("GET", "/api/audit-log?category=customer&limit=20", nil, http.StatusOK)
	if !strings.Contains(string(res.Body), "postalAddress.line1") {
		t.Errorf("the audit log names no postalAddress.line1 change: %s", res.Body)
	}
	// An address of its own stays; {} and "" clear the parts and the website.
	c.do("PUT", "/api/msp-portal/customers/"+made.ID, map[string]any{"name": "Parts Co", "address": "Head office",
		"postalAddress": map[string]any{}, "website": ""}, http.StatusOK)
	if got := c.addressCustomer(made.ID); got.Address != "Head office" || !got.PostalAddress.IsZero() || got.Website != "" {
		t.Fatalf("after clearing: %+v", got)
	}
	// Only a one-line address: no parts.
	var line addressCustomer
	c.do("POST", "/api/msp-portal/customers", map[string]any{"name": "Line Co", "address": "1 Old Road"}, http.StatusCreated).JSON(t, &line)
	if got := c.addressCustomer(line.ID); got.Address != "1 Old Road" || !got.PostalAddress.IsZero() {
		t.Fatalf("a one-line address: %+v", got)
	}
}
