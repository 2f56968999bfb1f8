package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/openapitest"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// fixtureInvitation creates an invitation to email in orgID through the store, due at
// expiresAt, with status (pending when empty).
func fixtureInvitation(t *testing.T, st *store.Store, orgID, email string, expiresAt time.Time, status string) domain.Invitation {
	t.Helper()
	if status == "" {
		status = domain.InvitationPending
	}
	_, hash := domain.NewInvitationToken()
	inv := domain.Invitation{ID: domain.NewID(), OrganizationID: orgID, Email: email, Role: permission.Technician,
		TenantScope: domain.AllTenantsScope(), Status: status,
		InvitedBy: domain.Inviter{UserID: domain.NewID(), Email: "inviter@example.com", Name: "Inviter"}, CreatedAt: expiresAt.Add(-domain.InvitationTTL),
		SentAt: expiresAt.Add(-domain.InvitationTTL), ExpiresAt: expiresAt, TokenHash: hash}
	if err := st.CreateInvitation(context.Background(), inv, audit.Event{Category: audit.UserManagement,
		Action: "invitation.create", Summary: "invited " + email}); err != nil {
		t.Fatalf("create invitation of %s: %v", email, err)
	}
	inv.Version = 1
	return inv
}

// expiryEvents lists orgID's invitation.expire audit events.
func expiryEvents(t *testing.T, st *store.Store, orgID string) []audit.Event {
	t.Helper()
	evs, _, err := st.ListAudit(context.Background(), orgID, store.Page{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Event
	for _, ev := range evs {
		if ev.Action == "invitation.expire" {
			out = append(out, ev)
		}
	}
	return out
}

func invitationStatus(t *testing.T, st *store.Store, inv domain.Invitation) string {
	t.Helper()
	got, err := st.GetInvitation(context.Background(), inv.OrganizationID, inv.ID)
	if err != nil {
		t.Fatalf("get invitation of %s: %v", inv.Email, err)
	}
	return got.Status
}

// TestExpireInvitations: overdue invitations (pending or whose email failed), in
// organizations whose ids prefix one another, are marked expired with one audit event
// each in their own organization; fresh ones and already expired ones are left alone,
// and a second run changes nothing.
func TestExpireInvitations(t *testing.T) {
	ctx := context.Background()
	st := testenv.NewTable(t, testenv.DynamoDB(t))
	now := time.Now().UTC()
	acme, acmeCorp := "acme", "acme-corp"
	overdue := fixtureInvitation(t, st, acme, "late@acme.example", now.Add(-time.Hour), "")
	failed := fixtureInvitation(t, st, acmeCorp, "bounced@acme-corp.example", now.Add(-time.Minute), domain.InvitationEmailFailed)
	fresh := fixtureInvitation(t, st, acme, "fresh@acme.example", now.Add(domain.InvitationTTL), "")
	soon := fixtureInvitation(t, st, acmeCorp, "soon@acme-corp.example", now.Add(time.Minute), "")

	res, err := api.ExpireInvitations(ctx, st, now)
	if err != nil {
		t.Fatal(err)
	}
	if res != (api.ExpiryResult{Expired: 2}) {
		t.Errorf("first run: %+v, want 2 expired", res)
	}
	for inv, want := range map[*domain.Invitation]string{
		&overdue: domain.InvitationExpired, &failed: domain.InvitationExpired,
		&fresh: domain.InvitationPending, &soon: domain.InvitationPending,
	} {
		if got := invitationStatus(t, st, *inv); got != want {
			t.Errorf("invitation of %s: status %s, want %s", inv.Email, got, want)
		}
	}
	for _, c := range []struct {
		org  string
		inv  domain.Invitation
		from string
	}{{acme, overdue, domain.InvitationPending}, {acmeCorp, failed, domain.InvitationEmailFailed}} {
		evs := expiryEvents(t, st, c.org)
		if len(evs) != 1 {
			t.Fatalf("%s: %d invitation.expire events, want 1: %+v", c.org, len(evs), evs)
		}
		ev := evs[0]
		want := fmt.Sprintf("the invitation of %s expired unused", c.inv.Email)
		if ev.OrganizationID != c.org || ev.Category != audit.UserManagement || ev.Actor != (audit.Actor{}) ||
			len(ev.Targets.Emails) != 1 || ev.Targets.Emails[0] != c.inv.Email || ev.Summary != want || ev.ID == "" || ev.At.IsZero() ||
			len(ev.Changes) != 1 || ev.Changes[0].Field != "status" || ev.Changes[0].From != c.from || ev.Changes[0].To != domain.InvitationExpired {
			t.Errorf("%s: event %+v", c.org, ev)
		}
	}
	// An expired invitation's link still resolves, to an invitation marked expired, so
	// it is answered "expired" rather than "not found".
	if ref, err := st.InvitationToken(ctx, overdue.TokenHash); err != nil || ref.InvitationID != overdue.ID {
		t.Errorf("the expired invitation's token: %+v, %v", ref, err)
	} else if inv, err := st.GetInvitation(ctx, ref.OrganizationID, ref.InvitationID); err != nil || inv.Status != domain.InvitationExpired {
		t.Errorf("the expired invitation: %+v, %v", inv, err)
	}

	res, err = api.ExpireInvitations(ctx, st, now)
	if err != nil || res != (api.ExpiryResult{}) {
		t.Errorf("second run: %+v, %v; want nothing done", res, err)
	}
	for _, org := range []string{acme, acmeCorp} {
		if n := len(expiryEvents(t, st, org)); n != 1 {
			t.Errorf("%s: %d invitation.expire events after the second run, want 1", org, n)
		}
	}

	// Later, the fresh ones are due too.
	res, err = api.ExpireInvitations(ctx, st, now.Add(domain.InvitationTTL+time.Second))
	if err != nil || res != (api.ExpiryResult{Expired: 2}) {
		t.Errorf("run a week later: %+v, %v; want 2 expired", res, err)
	}
}

// TestExpireInvitationsPages: a run reads every page of due invitations.
func TestExpireInvitationsPages(t *testing.T) {
	defer api.SetExpiryPaging(2, 0)()
	ctx := context.Background()
	st := testenv.NewTable(t, testenv.DynamoDB(t))
	now := time.Now().UTC()
	var invs []domain.Invitation
	for i := range 5 {
		invs = append(invs, fixtureInvitation(t, st, "paged", fmt.Sprintf("user%d@paged.example", i), now.Add(-time.Duration(i+1)*time.Minute), ""))
	}
	fixtureInvitation(t, st, "paged", "fresh@paged.example", now.Add(time.Hour), "")
	res, err := api.ExpireInvitations(ctx, st, now)
	if err != nil || res != (api.ExpiryResult{Expired: 5}) {
		t.Fatalf("run: %+v, %v; want 5 expired", res, err)
	}
	for _, inv := range invs {
		if got := invitationStatus(t, st, inv); got != domain.InvitationExpired {
			t.Errorf("invitation of %s: %s", inv.Email, got)
		}
	}
	if n := len(expiryEvents(t, st, "paged")); n != 5 {
		t.Errorf("%d invitation.expire events, want 5", n)
	}
}

// TestExpireInvitationsConcurrently: two runs at once expire each invitation once,
// with one audit event each.
func TestExpireInvitationsConcurrently(t *testing.T) {
	ctx := context.Background()
	st := testenv.NewTable(t, testenv.DynamoDB(t))
	now := time.Now().UTC()
	const n = 6
	for i := range n {
		fixtureInvitation(t, st, "racing", fmt.Sprintf("user%d@racing.example", i), now.Add(-time.Minute), "")
	}
	var wg sync.WaitGroup
	results := make([]api.ExpiryResult, 2)
	errs := make([]error, 2)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = api.ExpireInvitations(ctx, st, now) })
	}
	wg.Wait()
	expired := 0
	for i := range results {
		if errs[i] != nil {
			t.Errorf("run %d: %v", i, errs[i])
		}
		expired += results[i].Expired
		if results[i].Expired+results[i].Skipped > n {
			t.Errorf("run %d: %+v", i, results[i])
		}
	}
	if expired != n {
		t.Errorf("the runs expired %d invitations together (%+v), want %d", expired, results, n)
	}
	if got := len(expiryEvents(t, st, "racing")); got != n {
		t.Errorf("%d invitation.expire events, want %d", got, n)
	}
}

// TestExpireInvitationsStopsAtItsDeadline: a run whose deadline is near starts no work
// and says it left some.
func TestExpireInvitationsStopsAtItsDeadline(t *testing.T) {
	defer api.SetExpiryPaging(100, time.Minute)()
	st := testenv.NewTable(t, testenv.DynamoDB(t))
	now := time.Now().UTC()
	inv := fixtureInvitation(t, st, "hurried", "late@hurried.example", now.Add(-time.Minute), "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := api.ExpireInvitations(ctx, st, now)
	if err != nil || res != (api.ExpiryResult{Unfinished: true}) {
		t.Errorf("run: %+v, %v; want an unfinished run that did nothing", res, err)
	}
	if got := invitationStatus(t, st, inv); got != domain.InvitationPending {
		t.Errorf("status %s, want still pending", got)
	}
}

// TestExpireInvitationsJob: the route table's schedule runs ExpireInvitations.
func TestExpireInvitationsJob(t *testing.T) {
	var job *api.Job
	for _, j := range api.Jobs() {
		if j.Function == "expire-invitations" {
			job = &j
		}
	}
	if job == nil || job.Kind != "schedule" || job.Schedule == "" || job.Run == nil {
		t.Fatalf("api.Jobs has no expire-invitations schedule: %+v", job)
	}
	st := testenv.NewTable(t, testenv.DynamoDB(t))
	now := time.Now().UTC()
	fixtureInvitation(t, st, "jobbed", "late@jobbed.example", now.Add(-time.Minute), "")
	out, err := job.Run(context.Background(), st, now)
	if res, ok := out.(api.ExpiryResult); err != nil || !ok || res.Expired != 1 {
		t.Errorf("Run = %#v, %v; want one expired", out, err)
	}
}

// TestExpiredInvitationsInTheAPI: after a run, the audit log shows the expiry as a
// system event (no actor) and the platform users list shows the invitation expired,
// both as the OpenAPI document describes them.
func TestExpiredInvitationsInTheAPI(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	org := env.NewOrg("owner@expiry-api.example")
	now := time.Now().UTC()
	inv := fixtureInvitation(t, env.Store, org.ID, "late@expiry-api.example", now.Add(-time.Hour), "")
	if res, err := api.ExpireInvitations(context.Background(), env.Store, now); err != nil || res.Expired != 1 {
		t.Fatalf("run: %+v, %v", res, err)
	}

	res := env.Get("/api/audit-log", org.OwnerToken, api.HeaderOrganization, org.ID)
	if res.Status != http.StatusOK {
		t.Fatalf("audit log: %d %s", res.Status, res.Body)
	}
	var log struct {
		Items []audit.Event `json:"items"`
	}
	res.JSON(t, &log)
	found := false
	for _, ev := range log.Items {
		if ev.Action == "invitation.expire" {
			found = true
			if ev.Actor != (audit.Actor{}) || len(ev.Targets.Emails) != 1 || ev.Targets.Emails[0] != inv.Email {
				t.Errorf("expiry event %+v", ev)
			}
		}
	}
	if !found {
		t.Errorf("the audit log has no invitation.expire event: %s", res.Body)
	}

	res = env.Get("/api/settings/platform-users", org.OwnerToken, api.HeaderOrganization, org.ID)
	if res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"`+domain.StatusExpired+`"`) {
		t.Errorf("platform users: %d %s; want the invitation listed expired", res.Status, res.Body)
	}
}
