package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/store"
)

func TestAuditChain(t *testing.T) {
	suite := []struct {
		name string
		run  func(t *testing.T, st *store.Store)
	}{
		{"an edited, removed or relinked event is the break verify reports", testChainTamper},
		{"50 concurrent changes in one organization make one valid chain", testChainConcurrent},
		{"verify pages through a long chain with a cursor", testChainVerifyCursor},
		{"each filter reads its own key and never another organization's events", testAuditFilters},
		{"events expire by plan, hidden on read, and the checkpoint keeps the chain verifiable", testAuditRetention},
		{"a head read ahead starts one change, unless a writer finished since", testChainReadAhead},
	}
	for engine, open := range engines(t) {
		for _, tc := range suite {
			t.Run(engine+"/"+tc.name, func(t *testing.T) { tc.run(t, open(t)) })
		}
	}
}

// rename makes n audited changes in org.
func rename(t *testing.T, st *store.Store, org string, n int) {
	t.Helper()
	for i := range n {
		_, err := st.UpdateOrganization(context.Background(), org, nil, func(o *domain.Organization) (audit.Event, error) {
			o.Name = fmt.Sprint("name ", i)
			return audit.Event{Category: audit.Settings, Action: "organization.rename", Summary: o.Name}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// eventKey is the table key of an organization's event.
func eventKey(org string, ev audit.Event) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		store.AttrPK: &types.AttributeValueMemberS{Value: "ORG#" + org + "#AUDIT"},
		store.AttrSK: &types.AttributeValueMemberS{Value: "EVT#" + ev.At.UTC().Format("2006-01-02T15:04:05.000000000Z") + "#" + ev.ID},
	}
}

func verify(t *testing.T, st *store.Store, org string) store.ChainReport {
	t.Helper()
	rep, err := st.VerifyAudit(context.Background(), org, "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func testChainTamper(t *testing.T, st *store.Store) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, org string, victim audit.Event) *dynamodb.UpdateItemInput
		delete bool
		reason string
	}{
		{name: "summary edited", reason: "hash-mismatch", tamper: func(_ *testing.T, org string, v audit.Event) *dynamodb.UpdateItemInput {
			return &dynamodb.UpdateItemInput{Key: eventKey(org, v), UpdateExpression: aws.String("SET summary = :s"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: "nothing happened"}}}
		}},
		{name: "actor edited", reason: "hash-mismatch", tamper: func(_ *testing.T, org string, v audit.Event) *dynamodb.UpdateItemInput {
			return &dynamodb.UpdateItemInput{Key: eventKey(org, v), UpdateExpression: aws.String("SET actor.email = :s"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: "someone@else.example"}}}
		}},
		{name: "edited with its hash recomputed", reason: "prev-hash-mismatch", tamper: func(t *testing.T, org string, v audit.Event) *dynamodb.UpdateItemInput {
			v.Summary = "nothing happened"
			h, err := audit.CanonicalHash(v)
			if err != nil {
				t.Fatal(err)
			}
			// The event itself now hashes right: the next one names the old hash.
			return &dynamodb.UpdateItemInput{Key: eventKey(org, v), UpdateExpression: aws.String("SET summary = :s, #h = :h"),
				ExpressionAttributeNames: map[string]string{"#h": "hash"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: v.Summary},
					":h": &types.AttributeValueMemberS{Value: h}}}
		}},
		{name: "removed", reason: "sequence-gap", delete: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			org := "org-tamper-" + domain.NewID()
			signUp(t, st, "sub-"+org, org+"@example.com", org)
			rename(t, st, org, 4)
			if rep := verify(t, st, org); !rep.OK || rep.Head.Seq != 5 || rep.Verified != 5 || rep.Break != nil {
				t.Fatalf("before: %+v", rep)
			}
			evs, _, err := st.ListAudit(ctx, org, store.Page{})
			if err != nil {
				t.Fatal(err)
			}
			victim := evs[2] // seq 3
			if tc.delete {
				_, err = st.Client().DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(st.TableName()), Key: eventKey(org, victim)})
			} else {
				in := tc.tamper(t, org, victim)
				in.TableName = aws.String(st.TableName())
				_, err = st.Client().UpdateItem(ctx, in)
			}
			if err != nil {
				t.Fatal(err)
			}
			rep := verify(t, st, org)
			want := victim.Seq
			if tc.reason == "prev-hash-mismatch" {
				want++ // the break shows at the event after the rewritten one
			}
			if rep.OK || rep.Break == nil || rep.Break.Reason != tc.reason || rep.Break.Seq != want {
				t.Fatalf("after: %+v (break %+v), want %s at %d", rep, rep.Break, tc.reason, want)
			}
			if rep.Break.Expected == rep.Break.Found {
				t.Fatalf("a break with expected = found: %+v", rep.Break)
			}
		})
	}
}

// testChainConcurrent: each change comes from a store of its own, as from 50 Lambdas
// (one process's writers take turns; these race for the head).
func testChainConcurrent(t *testing.T, st *store.Store) {
	ctx := context.Background()
	org := "org-race-" + domain.NewID()
	signUp(t, st, "sub-"+org, org+"@example.com", org)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := store.New(st.Client(), st.TableName())
			c := domain.Customer{ID: fmt.Sprintf("race-%02d", i), Name: fmt.Sprintf("Raced %02d", i), CreatedAt: time.Now().UTC()}
			errs <- st.CreateCustomer(ctx, org, c, audit.Event{Category: audit.Customer, Action: "customer.create",
				Targets: audit.Targets{CustomerIDs: []string{c.ID}}})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a concurrent change failed: %v", err)
		}
	}
	rep := verify(t, st, org)
	if !rep.OK || !rep.Complete || rep.Head.Seq != n+1 || rep.Verified != n+1 {
		t.Fatalf("after %d concurrent changes: %+v (break %+v)", n, rep, rep.Break)
	}
	// One event per change, each seq once.
	seen := map[int64]bool{}
	cursor := ""
	for {
		evs, next, err := st.ListAudit(ctx, org, store.Page{Limit: store.MaxLimit, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if seen[ev.Seq] {
				t.Fatalf("seq %d twice", ev.Seq)
			}
			seen[ev.Seq] = true
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != n+1 {
		t.Fatalf("%d events, want %d", len(seen), n+1)
	}
}

func testChainVerifyCursor(t *testing.T, st *store.Store) {
	ctx := context.Background()
	org := "org-pages-" + domain.NewID()
	signUp(t, st, "sub-"+org, org+"@example.com", org)
	rename(t, st, org, 6)
	var total int64
	cursor := ""
	for range 10 {
		rep, err := st.VerifyAudit(ctx, org, cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK || rep.Verified > 3 {
			t.Fatalf("page: %+v", rep)
		}
		total += rep.Verified
		if rep.Complete {
			if total != 7 || rep.Resume != "" {
				t.Fatalf("verified %d in all, last %+v", total, rep)
			}
			return
		}
		cursor = rep.Resume
	}
	t.Fatal("the walk did not complete")
}

func testAuditFilters(t *testing.T, st *store.Store) {
	ctx := context.Background()
	t0 := time.Date(2031, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := t0
	st = st.WithClock(func() time.Time { return clock })
	// "acme" prefixes "acme-corp": nothing of one may show in the other.
	for _, org := range []string{"acme", "acme-corp"} {
		signUp(t, st, "sub-"+org, org+"@example.com", org)
	}
	write := func(org string, ev audit.Event) {
		t.Helper()
		clock = clock.Add(time.Hour)
		ev.OrganizationID = org
		if err := st.RecordEvents(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, org := range []string{"acme", "acme-corp"} {
		write(org, audit.Event{Actor: audit.Actor{UserID: "u-ann"}, Category: audit.Customer, Action: "customer.update",
			Targets: audit.Targets{CustomerIDs: []string{"c1"}}})
		write(org, audit.Event{Actor: audit.Actor{UserID: "u-bob"}, Category: audit.Tenant, Action: "tenant.update",
			Targets: audit.Targets{CustomerIDs: []string{"c1"}, TenantIDs: []string{"t1"}}})
		write(org, audit.Event{Actor: audit.Actor{UserID: "u-ann"}, Category: audit.UserManagement, Action: "member.update",
			Targets: audit.Targets{UserIDs: []string{"u-bob"}}})
		write(org, audit.Event{Actor: audit.Actor{UserID: "u-msp"}, Category: audit.Tenant, Action: "tenant.update",
			Targets:    audit.Targets{TenantIDs: []string{"t1"}},
			OnBehalfOf: &audit.OnBehalfOf{MSPOrganizationID: "parent", SubOrganizationID: org}})
	}
	hour := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	for _, tc := range []struct {
		name string
		q    store.AuditQuery
		want []string // actions, newest first
	}{
		{"all", store.AuditQuery{}, []string{"tenant.update", "member.update", "tenant.update", "customer.update", "organization.create"}},
		{"category", store.AuditQuery{Category: audit.Tenant}, []string{"tenant.update", "tenant.update"}},
		{"support", store.AuditQuery{Category: audit.Support}, []string{"tenant.update"}},
		{"actor", store.AuditQuery{ActorID: "u-ann"}, []string{"member.update", "customer.update"}},
		{"customer", store.AuditQuery{TargetKind: store.TargetCustomer, TargetID: "c1"}, []string{"tenant.update", "customer.update"}},
		{"tenant", store.AuditQuery{TargetKind: store.TargetTenant, TargetID: "t1"}, []string{"tenant.update", "tenant.update"}},
		{"user", store.AuditQuery{TargetKind: store.TargetUser, TargetID: "u-bob"}, []string{"member.update"}},
		{"time range", store.AuditQuery{From: hour(2), To: hour(3)}, []string{"member.update", "tenant.update"}},
		{"actor and category", store.AuditQuery{ActorID: "u-ann", Category: audit.Customer}, []string{"customer.update"}},
		{"tenant and support", store.AuditQuery{TargetKind: store.TargetTenant, TargetID: "t1", Category: audit.Support}, []string{"tenant.update"}},
		{"customer, actor and range", store.AuditQuery{TargetKind: store.TargetCustomer, TargetID: "c1", ActorID: "u-bob", From: hour(1), To: hour(2)},
			[]string{"tenant.update"}},
		{"nobody", store.AuditQuery{ActorID: "u-nobody"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One item per page, so every filtered key is paged through its cursor.
			var got []string
			q := tc.q
			q.Page.Limit = 1
			for range 20 {
				evs, next, err := st.QueryAudit(ctx, "acme", q)
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range evs {
					if ev.OrganizationID != "acme" {
						t.Fatalf("an event of %s", ev.OrganizationID)
					}
					got = append(got, ev.Action)
				}
				if next == "" {
					break
				}
				q.Page.Cursor = next
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	// A cursor of one filter is refused by another.
	_, next, err := st.QueryAudit(ctx, "acme", store.AuditQuery{Category: audit.Tenant, Page: store.Page{Limit: 1}})
	if err != nil || next == "" {
		t.Fatalf("first page: %q %v", next, err)
	}
	for _, q := range []store.AuditQuery{{ActorID: "u-ann"}, {Category: audit.Customer}, {}} {
		q.Page.Cursor = next
		if _, _, err := st.QueryAudit(ctx, "acme", q); err == nil {
			t.Errorf("%+v accepted another filter's cursor", q)
		}
		if _, _, err := st.QueryAudit(ctx, "acme-corp", store.AuditQuery{Category: audit.Tenant, Page: store.Page{Cursor: next}}); err == nil {
			t.Error("another organization accepted the cursor")
		}
	}
}

func testAuditRetention(t *testing.T, st *store.Store) {
	ctx := context.Background()
	t0 := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := t0
	st = st.WithClock(func() time.Time { return clock })
	day := 24 * time.Hour
	for _, tc := range []struct {
		plan string
		keep time.Duration
	}{
		{domain.PlanFree, 90 * day},
		{domain.PlanProfessional, 365 * day},
	} {
		t.Run(tc.plan, func(t *testing.T) {
			clock = t0
			org := "org-keep-" + tc.plan
			signUp(t, st, "sub-"+org, org+"@example.com", org)
			if _, _, err := st.SetPlan(ctx, org, domain.PlanOf(tc.plan), audit.Event{Category: audit.Billing, Action: "plan.change"}); err != nil {
				t.Fatal(err)
			}
			// The plan applies from the next event: the renames, a day later.
			clock = t0.Add(day)
			rename(t, st, org, 2)
			renames := func(at time.Time) int {
				clock = at
				evs, _, err := st.QueryAudit(ctx, org, store.AuditQuery{Category: audit.Settings})
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, ev := range evs {
					if ev.Action == "organization.rename" {
						n++
					}
				}
				return n
			}
			if n := renames(t0.Add(day + tc.keep - time.Hour)); n != 2 {
				t.Fatalf("before expiry: %d renames shown", n)
			}
			if n := renames(t0.Add(day + tc.keep + time.Hour)); n != 0 {
				t.Fatalf("after expiry: %d renames shown", n)
			}

			// The checkpoint schedule, run within CheckpointMargin of the expiry, moves
			// past the events about to expire; once DynamoDB deletes them the chain
			// still verifies from the checkpoint.
			// The first events (free plan) expire at t0+90d.
			clock = t0.Add(90*day - store.CheckpointMargin/2)
			due, _, err := st.SystemDueCheckpoints(ctx, clock, store.Page{Limit: store.MaxLimit})
			if err != nil || !contains(due, org) {
				t.Fatalf("due checkpoints %v (%v): %s missing", due, err, org)
			}
			before := verify(t, st, org)
			res, err := st.AdvanceCheckpoint(ctx, org, clock)
			if err != nil || res.Break != nil || res.To < 2 {
				t.Fatalf("advance: %+v %v", res, err)
			}
			evs, _, err := st.ListAudit(ctx, org, store.Page{})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				if ev.Seq <= res.To {
					if _, err := st.Client().DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(st.TableName()), Key: eventKey(org, ev)}); err != nil {
						t.Fatal(err)
					}
				}
			}
			after := verify(t, st, org)
			if !after.OK || after.Checkpoint.Seq != res.To || after.Head != before.Head {
				t.Fatalf("after the expired events went: %+v (break %+v); before %+v", after, after.Break, before)
			}
			if due, _, _ := st.SystemDueCheckpoints(ctx, clock, store.Page{Limit: store.MaxLimit}); contains(due, org) {
				t.Errorf("the advanced checkpoint is still due")
			}
		})
	}
}

func contains(ids []string, id string) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// testChainReadAhead: a change starts from the head read ahead of it when nothing of
// this process wrote since, once, and only in its organization; a head another
// process moved meanwhile costs a round, never the chain.
func testChainReadAhead(t *testing.T, st *store.Store) {
	org := signUp(t, st, "sub-ahead", "ahead@example.com", "org-ahead").ActiveOrganizationID
	other := signUp(t, st, "sub-ahead-2", "ahead2@example.com", "org-ahead-2").ActiveOrganizationID
	n := 0
	change := func(ctx context.Context, in *store.Store, org string) {
		t.Helper()
		n++
		if _, err := in.UpdateOrganization(ctx, org, nil, func(o *domain.Organization) (audit.Event, error) {
			o.Name = fmt.Sprint("ahead ", n)
			return audit.Event{Category: audit.Settings, Action: "organization.rename", Summary: o.Name}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	ahead := func() (context.Context, *store.ChainRead) {
		r := st.ReadChainAhead(context.Background(), org)
		return store.WithChainRead(context.Background(), r), r
	}
	secondProcess := store.New(st.Client(), st.TableName())
	for _, tc := range []struct {
		name     string
		between  func()
		in       string
		twice    bool
		wantUsed bool
	}{
		{"nothing between", func() {}, org, false, true},
		{"the next change of the request reads", func() {}, org, true, true},
		{"a change of this process between", func() { change(context.Background(), st, org) }, org, false, false},
		{"a change of this process in another organization between", func() { change(context.Background(), st, other) }, org, false, false},
		{"another process moved the head", func() { change(context.Background(), secondProcess, org) }, org, false, true},
		{"a change in another organization", func() {}, other, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := verify(t, st, tc.in).Verified
			ctx, r := ahead()
			<-time.After(10 * time.Millisecond)
			tc.between()
			change(ctx, st, tc.in)
			if tc.twice {
				change(ctx, st, tc.in)
			}
			if r.Used() != tc.wantUsed {
				t.Errorf("head read ahead used: %v, want %v", r.Used(), tc.wantUsed)
			}
			for _, o := range []string{org, other} {
				if rep := verify(t, st, o); !rep.OK || !rep.Complete {
					t.Fatalf("chain of %s: %+v", o, rep)
				}
			}
			if after := verify(t, st, tc.in).Verified; after <= before {
				t.Fatalf("%d events after, %d before", after, before)
			}
		})
	}
}
