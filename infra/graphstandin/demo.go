package graphstandin

import (
	"fmt"

	"github.com/switchboard-msp/switchboard/shared/msgraph"
)

// The demo tenant of `make run`: README's walk-through registers it in Switchboard and
// connects it with this app registration.
const (
	DemoTenantID     = "5b2c8a71-3d4e-4f60-9a1b-2c3d4e5f6a7b"
	DemoDomain       = "northwinddemo.onmicrosoft.com"
	DemoClientID     = "0f7e6d5c-4b3a-4291-8877-665544332211"
	DemoClientSecret = "demo~Secret.NotForProduction_1234"
)

// DemoTenant is Northwind's tenant: 7 users of whom 5 are licensed, two SKUs and a
// Secure Score of 46.5 of 75 (62%).
func DemoTenant() Tenant {
	e3 := "05e9a617-0261-4cee-bb44-138d3ef5d965"
	bp := "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"
	names := []struct{ name, title, sku string }{
		{"Adele Vance", "Retail Manager", e3}, {"Alex Wilber", "Marketing Assistant", e3},
		{"Diego Siciliani", "HR Manager", bp}, {"Grady Archie", "Designer", bp}, {"Isaiah Langer", "Sales Rep", bp},
		{"Shared Mailbox", "", ""}, {"Conference Room", "", ""},
	}
	t := Tenant{ID: DemoTenantID, Apps: map[string]string{DemoClientID: DemoClientSecret}}
	for i, n := range names {
		u := msgraph.User{ID: fmt.Sprintf("a1b2c3d4-0000-4000-8000-%012d", i+1), DisplayName: n.name, JobTitle: n.title,
			UserPrincipalName: fmt.Sprintf("user%d@%s", i+1, DemoDomain), Mail: fmt.Sprintf("user%d@%s", i+1, DemoDomain)}
		if n.sku != "" {
			u.AssignedLicenses = []msgraph.AssignedLicense{{SKUID: n.sku}}
		}
		t.Users = append(t.Users, u)
	}
	t.SKUs = []msgraph.SubscribedSKU{
		{SKUID: e3, SKUPartNumber: "SPE_E3", CapabilityStatus: "Enabled", ConsumedUnits: 2, PrepaidUnits: msgraph.PrepaidUnits{Enabled: 5}, AppliesTo: "User"},
		{SKUID: bp, SKUPartNumber: "SPB", CapabilityStatus: "Enabled", ConsumedUnits: 3, PrepaidUnits: msgraph.PrepaidUnits{Enabled: 3}, AppliesTo: "User"},
	}
	t.SecureScore = &msgraph.SecureScore{ID: DemoTenantID + "_2026-11-24", CreatedDateTime: "2026-11-24T00:00:00Z",
		CurrentScore: 46.5, MaxScore: 75, ActiveUserCount: 5, LicensedUserCount: 5}
	return t
}
