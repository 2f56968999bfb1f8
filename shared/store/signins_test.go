package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// memberOf makes user u a Technician of n new organizations (besides their own) and
// returns their ids.
func memberOf(t *testing.T, st *store.Store, u domain.User, n int) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for i := range n {
		owner := signUp(t, st, fmt.Sprintf("sub-owner-%d", i), fmt.Sprintf("owner%d@example.com", i), fmt.Sprintf("org-%03d", i))
		orgID := owner.ActiveOrganizationID
		m := domain.Membership{OrganizationID: orgID, UserID: u.ID, Email: u.Email, Name: "N", Role: permission.Technician,
			TenantScope: domain.AllTenantsScope(), JoinedAt: time.Now().UTC()}
		if err := st.PutMember(ctx, m, audit.Event{Category: audit.UserManagement, Action: "member.add"}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, orgID)
	}
	return append(ids, u.ActiveOrganizationID)
}

// signInsIn counts the events of action in organization orgID's audit log.
func signInsIn(t *testing.T, st *store.Store, orgID, action string) []audit.Event {
	t.Helper()
	events, _, err := st.ListAudit(context.Background(), orgID, store.Page{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Event
	for _, ev := range events {
		if ev.Category == audit.SignIn && ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

func signInEvent(rec store.SignIn) audit.Event {
	return audit.Event{Actor: audit.Actor{UserID: rec.UserID, Email: rec.Email}, Category: audit.SignIn, Action: "session.sign-in",
		SourceIP: rec.SourceIP, UserAgent: rec.UserAgent, Client: rec.Client, IdentityProvider: rec.IdentityProvider}
}

// testSignInOnce: a session's sign-in is written once in each organization of the
// user (here more than one transaction holds, so in several), a repeat answers the
// first record, another session records again, and a recording cut short is finished
// by the next call without duplicating what was written.
func testSignInOnce(t *testing.T, st *store.Store) {
	ctx := context.Background()
	u := signUp(t, st, "sub-signin", "signin@example.com", "org-own")
	orgs := memberOf(t, st, u, 100)
	outsider := signUp(t, st, "sub-outsider", "outsider@example.com", "org-outside")
	// The client is made from the user agent only by the call that records.
	parsed := 0
	in := store.SignIn{SessionID: store.SignInSessionID(u.ID, "jti-1"), UserID: u.ID, Email: u.Email, SourceIP: "203.0.113.7",
		UserAgent: "Mozilla/5.0", IdentityProvider: "Cognito", ClientOf: func(ua string) *audit.Client {
			parsed++
			return &audit.Client{Browser: "Firefox", BrowserVersion: "133.0", OS: ua}
		}}

	first, created, err := st.RecordSignIn(ctx, in, signInEvent)
	if err != nil || !created || first.Organizations != len(orgs) || !first.Complete || first.SignedInAt.IsZero() {
		t.Fatalf("first record: %+v, created %v, %v", first, created, err)
	}
	for _, tc := range []struct {
		name   string
		in     store.SignIn
		create bool
	}{
		{"repeat", in, false},
		{"repeat from another address", func() store.SignIn { c := in; c.SourceIP = "198.51.100.1"; return c }(), false},
	} {
		again, created, err := st.RecordSignIn(ctx, tc.in, signInEvent)
		if err != nil || created != tc.create || again.SourceIP != first.SourceIP || !again.SignedInAt.Equal(first.SignedInAt) {
			t.Errorf("%s: %+v, created %v, %v; want the first record %+v", tc.name, again, created, err, first)
		}
	}
	if parsed != 1 || first.Client == nil || first.Client.OS != "Mozilla/5.0" {
		t.Errorf("the user agent was parsed %d times (want once, by the recording call); client %+v", parsed, first.Client)
	}
	for _, orgID := range orgs {
		if evs := signInsIn(t, st, orgID, "session.sign-in"); len(evs) != 1 || evs[0].Client == nil || evs[0].Client.Browser != "Firefox" ||
			!evs[0].At.Equal(first.SignedInAt) || evs[0].OrganizationID != orgID {
			t.Fatalf("organization %s holds sign-in events %+v, want the one", orgID, evs)
		}
	}
	if evs := signInsIn(t, st, outsider.ActiveOrganizationID, "session.sign-in"); len(evs) != 0 {
		t.Errorf("an organization the user is no member of holds %+v", evs)
	}

	// A recording cut short after its first transaction: its marker is not complete and
	// the event of an organization beyond the first transaction (with that
	// organization's marker) is missing. The next call writes that one only.
	lost := ""
	for _, id := range orgs {
		if !slices.Contains(first.FirstOrganizations, id) {
			lost = id
		}
	}
	if lost == "" || len(first.FirstOrganizations) == 0 {
		t.Fatalf("no organization beyond the first transaction: %v", first.FirstOrganizations)
	}
	gone := signInsIn(t, st, lost, "session.sign-in")[0]
	for _, k := range [][2]string{
		{"ORG#" + lost + "#AUDIT", "EVT#" + gone.At.UTC().Format("2006-01-02T15:04:05.000000000Z") + "#" + gone.ID},
		{"USER#" + u.ID, "SIGNIN#" + in.SessionID + "#ORG#" + lost},
	} {
		if _, err := st.Client().DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(st.TableName()), Key: map[string]types.AttributeValue{
			store.AttrPK: &types.AttributeValueMemberS{Value: k[0]}, store.AttrSK: &types.AttributeValueMemberS{Value: k[1]},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Client().UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(st.TableName()), Key: map[string]types.AttributeValue{
		store.AttrPK: &types.AttributeValueMemberS{Value: "USER#" + u.ID},
		store.AttrSK: &types.AttributeValueMemberS{Value: "SIGNIN#" + in.SessionID},
	}, UpdateExpression: aws.String("SET complete = :f"), ExpressionAttributeValues: map[string]types.AttributeValue{
		":f": &types.AttributeValueMemberBOOL{Value: false}}}); err != nil {
		t.Fatal(err)
	}
	resumed, created, err := st.RecordSignIn(ctx, in, signInEvent)
	if err != nil || !created || !resumed.Complete || !resumed.SignedInAt.Equal(first.SignedInAt) {
		t.Fatalf("resumed: %+v, created %v, %v", resumed, created, err)
	}
	for _, orgID := range orgs {
		if evs := signInsIn(t, st, orgID, "session.sign-in"); len(evs) != 1 {
			t.Fatalf("after resuming, organization %s holds %d sign-in events, want 1", orgID, len(evs))
		}
	}
	// Its time follows its organization's chain: never before the lost one's.
	if back := signInsIn(t, st, lost, "session.sign-in")[0]; back.ID != gone.ID || back.At.Before(gone.At) {
		t.Errorf("the rewritten event %s at %v is not the lost one %s at %v", back.ID, back.At, gone.ID, gone.At)
	}

	// Another session of the same user is another sign-in.
	next := in
	next.SessionID = store.SignInSessionID(u.ID, "jti-2")
	if rec, created, err := st.RecordSignIn(ctx, next, signInEvent); err != nil || !created || rec.SessionID == first.SessionID {
		t.Fatalf("second session: %+v, created %v, %v", rec, created, err)
	}
	if evs := signInsIn(t, st, orgs[5], "session.sign-in"); len(evs) != 2 || evs[0].ID == evs[1].ID {
		t.Errorf("two sessions gave %d events", len(evs))
	}
}

// testRecordAuthentication: an authentication is written in every organization of the
// user, each copy with its own id, and in none other.
func testRecordAuthentication(t *testing.T, st *store.Store) {
	ctx := context.Background()
	u := signUp(t, st, "sub-auth", "auth@example.com", "org-auth")
	orgs := memberOf(t, st, u, 3)
	outsider := signUp(t, st, "sub-outsider", "outsider@example.com", "org-outside")
	lonely := signUp(t, st, "sub-lonely", "lonely@example.com", "org-lonely")
	for _, tc := range []struct {
		user domain.User
		want int
	}{{u, len(orgs)}, {lonely, 1}} {
		ev := audit.Event{Actor: audit.Actor{UserID: tc.user.ID, Email: tc.user.Email}, Category: audit.SignIn,
			Action: "cognito.authentication", IdentityProvider: "EntraID", Client: &audit.Client{NewDevice: true}}
		if n, err := st.RecordAuthentication(ctx, tc.user.ID, ev); err != nil || n != tc.want {
			t.Fatalf("%s: recorded in %d organizations, %v; want %d", tc.user.Email, n, err, tc.want)
		}
	}
	ids := map[string]bool{}
	for _, orgID := range orgs {
		evs := signInsIn(t, st, orgID, "cognito.authentication")
		if len(evs) != 1 || evs[0].IdentityProvider != "EntraID" || evs[0].Client == nil || !evs[0].Client.NewDevice || ids[evs[0].ID] {
			t.Fatalf("organization %s holds %+v", orgID, evs)
		}
		ids[evs[0].ID] = true
	}
	if evs := signInsIn(t, st, outsider.ActiveOrganizationID, "cognito.authentication"); len(evs) != 0 {
		t.Errorf("an organization the user is no member of holds %+v", evs)
	}
}
