package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/psa"
)

// psaClient calls the API as the world's Owner.
type psaClient struct {
	t *testing.T
	w *world
}

func (c psaClient) do(method, path string, body any, want int) *testenv.Response {
	c.t.Helper()
	res := c.w.env.Do(testenv.Request{Method: method, Path: path, Token: c.w.tokens["Owner"], Body: body,
		Headers: map[string]string{api.HeaderOrganization: c.w.org.ID}})
	if res.Status != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, res.Status, want, res.Body)
	}
	return res
}

// customer creates a customer and answers its id.
func (c psaClient) customer(name, email string) string {
	c.t.Helper()
	var out struct{ ID string }
	c.do("POST", "/api/msp-portal/customers", map[string]any{"name": name, "primaryContactEmail": email}, http.StatusCreated).JSON(c.t, &out)
	return out.ID
}

// customers are the organization's active customers by name.
func (c psaClient) customers() map[string]map[string]any {
	c.t.Helper()
	var list struct{ Items []map[string]any }
	c.do("GET", "/api/msp-portal/customers?limit=100", nil, http.StatusOK).JSON(c.t, &list)
	out := map[string]map[string]any{}
	for _, it := range list.Items {
		name, _ := it["name"].(string)
		if _, dup := out[name]; dup {
			c.t.Fatalf("two customers named %q", name)
		}
		out[name] = it
	}
	return out
}

// psaDiffJSON is the diff of a sync.
type psaDiffJSON struct {
	CreatesHere  []struct{ ExternalID, Name, CustomerID string }
	UpdatesHere  []psaChangeJSON
	UpdatesInPsa []psaChangeJSON
	Conflicts    []struct {
		ExternalID, Resolution string
		Fields                 []string
	}
	ProposedMatches []struct{ ExternalID, CustomerID string }
	Counts          map[string]int
	Complete        bool
}

// psaChangeJSON is a change of a diff.
type psaChangeJSON struct {
	CustomerID, ExternalID string
	From, To               psaFieldsJSON
}

// psaFieldsJSON are the synced fields of a change.
type psaFieldsJSON struct {
	Name, Phone, Website string
	PostalAddress        domain.PostalAddress
}

// changes is how many records a sync changed (or would), conflicts included.
func (d psaDiffJSON) changes() int {
	return d.Counts["createdHere"] + d.Counts["updatedHere"] + d.Counts["updatedInPsa"] + d.Counts["conflicts"]
}

func (c psaClient) dryRun(conn string) psaDiffJSON {
	c.t.Helper()
	var d psaDiffJSON
	c.do("POST", "/api/psa/"+conn+"/sync?dryRun=true", nil, http.StatusOK).JSON(c.t, &d)
	if !d.Complete {
		c.t.Fatalf("dry run incomplete: %+v", d)
	}
	return d
}

// sync runs a real sync as a job and answers the diff it applied.
func (c psaClient) sync(conn string) psaDiffJSON {
	c.t.Helper()
	var j struct{ ID, Status string }
	c.do("POST", "/api/psa/"+conn+"/sync", nil, http.StatusAccepted).JSON(c.t, &j)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got struct {
			Status  string
			Failure string
			Result  psaDiffJSON
		}
		c.do("GET", "/api/jobs/"+j.ID, nil, http.StatusOK).JSON(c.t, &got)
		switch {
		case got.Status == "succeeded":
			if !got.Result.Complete {
				c.t.Fatalf("sync job incomplete: %+v", got.Result)
			}
			return got.Result
		case got.Status == "failed" || time.Now().After(deadline):
			c.t.Fatalf("sync job: %s %s", got.Status, got.Failure)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (c psaClient) policy(conn, policy string) {
	c.t.Helper()
	c.do("PUT", "/api/psa/"+conn+"/sync", map[string]any{"conflictPolicy": policy}, http.StatusOK)
}

// psaSeeder is what a test seeds and reads a stand-in through.
type psaSeeder interface {
	Seed(...psa.Company) []psa.Company
	Company(id string) (psa.Company, bool)
	Companies() []psa.Company
}

func (s *psaStandins) of(vendor string) psaSeeder {
	switch vendor {
	case "connectwise":
		return s.cw
	case "autotask":
		return s.at
	}
	return s.halo
}

// TestPSASyncFlow is the matching and sync of each vendor through the API: proposals by
// domain and by name, accepting (and its refusals), a dry run that changes nothing, a
// sync that creates only what has no likely match, a second sync that changes nothing,
// local changes pushed, and conflicts under each policy.
func TestPSASyncFlow(t *testing.T) {
	w := newWorld(t)
	s := startPSAStandins(t, w.env)
	c := psaClient{t, w}
	northwind := c.customer("Northwind", "megan@northwindtraders.com")
	fabrikam := c.customer("Fabrikam", "")
	// Each vendor's new company has a name of its own, far from the others.
	newCompany := map[string]string{"connectwise": "Tailspin Toys", "autotask": "Contoso Pharmaceuticals", "halopsa": "Wide World Importers"}
	for i, vendor := range psaVendors {
		t.Run(vendor, func(t *testing.T) {
			c := psaClient{t, w}
			tailName := newCompany[vendor]
			named := func(s string) string { return tailName + " (" + s + ")" }
			seeded := s.of(vendor).Seed(
				psa.Company{Name: "Northwind Traders", Domain: "https://www.northwindtraders.com", Phone: "+1 555 010" + string(rune('1'+i))},
				psa.Company{Name: "Fabrikam, Inc.", Domain: "fabrikam.example", Phone: "+1 555 0102"},
				// A domain of its own: the customer an earlier vendor's sync made from its
				// company holds that website, which would be a domain match.
				psa.Company{Name: tailName, Domain: vendor + "-tailspin.example", Phone: "+1 555 0103"},
			)
			nwID, fabID, tailID := seeded[0].ID, seeded[1].ID, seeded[2].ID
			conn := connectPSA(t, w, s, vendor)

			// Proposals: Northwind by domain (1), Fabrikam by name (0.95), Tailspin none.
			var m struct {
				Items []struct {
					ExternalID, CustomerID, Reason string
					Score                          float64
				}
				UnlinkedCompanies int
			}
			c.do("GET", "/api/psa/"+conn+"/matches", nil, http.StatusOK).JSON(t, &m)
			got := map[string]string{}
			for _, it := range m.Items {
				got[it.ExternalID] = it.CustomerID + " " + it.Reason
				if it.ExternalID == nwID && it.Score != 1 || it.ExternalID == fabID && it.Score != 0.95 {
					t.Errorf("score of %s: %v", it.ExternalID, it.Score)
				}
			}
			if got[nwID] != northwind+" domain" || got[fabID] != fabrikam+" name" || got[tailID] != "" {
				t.Fatalf("proposals: %+v", m)
			}
			customersBefore := len(c.customers())

			// Accept Northwind; a second link of the customer or of the record is refused.
			c.do("POST", "/api/psa/"+conn+"/matches/accept", map[string]any{"matches": []any{map[string]any{"customerId": northwind, "externalId": nwID}}}, http.StatusOK)
			res := c.do("POST", "/api/psa/"+conn+"/matches/accept", map[string]any{"matches": []any{map[string]any{"customerId": northwind, "externalId": fabID}}}, http.StatusConflict)
			if !strings.Contains(string(res.Body), "customer-already-linked") || !strings.Contains(string(res.Body), northwind) {
				t.Errorf("second link of a customer: %s", res.Body)
			}
			res = c.do("POST", "/api/psa/"+conn+"/matches/accept", map[string]any{"matches": []any{
				map[string]any{"customerId": fabrikam, "externalId": fabID}, map[string]any{"customerId": c.customer("Spare "+vendor, ""), "externalId": nwID}}}, http.StatusConflict)
			if !strings.Contains(string(res.Body), "psa-record-linked") || !strings.Contains(string(res.Body), "matches[1].externalId") {
				t.Errorf("a record linked to another customer: %s", res.Body)
			}
			if cs := c.customers(); linkOf(cs["Fabrikam"], conn) != "" {
				t.Errorf("a refused accept linked Fabrikam: %v", cs["Fabrikam"])
			}
			c.do("POST", "/api/psa/"+conn+"/matches/accept", map[string]any{"matches": []any{map[string]any{"customerId": "nope", "externalId": "999999"}}}, http.StatusBadRequest)
			customersBefore++ // the spare

			// Dry run (policy hold): Tailspin would be created, Fabrikam proposed (its
			// unlinked customer is a likely match), Northwind's names differ without a
			// baseline: a conflict held. Nothing changes.
			d := c.dryRun(conn)
			if len(d.CreatesHere) != 1 || d.CreatesHere[0].ExternalID != tailID || len(d.Conflicts) != 1 || d.Conflicts[0].ExternalID != nwID ||
				d.Conflicts[0].Resolution != "hold" || !hasMatch(d, fabID, fabrikam) {
				t.Fatalf("dry run: %+v", d)
			}
			if n := len(c.customers()); n != customersBefore {
				t.Fatalf("the dry run changed the customers: %d, want %d", n, customersBefore)
			}
			c.policy(conn, "psa-wins")
			if d := c.dryRun(conn); len(d.UpdatesHere) != 1 || d.UpdatesHere[0].To.Name != "Northwind Traders" || d.Conflicts[0].Resolution != "psa-wins" {
				t.Fatalf("dry run, psa-wins: %+v", d)
			}

			// The sync: Tailspin created and linked, Fabrikam not duplicated, Northwind renamed.
			d = c.sync(conn)
			cs := c.customers()
			if linkOf(cs[tailName], conn) != tailID || cs["Northwind Traders"] == nil || cs["Fabrikam, Inc."] != nil ||
				len(cs) != customersBefore+1 || d.Counts["createdHere"] != 1 || d.Counts["proposedMatches"] != 1 {
				t.Fatalf("after the sync (%+v): %v", d, cs)
			}
			// Twice: nothing changes.
			if d := c.sync(conn); d.changes() != 0 {
				t.Fatalf("second sync: %+v", d)
			}

			// A local change is pushed to the PSA; then nothing to do.
			tail := cs[tailName]
			tail["phone"] = "+1 555 0199"
			c.do("PUT", "/api/msp-portal/customers/"+tail["id"].(string), tail, http.StatusOK)
			if d := c.sync(conn); d.Counts["updatedInPsa"] != 1 || d.changes() != 1 {
				t.Fatalf("push: %+v", d)
			}
			if co, _ := s.of(vendor).Company(tailID); co.Phone != "+1 555 0199" {
				t.Fatalf("the PSA company after the push: %+v", co)
			}
			if d := c.sync(conn); d.changes() != 0 {
				t.Fatalf("after the push: %+v", d)
			}

			// Conflicts: both sides change the name.
			conflict := func(local, remote string) {
				t.Helper()
				cur := c.customers()
				var row map[string]any
				for _, it := range cur {
					if linkOf(it, conn) == tailID {
						row = it
					}
				}
				row["name"] = local
				c.do("PUT", "/api/msp-portal/customers/"+row["id"].(string), row, http.StatusOK)
				co, _ := s.of(vendor).Company(tailID)
				co.Name, co.UpdatedAt = remote, time.Time{} // changed now, in the PSA
				s.of(vendor).Seed(co)
			}
			c.policy(conn, "hold")
			conflict(named("local"), named("PSA"))
			if d := c.sync(conn); d.Counts["held"] != 1 || d.changes() != 1 {
				t.Fatalf("held: %+v", d)
			}
			var st struct {
				HeldConflicts []struct {
					ExternalID string
					PSA        struct{ Name string }
				}
			}
			c.do("GET", "/api/psa/"+conn+"/sync", nil, http.StatusOK).JSON(t, &st)
			if len(st.HeldConflicts) != 1 || st.HeldConflicts[0].ExternalID != tailID || st.HeldConflicts[0].PSA.Name != named("PSA") {
				t.Fatalf("held conflicts: %+v", st)
			}
			if d := c.sync(conn); d.changes() != 0 || d.Counts["held"] != 1 {
				t.Fatalf("a held conflict again: %+v", d)
			}
			c.do("POST", "/api/psa/"+conn+"/conflicts/"+tailID+"/resolve", map[string]any{"winner": "psa"}, http.StatusOK)
			if cs := c.customers(); cs[named("PSA")] == nil {
				t.Fatalf("resolved for the PSA: %v", cs)
			}
			c.do("POST", "/api/psa/"+conn+"/conflicts/"+tailID+"/resolve", map[string]any{"winner": "psa"}, http.StatusNotFound)
			if d := c.sync(conn); d.changes() != 0 {
				t.Fatalf("after resolving: %+v", d)
			}

			c.policy(conn, "switchboard-wins")
			conflict(named("ours"), named("theirs"))
			if d := c.sync(conn); d.Counts["updatedInPsa"] != 1 || d.Counts["conflicts"] != 1 {
				t.Fatalf("switchboard-wins: %+v", d)
			}
			if co, _ := s.of(vendor).Company(tailID); co.Name != named("ours") {
				t.Fatalf("the PSA company after switchboard-wins: %+v", co)
			}
			c.policy(conn, "psa-wins")
			conflict(named("ours 2"), named("theirs 2"))
			if d := c.sync(conn); d.Counts["updatedHere"] != 1 || d.Counts["conflicts"] != 1 {
				t.Fatalf("psa-wins: %+v", d)
			}
			if cs := c.customers(); cs[named("theirs 2")] == nil {
				t.Fatalf("after psa-wins: %v", cs)
			}
			if d := c.sync(conn); d.changes() != 0 {
				t.Fatalf("last sync: %+v", d)
			}

			// The audit log tells it.
			res = c.do("GET", "/api/audit-log?category=customer&limit=100", nil, http.StatusOK)
			for _, a := range []string{"customer.psa-link", "customer.psa-push", "customer.psa-sync", "customer.psa-conflict", "customer.psa-conflict-resolved"} {
				if !strings.Contains(string(res.Body), a) {
					t.Errorf("the audit log has no %s", a)
				}
			}
			// Leave the shared customers unlinked for the next vendor's connection.
			c.do("DELETE", "/api/connections/"+conn, nil, http.StatusNoContent)
		})
	}
}

func hasMatch(d psaDiffJSON, ext, customer string) bool {
	for _, m := range d.ProposedMatches {
		if m.ExternalID == ext && m.CustomerID == customer {
			return true
		}
	}
	return false
}

// linkOf is a customer's PSA id on connection conn, "" when none.
func linkOf(c map[string]any, conn string) string {
	links, _ := c["psaLinks"].([]any)
	for _, l := range links {
		m, _ := l.(map[string]any)
		if m["connectionId"] == conn {
			s, _ := m["externalId"].(string)
			return s
		}
	}
	return ""
}

// failingAfter fails the requests of a window with no answer, as a PSA that went away.
type failingAfter struct {
	n, from, to int64
	next        http.RoundTripper
}

func (f *failingAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	if n := atomic.AddInt64(&f.n, 1); n > f.from && n <= f.to {
		return nil, errors.New("connection reset (test)")
	}
	return f.next.RoundTrip(r)
}

// TestPSASyncResumesAfterAFault: a sync whose PSA stops answering on its second page
// fails that run; the job's retry resumes from the recorded cursor (the first page is
// not read again) and creates every company once.
func TestPSASyncResumesAfterAFault(t *testing.T) {
	w := newWorld(t)
	s := startPSAStandins(t, w.env)
	c := psaClient{t, w}
	var companies []psa.Company
	for i := range 150 {
		companies = append(companies, psa.Company{Name: "Resume Co " + string(rune('A'+i/26)) + string(rune('a'+i%26)), Phone: "+1 555 0100"})
	}
	s.cw.Seed(companies...)
	conn := connectPSA(t, w, s, "connectwise")
	before := s.cw.Requests()
	// The first page answers; the next 4 tries of the second (the connector's retries)
	// find no PSA, so the run stops there.
	w.env.Deps.PSA.HTTPClient = &http.Client{Transport: &failingAfter{from: 1, to: 5, next: http.DefaultTransport}}
	d := c.sync(conn)
	if d.Counts["createdHere"] != 50 {
		// The resumed run creates what it reads: the second page only.
		t.Errorf("the resumed run: %+v", d.Counts)
	}
	n, query := 0, ""
	for {
		var list struct {
			Items      []map[string]any
			NextCursor string
		}
		c.do("GET", "/api/msp-portal/customers?limit=100"+query, nil, http.StatusOK).JSON(t, &list)
		n += len(list.Items)
		if list.NextCursor == "" {
			break
		}
		query = "&cursor=" + list.NextCursor
	}
	if n != 150 {
		t.Fatalf("%d customers after the resumed sync, want 150 (each company once)", n)
	}
	// Two pages answered: the first once, the second on the retry.
	if got := s.cw.Requests() - before; got != 2 {
		t.Errorf("%d listing requests answered, want 2 (the first page was not read again)", got)
	}
	w.env.Deps.PSA.HTTPClient = nil
	if d := c.sync(conn); d.changes() != 0 {
		t.Fatalf("a sync after the resumed one: %+v", d.Counts)
	}
}

// TestPSASyncScheduleSyncsDueConnections runs the psa-sync schedule: a connection is
// not due before its first hour, then synced, then due an hour later.
func TestPSASyncScheduleSyncsDueConnections(t *testing.T) {
	w := newWorld(t)
	s := startPSAStandins(t, w.env)
	c := psaClient{t, w}
	s.at.Seed(psa.Company{Name: "Scheduled Co", Phone: "+1 555 0100"})
	conn := connectPSA(t, w, s, "autotask")
	var run func(ctx context.Context, d *api.Deps, now time.Time) (any, error)
	for _, j := range api.Jobs() {
		if j.Function == "psa-sync" {
			run = j.RunWith
		}
	}
	now := time.Now().UTC()
	res, err := run(context.Background(), w.env.Deps, now)
	if err != nil || res.(api.PSASyncResult).Synced != 0 || c.customers()["Scheduled Co"] != nil {
		t.Fatalf("before the first hour: %+v %v", res, err)
	}
	res, err = run(context.Background(), w.env.Deps, now.Add(61*time.Minute))
	if err != nil || res.(api.PSASyncResult).Synced != 1 || linkOf(c.customers()["Scheduled Co"], conn) == "" {
		t.Fatalf("after it: %+v %v", res, err)
	}
	var got struct {
		Status     string
		NextSyncAt time.Time
		LastSyncAt *time.Time
	}
	c.do("GET", "/api/connections/"+conn, nil, http.StatusOK).JSON(t, &got)
	c.do("GET", "/api/psa/"+conn+"/sync", nil, http.StatusOK).JSON(t, &got)
	if got.Status != "connected" || !got.NextSyncAt.After(now.Add(50*time.Minute)) || got.LastSyncAt == nil {
		t.Fatalf("the connection after the schedule: %+v", got)
	}
}
