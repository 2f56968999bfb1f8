// Package seed writes the demo data of `make run`: an MSP organization with a realistic
// profile and a member of each role, who sign in through the development sign-in with
// their email addresses.
package seed

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// DemoOrganizationID is the seeded MSP organization.
const DemoOrganizationID = "contoso-msp"

// Person is a seeded member.
type Person struct {
	ID, Email, Name string
	Role            permission.Role
}

// People are the seeded members of the demo organization.
var People = []Person{
	{"demo-owner", "megan.bowen@contosomsp.com", "Megan Bowen", permission.Owner},
	{"demo-admin", "alex.wilber@contosomsp.com", "Alex Wilber", permission.Administrator},
	{"demo-tech", "lee.gu@contosomsp.com", "Lee Gu", permission.Technician},
	{"demo-viewer", "adele.vance@contosomsp.com", "Adele Vance", permission.ReadOnly},
}

// Demo writes the demo data unless it is already there.
func Demo(ctx context.Context, st *store.Store) error {
	if _, err := st.GetOrganization(ctx, DemoOrganizationID); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	profile := domain.Profile{
		CompanyName: "Contoso MSP Services", DisplayName: "Contoso MSP",
		Address: "123 Tech Street, Seattle, WA 98101", Phone: "+1 (555) 123-4567",
		PrimaryContactEmail: "info@contosomsp.com", Website: "https://contosomsp.com", TaxID: "91-1234567",
		TimeZone: "America/Los_Angeles", DateFormat: domain.DateFormatUS, Currency: "USD", Language: "en-US",
		BillingContact: domain.BillingContact{Name: "Megan Bowen", Email: "billing@contosomsp.com", Phone: "+1 (555) 123-4568"},
		Authentication: domain.AuthSettings{EntraSSOEnabled: true, RequireMFA: true, SessionTimeoutMinutes: domain.DefaultSessionTimeoutMinutes},
	}
	owner := People[0]
	for _, p := range People {
		if err := st.CreateUser(ctx, domain.User{ID: p.ID, Email: p.Email, Name: p.Name, ActiveOrganizationID: DemoOrganizationID}); err != nil {
			return fmt.Errorf("seed user %s: %w", p.Email, err)
		}
	}
	org := domain.Organization{ID: DemoOrganizationID, Name: "Contoso MSP", Plan: domain.PlanProfessional,
		OwnerUserID: owner.ID, Profile: profile}
	// Written whole, as the API writes an owner's membership (version 1, joined when the
	// organization was created): CreateOrganization stores it as given.
	org.CreatedAt = st.Now()
	first := domain.Membership{OrganizationID: org.ID, UserID: owner.ID, Email: owner.Email, Name: owner.Name,
		Role: permission.Owner, TenantScope: domain.AllTenantsScope(), JoinedAt: org.CreatedAt, Version: 1}
	ev := audit.Event{Actor: audit.Actor{UserID: owner.ID, Email: owner.Email}, Category: audit.Settings,
		Action: "organization.create", Summary: "created organization \"Contoso MSP\" (demo data)"}
	if err := st.CreateOrganization(ctx, org, first, ev); err != nil {
		return fmt.Errorf("seed organization: %w", err)
	}
	for _, p := range People[1:] {
		m := domain.Membership{OrganizationID: org.ID, UserID: p.ID, Email: p.Email, Name: p.Name,
			Role: p.Role, TenantScope: domain.AllTenantsScope()}
		ev := audit.Event{Actor: audit.Actor{UserID: owner.ID, Email: owner.Email}, Category: audit.UserManagement,
			Action: "member.add", Summary: fmt.Sprintf("added %s as %s (demo data)", p.Email, p.Role),
			Targets: audit.Targets{UserIDs: []string{p.ID}}}
		if err := st.PutMember(ctx, m, ev); err != nil {
			return fmt.Errorf("seed member %s: %w", p.Email, err)
		}
	}
	return nil
}
