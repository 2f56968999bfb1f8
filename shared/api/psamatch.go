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

// letterPairs are a name's letter pairs (spaces dropped), counted.
func letterPairs(s string) (map[string]int, int) {
	r := []rune(strings.ReplaceAll(s, " ", ""))
	m := map[string]int{}
	for i := 0; i+1 < len(r); i++ {
		m[string(r[i:i+2])]++
	}
	return m, max(len(r)-1, 0)
}

// matchCandidate is a customer with what matching compares, computed once per request
// or sync rather than once per PSA company.
type matchCandidate struct {
	customer domain.Customer
	domain   string // of the primary contact's email
	site     string // of the customer's website
	name     string
	pairs    map[string]int
	total    int
}

func newCandidates(customers []domain.Customer) []matchCandidate {
	out := make([]matchCandidate, len(customers))
	for i, c := range customers {
		name := normalName(c.Name)
		pairs, total := letterPairs(name)
		out[i] = matchCandidate{customer: c, domain: customerDomain(c), site: websiteDomain(c.Website), name: name, pairs: pairs, total: total}
	}
	return out
}

// dice is the Dice coefficient of two names' letter pairs.
func dice(a map[string]int, na int, b map[string]int, nb int) float64 {
	if na+nb == 0 {
		return 0
	}
	common := 0
	for k, n := range a {
		common += min(n, b[k])
	}
	return 2 * float64(common) / float64(na+nb)
}

// companyKey is what matching compares of a PSA company.
type companyKey struct {
	domain, name string
	pairs        map[string]int
	total        int
}

func newCompanyKey(c psa.Company) companyKey {
	name := normalName(c.Name)
	pairs, total := letterPairs(name)
	return companyKey{domain: websiteDomain(c.Domain), name: name, pairs: pairs, total: total}
}

// matchScore scores a company against a candidate: the score, the reason and its words.
func matchScore(k companyKey, c matchCandidate) (float64, string, string) {
	if k.domain != "" && k.domain == c.domain {
		return scoreDomain, "domain", "the PSA website's domain " + k.domain + " is the domain of the customer's primary contact email"
	}
	if k.domain != "" && k.domain == c.site {
		return scoreDomain, "domain", "the PSA website's domain " + k.domain + " is the domain of the customer's website"
	}
	if k.name == "" || c.name == "" {
		return 0, "", ""
	}
	if k.name == c.name {
		return scoreSameName, "name", "the names are the same once case, punctuation and legal suffixes are set aside"
	}
	s := dice(k.pairs, k.total, c.pairs, c.total)
	return float64(int(s*100+0.5)) / 100, "name", "the names are similar"
}

// proposeMatches are the best candidates (at most maxProposalsPer, best first) for
// company.
func proposeMatches(company psa.Company, candidates []matchCandidate) []psaMatch {
	k := newCompanyKey(company)
	var out []psaMatch
	for _, c := range candidates {
		score, reason, detail := matchScore(k, c)
		if score < matchThreshold {
			continue
		}
		out = append(out, psaMatch{ExternalID: company.ID, CompanyName: company.Name, CompanyDomain: k.domain, CustomerID: c.customer.ID,
			CustomerName: c.customer.Name, Score: score, Reason: reason, Detail: detail})
	}
	slices.SortFunc(out, func(a, b psaMatch) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(strings.ToLower(a.CustomerName), strings.ToLower(b.CustomerName)))
	})
	return out[:min(len(out), maxProposalsPer)]
}
