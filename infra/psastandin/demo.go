package psastandin

import "github.com/switchboard-msp/switchboard/shared/psa"

// DemoCompanies are the companies `make run` seeds into each stand-in. README's
// walk-through creates customers "Northwind Traders" (contact at northwindtraders.com)
// and "Fabrikam": the first matches by domain, the second by name, and the other two
// are new to Switchboard, so a sync creates them.
func DemoCompanies() []psa.Company {
	return []psa.Company{
		{Name: "Northwind Traders", Domain: "https://www.northwindtraders.com", Phone: "+1 (555) 201-0001", City: "Seattle", State: "WA"},
		{Name: "Fabrikam, Inc.", Domain: "fabrikam.example", Phone: "+1 (555) 201-0002", City: "Redmond", State: "WA"},
		{Name: "Adventure Works Cycles", Domain: "adventure-works.example", Phone: "+1 (555) 201-0003", City: "Bothell", State: "WA"},
		{Name: "Tailspin Toys", Domain: "tailspintoys.example", Phone: "+1 (555) 201-0004", City: "Portland", State: "OR"},
	}
}

// DemoContacts are people of the first demo company (whose id is companyID).
func DemoContacts(companyID string) []psa.Contact {
	return []psa.Contact{
		{CompanyID: companyID, FirstName: "Nancy", LastName: "Davolio", Email: "nancy.davolio@northwindtraders.com", Title: "Office Manager"},
		{CompanyID: companyID, FirstName: "Andrew", LastName: "Fuller", Email: "andrew.fuller@northwindtraders.com", Title: "Vice President"},
	}
}
