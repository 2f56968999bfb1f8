package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/openapi"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

func openAPIDocument(*Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			// Compressed when gen wrote it, not here: a request would spend more time
			// compressing than it saves.
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(openapi.Gzipped)
			return
		}
		_, _ = w.Write(openapi.Document)
	})
}

// acceptsGzip reports whether Accept-Encoding values list gzip (or *) without q=0.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "*" {
				continue
			}
			q, ok := strings.CutPrefix(strings.ReplaceAll(strings.ToLower(params), " ", ""), "q=")
			if !ok || strings.Trim(q, "0.") != "" {
				return true
			}
		}
	}
	return false
}

// meView is GET /api/me.
type meView struct {
	User               userView                    `json:"user"`
	ActiveOrganization *domain.OrganizationAccess  `json:"activeOrganization"`
	Organizations      []domain.OrganizationAccess `json:"organizations"`
	NextCursor         string                      `json:"nextCursor,omitempty"`
	// Supportable lists, apart from the memberships, the sub-organizations the caller
	// may support: for each organization on this page where they hold the permission,
	// its first sub-organizations (the rest through GET /api/msp-admin/sub-organizations).
	Supportable []supportableView `json:"supportable"`
}

// supportableView is one parent organization's sub-organizations that the caller can
// support by naming them in X-Organization-Id.
type supportableView struct {
	OrganizationID   string              `json:"organizationId"`
	OrganizationName string              `json:"organizationName"`
	SubOrganizations []supportedOrgEntry `json:"subOrganizations"`
	NextCursor       string              `json:"nextCursor,omitempty"`
}

type supportedOrgEntry struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// supportablePage is how many sub-organizations /api/me lists per parent.
const supportablePage = 20

type userView struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

// organizationView is an organization as its members see it.
type organizationView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Plan      string    `json:"plan"`
	ParentID  string    `json:"parentId,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	Version   int64     `json:"version"`
}

func viewOrganization(o domain.Organization) organizationView {
	return organizationView{ID: o.ID, Name: o.Name, Plan: o.Plan, ParentID: o.ParentID, CreatedAt: o.CreatedAt, Version: o.Version}
}

// switcherEntry is one organization as the caller's switcher shows it.
func switcherEntry(o domain.Organization, role permission.Role, active bool) domain.OrganizationAccess {
	return domain.OrganizationAccess{ID: o.ID, Name: o.Name, Plan: o.Plan, Role: role, Owner: role == permission.Owner,
		Active: active, ParentID: o.ParentID}
}

// accessible reads the caller and the page of their organizations that the request asks
// for; the user and the memberships are read concurrently. It also returns the
// organizations of the page whose sub-organizations the caller may support.
func accessible(d *Deps, r *http.Request, onMembers func([]domain.Membership)) (domain.User, []domain.OrganizationAccess, string, []domain.Organization, error) {
	ctx := r.Context()
	userID := callerFrom(ctx).userID
	p, err := page(r)
	if err != nil {
		return domain.User{}, nil, "", nil, err
	}
	var u domain.User
	var uerr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		u, uerr = d.Store.GetUser(ctx, userID)
	}()
	members, orgs, next, err := d.Store.ListMembershipsThen(ctx, userID, p, onMembers)
	<-done
	if err != nil {
		return u, nil, "", nil, err
	}
	if uerr != nil {
		return u, nil, "", nil, fmt.Errorf("get user %s: %w", userID, uerr)
	}
	activeID := u.ActiveOrganizationID
	byID := make(map[string]domain.Organization, len(orgs))
	for _, o := range orgs {
		byID[o.ID] = o
	}
	out := make([]domain.OrganizationAccess, 0, len(members))
	var parents []domain.Organization
	for _, m := range members {
		o, ok := byID[m.OrganizationID]
		if !ok {
			continue // deleted organization whose membership is being cleaned up
		}
		if o.ParentID != "" {
			// A sub-organization shows its parent's plan (cached briefly per process).
			if o.Plan, err = d.Store.PlanOf(ctx, o); err != nil {
				return u, nil, "", nil, err
			}
		}
		out = append(out, switcherEntry(o, m.Role, o.ID == activeID))
		if o.ParentID == "" && permission.GrantFor(m.Role, m.Permissions, permission.ManageSubOrgs) != permission.Denied {
			parents = append(parents, o)
		}
	}
	return u, out, next, parents, nil
}

// subOrgPage is the first page of a parent's sub-organizations.
type subOrgPage struct {
	subs []store.SubOrganization
	next string
}

// firstSubOrgs reads the first page of parentID's sub-organizations.
func firstSubOrgs(ctx context.Context, d *Deps, parentID string) (subOrgPage, error) {
	subs, next, err := d.Store.ListSubOrganizations(ctx, parentID, "", store.Page{Limit: supportablePage})
	return subOrgPage{subs, next}, err
}

// subOrgsAhead starts listing the sub-organizations of the organizations whose
// memberships may manage them, beside the read of those organizations, which alone
// tells the parents from the sub-organizations (a sub-organization's list is empty, so
// a guess wrong costs one empty Query). Only the first speculateSubOrgs are guessed.
type subOrgsAhead struct {
	mu      sync.Mutex
	pending map[string]func() (subOrgPage, error)
}

// speculateSubOrgs bounds the lists started before the organizations are read.
const speculateSubOrgs = 10

func (a *subOrgsAhead) start(ctx context.Context, d *Deps, members []domain.Membership) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pending = map[string]func() (subOrgPage, error){}
	for _, m := range members {
		if len(a.pending) == speculateSubOrgs {
			break
		}
		if permission.GrantFor(m.Role, m.Permissions, permission.ManageSubOrgs) == permission.Denied {
			continue
		}
		id := m.OrganizationID
		a.pending[id] = beside(func() (subOrgPage, error) { return firstSubOrgs(ctx, d, id) })
	}
}

// take returns the list started for id, if any, once.
func (a *subOrgsAhead) take(id string) func() (subOrgPage, error) {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.pending[id]
	delete(a.pending, id)
	return f
}

// supportable lists the first sub-organizations of each parent, concurrently; those
// started ahead are taken from ahead (nil: none).
func supportable(ctx context.Context, d *Deps, parents []domain.Organization, ahead *subOrgsAhead) ([]supportableView, error) {
	out := make([]supportableView, len(parents))
	errs := make([]error, len(parents))
	var wg sync.WaitGroup
	for i, o := range parents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			list := ahead.take(o.ID)
			if list == nil {
				list = func() (subOrgPage, error) { return firstSubOrgs(ctx, d, o.ID) }
			}
			got, err := list()
			subs, next := got.subs, got.next
			v := supportableView{OrganizationID: o.ID, OrganizationName: o.Name, SubOrganizations: make([]supportedOrgEntry, 0, len(subs)), NextCursor: next}
			for _, s := range subs {
				v.SubOrganizations = append(v.SubOrganizations, supportedOrgEntry{ID: s.Organization.ID, Name: s.Organization.Name})
			}
			out[i], errs[i] = v, err
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func getMe(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		cl := callerFrom(ctx)
		ahead := &subOrgsAhead{}
		u, list, next, parents, err := accessible(d, r, func(ms []domain.Membership) { ahead.start(ctx, d, ms) })
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		sup, err := supportable(ctx, d, parents, ahead)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		view := meView{User: userView{ID: u.ID, Email: u.Email, Name: u.Name, CreatedAt: u.CreatedAt}, Organizations: list,
			NextCursor: next, Supportable: sup}
		for i := range list {
			if list[i].Active {
				view.ActiveOrganization = &list[i]
			}
		}
		if view.ActiveOrganization == nil && u.ActiveOrganizationID != "" {
			// The active organization is past this page, or no longer reachable.
			if oc, _, err := d.Resolver.Organization(ctx, cl.principal, u.ID, u.ActiveOrganizationID); err == nil && oc.Via == access.ViaMembership {
				active := switcherEntry(oc.Org, oc.Role(), true)
				view.ActiveOrganization = &active
			}
		}
		write(w, http.StatusOK, view)
	})
}

func listOrganizations(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		_, list, next, _, err := accessible(d, r, nil)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		write(w, http.StatusOK, List[domain.OrganizationAccess]{Items: list, NextCursor: next})
	})
}

type nameInput struct {
	Name    *string `json:"name"`
	Version *int64  `json:"version"`
}

func (in nameInput) validate() (string, error) {
	if in.Name == nil {
		return "", problem.Invalidf("name", "is required")
	}
	name := strings.TrimSpace(*in.Name)
	return name, domain.ValidateOrganizationName(name)
}

func createOrganization(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		cl := callerFrom(ctx)
		var in nameInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		name, err := in.validate()
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		// The verified token names the user; no read is needed before the write.
		u := domain.User{ID: cl.userID, Email: domain.NormalizeEmail(cl.principal.Email), Name: cl.principal.Name}
		org := domain.Organization{ID: domain.NewID(), Name: name, Plan: domain.PlanFree, Profile: domain.NewProfile(name),
			OwnerUserID: u.ID, CreatedAt: d.Store.Now(), Version: 1}
		owner := domain.Membership{OrganizationID: org.ID, UserID: u.ID, Email: u.Email, Name: u.Name,
			Role: permission.Owner, TenantScope: domain.AllTenantsScope(), JoinedAt: org.CreatedAt, Version: 1}
		ev := audit.New(ctx, org.ID, audit.Settings, "organization.create", fmt.Sprintf("created organization %q", name))
		ev.Targets.UserIDs = []string{u.ID}
		if err := d.Store.CreateOrganization(ctx, org, owner, ev); err != nil {
			problem.Write(ctx, w, r, fmt.Errorf("create organization: %w", err))
			return
		}
		w.Header().Set("Location", "/api/organizations/"+org.ID)
		write(w, http.StatusCreated, switcherEntry(org, permission.Owner, true))
	})
}

func renameOrganization(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		var in nameInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		name, err := in.validate()
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		org, err := d.Store.UpdateOrganizationFrom(ctx, oc.Org, in.Version, func(o *domain.Organization) (audit.Event, error) {
			ev := audit.New(ctx, o.ID, audit.Settings, "organization.rename", fmt.Sprintf("renamed the organization from %q to %q", o.Name, name))
			ev.Changes = []audit.Change{{Field: "name", From: o.Name, To: name}}
			o.Name = name
			return ev, nil
		})
		if err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "organization"))
			return
		}
		write(w, http.StatusOK, viewOrganization(org))
	})
}

type activeInput struct {
	OrganizationID *string `json:"organizationId"`
}

func putActiveOrganization(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		cl := callerFrom(ctx)
		var in activeInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if in.OrganizationID == nil || strings.TrimSpace(*in.OrganizationID) == "" {
			problem.Write(ctx, w, r, problem.Invalidf("organizationId", "is required"))
			return
		}
		oc, touch, err := d.Resolver.Organization(ctx, cl.principal, cl.userID, strings.TrimSpace(*in.OrganizationID))
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if oc.Via == access.ViaSupport {
			// Supporting is per request: the organization a user works in is one they
			// belong to, so no later request acts in a client's organization unasked.
			problem.Write(ctx, w, r, problem.Conflictf("supported-organization",
				"you support %q from %q without being its member: name it in X-Organization-Id on each request instead", oc.Org.Name, oc.SupportedFrom.Name))
			return
		}
		if touch != nil {
			_ = touch(ctx)
		}
		if err := d.Store.SetActiveOrganization(ctx, cl.userID, oc.Org.ID); err != nil {
			problem.Write(ctx, w, r, fmt.Errorf("switch organization: %w", err))
			return
		}
		write(w, http.StatusOK, switcherEntry(oc.Org, oc.Role(), true))
	})
}

// notFoundAs turns the store's ErrNotFound into the 404 a client sees.
func notFoundAs(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return problem.NotFoundf("the %s was not found", what)
	}
	return err
}
