package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// companyFixture is an organization with a customer, for the company user tests.
func companyFixture(t *testing.T, st *store.Store) (orgID, customerID string) {
	t.Helper()
	ctx := context.Background()
	u, err := st.SignUp(ctx, store.SignUpInput{Subject: domain.NewID(), Email: domain.NewID() + "@msp.example", Name: "Owner",
		DefaultOrganization: domain.Organization{ID: domain.NewID(), Name: "MSP", Plan: domain.PlanFree, Profile: domain.NewProfile("MSP")}})
	if err != nil {
		t.Fatal(err)
	}
	c := domain.Customer{ID: domain.NewID(), Name: "Northwind", CreatedAt: time.Now().UTC()}
	if err := st.CreateCustomer(ctx, u.ActiveOrganizationID, c, audit.Event{Category: audit.Customer, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	return u.ActiveOrganizationID, c.ID
}

func TestCompanyUsers(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := context.Background()
			org, cust := companyFixture(t, st)
			ev := audit.Event{Category: audit.Customer, Action: "test"}
			now := time.Now().UTC()
			u := domain.CompanyUser{ID: domain.NewID(), CustomerID: cust, Email: "a@northwind.example", Name: "A", Role: domain.CompanyUserRole,
				Source: domain.SourceManual, CreatedAt: now}
			if err := st.CreateCompanyUser(ctx, org, u, ev); err != nil {
				t.Fatal(err)
			}
			// Email unique within the customer, without reading first.
			dup := u
			dup.ID = domain.NewID()
			var de *store.DuplicateCompanyUserError
			if err := st.CreateCompanyUser(ctx, org, dup, ev); !errors.As(err, &de) || de.Field != "email" || de.CompanyUserID != u.ID {
				t.Fatalf("duplicate email: %v", err)
			}
			// The upsert of an import: created, then unchanged, then updated, never twice.
			imp := domain.CompanyUser{ID: domain.NewID(), CustomerID: cust, Email: "b@northwind.example", Name: "B", Role: domain.CompanyUserRole,
				Source: domain.SourceM365, ExternalID: "entra-object-1", CreatedAt: now}
			for i, want := range []string{store.UpsertCreated, store.UpsertUnchanged, store.UpsertUpdated} {
				if i == 2 {
					imp.Name = "B renamed"
				}
				next := imp
				next.ID = domain.NewID() // another run's row: found by (source, external id)
				got, saved, err := st.UpsertCompanyUser(ctx, org, next, ev, ev)
				if err != nil || got != want || saved.ID != imp.ID && i > 0 {
					t.Fatalf("upsert %d: %s %+v %v, want %s", i, got, saved, err, want)
				}
				if i == 0 {
					imp.ID = saved.ID
				}
			}
			users, _, err := st.ListCompanyUsers(ctx, org, cust, store.Page{})
			if err != nil || len(users) != 2 || users[1].Name != "B renamed" {
				t.Fatalf("list %+v %v", users, err)
			}
			counters, err := st.OrganizationCounters(ctx, org)
			if err != nil || counters[store.AttrCompanyUsers] != 2 {
				t.Fatalf("counters %v %v", counters, err)
			}
			// Changing the email moves its claim: the old one is free again.
			cur, _ := st.GetCompanyUser(ctx, org, cust, u.ID)
			if _, err := st.UpdateCompanyUserFrom(ctx, org, cur, nil, func(c *domain.CompanyUser) (audit.Event, error) {
				c.Email = "a2@northwind.example"
				return ev, nil
			}); err != nil {
				t.Fatal(err)
			}
			if err := st.CreateCompanyUser(ctx, org, dup, ev); err != nil {
				t.Fatalf("the old email is still claimed: %v", err)
			}
			cur, _ = st.GetCompanyUser(ctx, org, cust, u.ID)
			if err := st.DeleteCompanyUser(ctx, org, cur, ev); err != nil {
				t.Fatal(err)
			}
			if counters, _ := st.OrganizationCounters(ctx, org); counters[store.AttrCompanyUsers] != 2 {
				t.Fatalf("counters after delete %v", counters)
			}
		})
	}
}

func TestOnboardingMarks(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := context.Background()
			org, _ := companyFixture(t, st)
			ev := audit.Event{Category: audit.Settings, Action: "test"}
			mark := &domain.OnboardingMark{CompletedAt: time.Now().UTC(), CompletedBy: "a@b.example"}
			for i, step := range []struct {
				mark    *domain.OnboardingMark
				changed bool
				marked  bool
			}{{mark, true, true}, {mark, false, true}, {nil, true, false}, {nil, false, false}} {
				before, err := st.OnboardingMarks(ctx, org)
				if err != nil {
					t.Fatal(err)
				}
				_, was := before[domain.StepCompanyUsers]
				changed, err := st.MarkOnboardingStep(ctx, org, domain.StepCompanyUsers, was, step.mark, ev)
				if err != nil || changed != step.changed {
					t.Fatalf("step %d: changed %v %v", i, changed, err)
				}
				marks, err := st.OnboardingMarks(ctx, org)
				if _, ok := marks[domain.StepCompanyUsers]; err != nil || ok != step.marked {
					t.Fatalf("step %d: marks %v %v", i, marks, err)
				}
			}
		})
	}
}

var _ = permission.Owner
