package api

import (
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/psa"
)

// The fields each vendor's connector syncs (their SyncedFields), as the sync sees them.
var (
	cwFields   = psa.Fields{Website: true, Address: true, Country: true}
	atFields   = psa.Fields{Website: true, Address: true}
	haloFields = psa.Fields{Website: true}
)

// TestPSAFieldsOf maps a PSA company to the fields a customer would hold, per vendor:
// what the vendor does not sync is local's, so it never differs.
func TestPSAFieldsOf(t *testing.T) {
	company := psa.Company{Name: " Contoso ", Phone: "+1 555 0100", Domain: "www.contoso.example", Address1: "1 Main St",
		Address2: "Suite 5", City: "Springfield", State: "IL", PostalCode: "62701", Country: "United States"}
	local := domain.PSAFields{Name: "Contoso", Website: "https://local.example",
		PostalAddress: domain.PostalAddress{Line1: "9 Local Rd", Country: "Canada"}}
	parts := domain.PostalAddress{Line1: "1 Main St", Line2: "Suite 5", City: "Springfield", State: "IL", PostalCode: "62701"}
	withCountry := parts
	withCountry.Country = "United States"
	localCountry := parts
	localCountry.Country = "Canada"
	long := psa.Company{Name: "X", Address1: strings.Repeat("a", 200), PostalCode: strings.Repeat("9", 30), Domain: "not a website"}
	for _, tc := range []struct {
		name    string
		company psa.Company
		sf      psa.Fields
		want    domain.PSAFields
	}{
		{"connectwise: every part, the country too", company, cwFields,
			domain.PSAFields{Name: "Contoso", Phone: "+1 555 0100", Website: "https://www.contoso.example", PostalAddress: withCountry}},
		{"autotask: the parts, local's country", company, atFields,
			domain.PSAFields{Name: "Contoso", Phone: "+1 555 0100", Website: "https://www.contoso.example", PostalAddress: localCountry}},
		{"halopsa: the website, local's address", company, haloFields,
			domain.PSAFields{Name: "Contoso", Phone: "+1 555 0100", Website: "https://www.contoso.example", PostalAddress: local.PostalAddress}},
		{"a website with its scheme is kept", psa.Company{Name: "C", Domain: "http://c.example/x"}, cwFields,
			domain.PSAFields{Name: "C", Website: "http://c.example/x"}},
		{"long parts are cut, a bad website is local's", long, cwFields,
			domain.PSAFields{Name: "X", Website: local.Website, PostalAddress: domain.PostalAddress{
				Line1: strings.Repeat("a", domain.MaxAddressLine), PostalCode: strings.Repeat("9", domain.MaxPostalCode)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := psaFieldsOf(tc.company, local, tc.sf); got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestCompanyWith writes a customer's fields to a PSA company, only those the vendor syncs.
func TestCompanyWith(t *testing.T) {
	in := psa.Company{ID: "7", Name: "Old", Domain: "old.example", Address1: "old", City: "Old City", Country: "Old Country"}
	f := domain.PSAFields{Name: "New", Phone: "+1 555 0100", Website: "https://new.example",
		PostalAddress: domain.PostalAddress{Line1: "1 New St", City: "New City", PostalCode: "10001", Country: "France"}}
	for _, tc := range []struct {
		name string
		sf   psa.Fields
		want psa.Company
	}{
		{"connectwise", cwFields, psa.Company{ID: "7", Name: "New", Phone: "+1 555 0100", Domain: "https://new.example",
			Address1: "1 New St", City: "New City", PostalCode: "10001", Country: "France"}},
		{"autotask", atFields, psa.Company{ID: "7", Name: "New", Phone: "+1 555 0100", Domain: "https://new.example",
			Address1: "1 New St", City: "New City", PostalCode: "10001", Country: "Old Country"}},
		{"halopsa", haloFields, psa.Company{ID: "7", Name: "New", Phone: "+1 555 0100", Domain: "https://new.example",
			Address1: "old", City: "Old City", Country: "Old Country"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := companyWith(in, f, tc.sf); got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestMergedAddress is the three-way merge of the website and the postal address (one
// unit): one side's change is copied, both sides' is a conflict under the policy, and
// without a baseline a blank side is filled rather than conflicting.
func TestMergedAddress(t *testing.T) {
	a := domain.PostalAddress{Line1: "1 Main St", City: "Springfield"}
	b := domain.PostalAddress{Line1: "1 Main St", City: "Shelbyville"}
	c := domain.PostalAddress{Line1: "2 Side St", City: "Springfield"}
	f := func(web string, p domain.PostalAddress) domain.PSAFields {
		return domain.PSAFields{Name: "N", Website: web, PostalAddress: p}
	}
	base := f("https://a.example", a)
	for _, tc := range []struct {
		name          string
		base          *domain.PSAFields
		local, remote domain.PSAFields
		policy        string
		want          domain.PSAFields
		conflicts     []string
	}{
		{"PSA changed the address", &base, base, f("https://a.example", b), domain.PSAHold, f("https://a.example", b), nil},
		{"local changed the address", &base, f("https://a.example", c), base, domain.PSAHold, f("https://a.example", c), nil},
		{"local changed the website", &base, f("https://b.example", a), base, domain.PSAHold, f("https://b.example", a), nil},
		{"both changed, hold", &base, f("https://a.example", c), f("https://a.example", b), domain.PSAHold, f("https://a.example", c), []string{"postalAddress"}},
		{"both changed, psa-wins", &base, f("https://a.example", c), f("https://a.example", b), domain.PSAWins, f("https://a.example", b), []string{"postalAddress"}},
		{"both changed, switchboard-wins", &base, f("https://b.example", c), f("https://c.example", b), domain.SwitchboardWins, f("https://b.example", c), []string{"website", "postalAddress"}},
		{"no baseline, blank here: the PSA's", nil, f("", domain.PostalAddress{}), f("https://a.example", a), domain.SwitchboardWins, f("https://a.example", a), nil},
		{"no baseline, blank in the PSA: ours", nil, f("https://a.example", a), f("", domain.PostalAddress{}), domain.PSAWins, f("https://a.example", a), nil},
		{"no baseline, both set and different", nil, f("https://a.example", a), f("https://a.example", b), domain.PSAWins, f("https://a.example", b), []string{"postalAddress"}},
		{"a baseline of before the parts were synced", &domain.PSAFields{Name: "N"}, f("", domain.PostalAddress{}), f("https://a.example", a), domain.PSAHold, f("https://a.example", a), nil},
		{"a cleared address is a change here", &base, f("https://a.example", domain.PostalAddress{}), base, domain.PSAHold, f("https://a.example", domain.PostalAddress{}), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, conflicts := merged(tc.base, tc.local, tc.remote, tc.policy)
			if got != tc.want || !slices.Equal(conflicts, tc.conflicts) {
				t.Errorf("got %+v %v\nwant %+v %v", got, conflicts, tc.want, tc.conflicts)
			}
		})
	}
}
