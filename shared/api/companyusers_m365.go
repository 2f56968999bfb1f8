package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/customerimport"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/msgraph"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// The import of company users from Microsoft 365 (issue 9, part 3). The request reads
// the tenant's users from Graph with its connection, inside the request's Graph budget
// as a refresh does; a preview answers them, marked new, present or changed; an import
// starts the company-user import job over the users chosen, written as the CSV the job
// already reads (columns Email, Name, Job Title, External ID) with source m365, so the
// job worker needs neither the credentials' key nor Graph, and the upsert by (m365,
// Entra object id) is the CSV import's (docs/decisions.md, "Company users from Microsoft
// 365").

// maxImportSelect bounds "select": more ids than any tenant we import has users.
const maxImportSelect = 10_000

// m365UserStatus says how a user found in Microsoft 365 compares with the customer's
// company users.
const (
	m365New     = "new"     // no company user has its Entra object id
	m365Present = "present" // its company user has the same email, name and job title
	m365Changed = "changed" // its company user differs: the import updates it
)

// m365UserView is one user a preview lists.
type m365UserView struct {
	ExternalID string `json:"externalId"`
	Email      string `json:"email"`
	Name       string `json:"name"`
	JobTitle   string `json:"jobTitle"`
	Licensed   bool   `json:"licensed"`
	Status     string `json:"status"`
	// CompanyUserID is the company user it is (present, changed).
	CompanyUserID string `json:"companyUserId,omitempty"`
	// EmailTakenBy is another company user (of another source) with this email: the
	// import skips the user.
	EmailTakenBy string `json:"emailTakenBy,omitempty"`
}

// m365PreviewCounts count the users of a preview by status.
type m365PreviewCounts struct {
	Total   int `json:"total"`
	New     int `json:"new"`
	Present int `json:"present"`
	Changed int `json:"changed"`
}

// m365Preview is the answer of a preview.
type m365Preview struct {
	Source     string            `json:"source"`
	CustomerID string            `json:"customerId"`
	TenantID   string            `json:"tenantId"`
	Users      []m365UserView    `json:"users"`
	Counts     m365PreviewCounts `json:"counts"`
}

// checkM365Import validates the JSON form of a Microsoft 365 import.
func checkM365Import(in userImportInput) error {
	var v problem.Validation
	v.Check(strings.TrimSpace(in.TenantID) == "", "tenantId", "is required: the customer's tenant to read users from")
	if in.Select != nil {
		switch {
		case len(in.Select) == 0:
			v.Add("select", "must name at least one user's externalId, or be left out to import every user")
		case len(in.Select) > maxImportSelect:
			v.Add("select", "must name at most %d users", maxImportSelect)
		case slices.ContainsFunc(in.Select, func(s string) bool { return strings.TrimSpace(s) == "" || len(s) > 200 }):
			v.Add("select", "must hold externalIds (the users' Entra object ids) of at most 200 characters")
		}
	}
	return v.Err()
}

// importFromM365 previews or imports the users of the customer's tenant in.TenantID.
func importFromM365(w http.ResponseWriter, r *http.Request, d *Deps, cust store.CustomerDetail, in userImportInput) {
	ctx := r.Context()
	oc := access.From(ctx)
	tenantID := strings.TrimSpace(in.TenantID)
	i := slices.IndexFunc(cust.Tenants, func(t domain.Tenant) bool { return t.ID == tenantID })
	// A tenant outside the caller's scope is as unknown as another customer's.
	if i < 0 || !oc.Scope().TenantAllowed(permission.RunAutomation, tenantID) {
		problem.Write(ctx, w, r, problem.Invalidf("tenantId", "is not a tenant of this customer"))
		return
	}
	tenant := cust.Tenants[i]
	conn, err := tenantConnection(ctx, d, oc.Org.ID, tenantID)
	if err != nil {
		problem.Write(ctx, w, r, err)
		return
	}
	users, err := readM365Users(ctx, d, oc.Org.ID, conn)
	if err != nil {
		problem.Write(ctx, w, r, err)
		return
	}
	if in.Select != nil {
		if users, err = selectM365Users(users, in.Select); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
	}
	if in.Preview {
		existing, err := allCompanyUsers(ctx, d.Store, oc.Org.ID, cust.Customer.ID)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		write(w, http.StatusOK, previewM365(cust.Customer.ID, tenantID, users, existing))
		return
	}
	if len(users) == 0 {
		problem.Write(ctx, w, r, problem.Conflictf("nothing-to-import", "Microsoft 365 lists no users in this tenant"))
		return
	}
	raw, err := m365CSV(users)
	if err != nil {
		problem.Write(ctx, w, r, err)
		return
	}
	if len(raw) > customerimport.MaxBytes {
		problem.Write(ctx, w, r, problem.New(problem.PayloadTooLarge, "too-many-users",
			fmt.Sprintf("the tenant's %d users are too many for one import; import them in parts with select", len(users))))
		return
	}
	j, err := d.Jobs.Start(ctx, jobs.StartInput{Kind: KindCompanyUserImport, OrganizationID: oc.Org.ID, Input: raw,
		Params: userImportParams{CustomerID: cust.Customer.ID, Source: domain.SourceM365, TenantID: tenantID}, Total: int64(len(users)),
		Category: audit.Customer,
		Summary: fmt.Sprintf("started importing %d company users of customer %q from Microsoft 365 tenant %s", len(users), cust.Customer.Name,
			tenant.DisplayName),
		Targets: audit.Targets{CustomerIDs: []string{cust.Customer.ID}, TenantIDs: []string{tenantID}}})
	if err != nil {
		problem.Write(ctx, w, r, err)
		return
	}
	w.Header().Set("Location", "/api/jobs/"+j.ID)
	write(w, http.StatusAccepted, NewJobView(j))
}

// m365User is a Graph user as a company user: its mail, else its sign-in name.
type m365User struct {
	ExternalID, Email, Name, JobTitle string
	Licensed                          bool
}

// readM365Users reads every user of the connection's tenant within the Graph budget.
// Errors: a 502 problem naming what Entra or Graph answered (Retry-After after a
// throttle).
func readM365Users(ctx context.Context, d *Deps, orgID string, conn domain.Connection) ([]m365User, error) {
	now := d.Store.Now()
	creds, err := openCredentials(ctx, d, orgID, conn)
	if err != nil {
		p := credentialsUnreadable(ctx, conn, err, now)
		return nil, problem.New(problem.BadGateway, p.Code, p.Message)
	}
	gctx, cancel := context.WithTimeout(ctx, graphBudget)
	defer cancel()
	var users []msgraph.User
	sess, err := d.graph().Connect(gctx, graphCredentials(creds))
	if err == nil {
		users, err = sess.ListUsers(gctx)
	}
	if err != nil {
		p := graphProblem(err, creds, now)
		pe := problem.New(problem.BadGateway, p.Code, p.Message+"; nothing was imported")
		var ge *msgraph.Error
		if errors.As(err, &ge) && ge.RetryAfter > 0 {
			pe.RetryAfter = max(1, int(ge.RetryAfter.Round(time.Second)/time.Second))
		}
		return nil, pe
	}
	out := make([]m365User, 0, len(users))
	for _, u := range users {
		email := strings.TrimSpace(u.Mail)
		if email == "" {
			email = strings.TrimSpace(u.UserPrincipalName)
		}
		mu := m365User{ExternalID: u.ID, Email: strings.ToLower(email), Name: strings.TrimSpace(u.DisplayName),
			JobTitle: strings.TrimSpace(u.JobTitle), Licensed: u.Licensed()}
		if mu.Name == "" {
			mu.Name = mu.Email
		}
		out = append(out, mu)
	}
	return out, nil
}

// selectM365Users keeps the users whose ids sel names, in Graph's order. Errors: a 400
// naming select when it names a user the tenant does not have.
func selectM365Users(users []m365User, sel []string) ([]m365User, error) {
	want := map[string]bool{}
	for _, id := range sel {
		want[strings.TrimSpace(id)] = true
	}
	var out []m365User
	for _, u := range users {
		if want[u.ExternalID] {
			out = append(out, u)
			delete(want, u.ExternalID)
		}
	}
	if len(want) > 0 {
		missing := make([]string, 0, len(want))
		for id := range want {
			missing = append(missing, id)
		}
		slices.Sort(missing)
		if len(missing) > 5 {
			missing = append(missing[:5], "…")
		}
		return nil, problem.Invalidf("select", "names users the tenant does not have in Microsoft 365: %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// allCompanyUsers reads every company user of a customer: one Query of its partition
// per page.
func allCompanyUsers(ctx context.Context, st *store.Store, orgID, customerID string) ([]domain.CompanyUser, error) {
	var out []domain.CompanyUser
	cursor := ""
	for {
		users, next, err := st.ListCompanyUsers(ctx, orgID, customerID, store.Page{Limit: store.MaxLimit, Cursor: cursor})
		if err != nil {
			return nil, fmt.Errorf("list company users of customer %s: %w", customerID, err)
		}
		out = append(out, users...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// previewM365 marks each user found new, present or changed against the customer's
// company users, as the import's upsert would find them: by (m365, Entra object id).
func previewM365(customerID, tenantID string, users []m365User, existing []domain.CompanyUser) m365Preview {
	byExt, byEmail := map[string]domain.CompanyUser{}, map[string]domain.CompanyUser{}
	for _, u := range existing {
		if u.Source == domain.SourceM365 {
			byExt[u.ExternalID] = u
		}
		byEmail[strings.ToLower(u.Email)] = u
	}
	p := m365Preview{Source: domain.SourceM365, CustomerID: customerID, TenantID: tenantID, Users: make([]m365UserView, 0, len(users))}
	for _, u := range users {
		v := m365UserView{ExternalID: u.ExternalID, Email: u.Email, Name: u.Name, JobTitle: u.JobTitle, Licensed: u.Licensed, Status: m365New}
		if cur, ok := byExt[u.ExternalID]; ok {
			v.CompanyUserID, v.Status = cur.ID, m365Present
			if !strings.EqualFold(cur.Email, u.Email) || cur.Name != u.Name || cur.JobTitle != u.JobTitle {
				v.Status = m365Changed
			}
		} else if other, ok := byEmail[u.Email]; ok {
			v.EmailTakenBy = other.ID
		}
		switch v.Status {
		case m365New:
			p.Counts.New++
		case m365Present:
			p.Counts.Present++
		default:
			p.Counts.Changed++
		}
		p.Users = append(p.Users, v)
	}
	p.Counts.Total = len(p.Users)
	return p
}

// m365CSV writes the users as the company-user import's CSV.
func m365CSV(users []m365User) ([]byte, error) {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	rows := [][]string{{"Email", "Name", "Job Title", "External ID"}}
	for _, u := range users {
		rows = append(rows, []string{u.Email, u.Name, u.JobTitle, u.ExternalID})
	}
	if err := cw.WriteAll(rows); err != nil {
		return nil, fmt.Errorf("write the users of the import: %w", err)
	}
	return buf.Bytes(), nil
}
