package api

import (
	"cmp"
	"net/mail"
	"slices"
	"strings"
	"unicode"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/psa"
)

// Matching a PSA company to an unlinked customer (docs/psa.md, "Matching"): an exact
// domain scores 1, the same name once legal suffixes and punctuation are dropped 0.95,
// else the Dice coefficient of the names' letter pairs. Proposals start at
// matchThreshold; a proposal is also what keeps a sync from creating a customer.
const (
	matchThreshold  = 0.6
	scoreDomain     = 1.0
	scoreSameName   = 0.95
	maxProposalsPer = 3
)

// psaMatch is a proposed link of a PSA company to a customer.
type psaMatch struct {
	ExternalID    string  `json:"externalId"`
	CompanyName   string  `json:"companyName"`
	CompanyDomain string  `json:"companyDomain,omitempty"`
	CustomerID    string  `json:"customerId"`
	CustomerName  string  `json:"customerName"`
	Score         float64 `json:"score"`
	// Reason is "domain" or "name"; Detail says it in words.
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

// freeMailDomains are mailbox providers: a contact there says nothing of the company.
var freeMailDomains = map[string]bool{"gmail.com": true, "googlemail.com": true, "outlook.com": true, "hotmail.com": true,
	"live.com": true, "msn.com": true, "yahoo.com": true, "icloud.com": true, "me.com": true, "aol.com": true,
	"proton.me": true, "protonmail.com": true, "gmx.com": true, "mail.com": true}

// websiteDomain is the host of a PSA website ("https://www.contoso.com/about" →
// contoso.com), "" when there is none.
func websiteDomain(site string) string {
	s := strings.ToLower(strings.TrimSpace(site))
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#:"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimPrefix(s, "www.")
	if !strings.Contains(s, ".") {
		return ""
	}
	return s
}

// customerDomain is the domain of a customer's primary contact email, "" when there is
// none or it is a mailbox provider's.
func customerDomain(c domain.Customer) string {
	a, err := mail.ParseAddress(c.PrimaryContactEmail)
	if err != nil {
		return ""
	}
	_, d, _ := strings.Cut(strings.ToLower(a.Address), "@")
	if freeMailDomains[d] {
		return ""
	}
	return d
}

// legalSuffixes are dropped from names before comparing them.
var legalSuffixes = map[string]bool{"inc": true, "incorporated": true, "llc": true, "ltd": true, "limited": true, "corp": true,
	"corporation": true, "co": true, "company": true, "gmbh": true, "ag": true, "bv": true, "plc": true, "pty": true, "sa": true,
	"sarl": true, "srl": true, "the": true, "and": true}

// normalName is a name's words, lower case, without punctuation or legal suffixes.
func normalName(s string) string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '&' })
	out := words[:0]
	for _, w := range words {
		if !legalSuffixes[w] && w != "&" {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

// dice is the Dice coefficient of a's and b's letter pairs (spaces dropped).
func dice(a, b string) float64 {
	pairs := func(s string) map[string]int {
		r := []rune(strings.ReplaceAll(s, " ", ""))
		m := map[string]int{}
		for i := 0; i+1 < len(r); i++ {
			m[string(r[i:i+2])]++
		}
		return m
	}
	pa, pb := pairs(a), pairs(b)
	total, common := 0, 0
	for k, n := range pa {
		total += n
		common += min(n, pb[k])
	}
	for _, n := range pb {
		total += n
	}
	if total == 0 {
		return 0
	}
	return 2 * float64(common) / float64(total)
}

// matchScore scores company against customer: the score, the reason and its words.
func matchScore(company psa.Company, site string, c domain.Customer) (float64, string, string) {
	if site != "" && site == customerDomain(c) {
		return scoreDomain, "domain", "the PSA website's domain " + site + " is the domain of the customer's primary contact email"
	}
	a, b := normalName(company.Name), normalName(c.Name)
	if a == "" || b == "" {
		return 0, "", ""
	}
	if a == b {
		return scoreSameName, "name", "the names are the same once case, punctuation and legal suffixes are set aside"
	}
	s := dice(a, b)
	return float64(int(s*100+0.5)) / 100, "name", "the names are similar"
}

// proposeMatches are the best candidates (at most maxProposalsPer, best first) for
// company among customers.
func proposeMatches(company psa.Company, candidates []domain.Customer) []psaMatch {
	site := websiteDomain(company.Domain)
	var out []psaMatch
	for _, c := range candidates {
		score, reason, detail := matchScore(company, site, c)
		if score < matchThreshold {
			continue
		}
		out = append(out, psaMatch{ExternalID: company.ID, CompanyName: company.Name, CompanyDomain: site, CustomerID: c.ID,
			CustomerName: c.Name, Score: score, Reason: reason, Detail: detail})
	}
	slices.SortFunc(out, func(a, b psaMatch) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(strings.ToLower(a.CustomerName), strings.ToLower(b.CustomerName)))
	})
	return out[:min(len(out), maxProposalsPer)]
}
