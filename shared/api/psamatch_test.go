package api

import (
	"fmt"
	"testing"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/psa"
)

func TestMatchScore(t *testing.T) {
	cases := []struct {
		company     psa.Company
		customer    domain.Customer
		score       float64
		reason      string
		proposedToo bool
	}{
		{psa.Company{Name: "Northwind Traders", Domain: "https://www.northwindtraders.com/about"},
			domain.Customer{Name: "NW", PrimaryContactEmail: "megan@northwindtraders.com"}, 1, "domain", true},
		{psa.Company{Name: "Litware", Domain: "www.litware.example"},
			domain.Customer{Name: "LW", Website: "https://litware.example/home"}, 1, "domain", true},
		{psa.Company{Name: "Fabrikam, Inc.", Domain: "gmail.com"},
			domain.Customer{Name: "Fabrikam", PrimaryContactEmail: "someone@gmail.com"}, 0.95, "name", true},
		{psa.Company{Name: "The Contoso Group LLC"}, domain.Customer{Name: "Contoso Group"}, 0.95, "name", true},
		{psa.Company{Name: "Contoso Pharmaceuticals"}, domain.Customer{Name: "Contoso Pharma"}, 0.73, "name", true},
		{psa.Company{Name: "Tailspin Toys"}, domain.Customer{Name: "Wide World Importers"}, 0, "name", false},
		{psa.Company{Name: "Inc."}, domain.Customer{Name: "LLC"}, 0, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.company.Name, func(t *testing.T) {
			score, reason, _ := matchScore(newCompanyKey(tc.company), newCandidates([]domain.Customer{tc.customer})[0])
			if score != tc.score || reason != tc.reason {
				t.Errorf("score %v %q, want %v %q", score, reason, tc.score, tc.reason)
			}
			if got := len(proposeMatches(tc.company, newCandidates([]domain.Customer{tc.customer}))) > 0; got != tc.proposedToo {
				t.Errorf("proposed %v, want %v", got, tc.proposedToo)
			}
		})
	}
}

// BenchmarkProposeMatches proposes matches for one PSA company among 2,000 customers:
// a sync of N companies costs N of these.
func BenchmarkProposeMatches(b *testing.B) {
	customers := make([]domain.Customer, 2000)
	for i := range customers {
		customers[i] = domain.Customer{ID: fmt.Sprint(i), Name: fmt.Sprintf("Customer %d Holdings Ltd", i),
			PrimaryContactEmail: fmt.Sprintf("it@customer%d.example", i)}
	}
	company := psa.Company{ID: "1", Name: "Customer 1999 Holdings", Domain: "https://www.unrelated.example"}
	candidates := newCandidates(customers)
	for b.Loop() {
		proposeMatches(company, candidates)
	}
}
