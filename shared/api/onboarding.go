package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Routes: the onboarding checklist (seed 002's wizard, issue 9). Everyone may read it;
// marking a step complete, or reopening it, is a platform setting.
var (
	OnboardingGet = Route{Method: "GET", Path: "/api/onboarding", Permission: permission.ViewData, Function: "onboarding-get",
		Summary: "The organization's onboarding checklist", Read: fetchOnboarding}
	OnboardingStepsComplete = Route{Method: "POST", Path: "/api/onboarding/steps/{step}/complete", Permission: permission.PlatformSettings,
		Function: "onboarding-steps-complete", Category: audit.Settings, Summary: "Mark an onboarding step complete", Handler: markOnboardingStep(true)}
	OnboardingStepsReopen = Route{Method: "POST", Path: "/api/onboarding/steps/{step}/reopen", Permission: permission.PlatformSettings,
		Function: "onboarding-steps-reopen", Category: audit.Settings, Summary: "Reopen an onboarding step marked complete", Handler: markOnboardingStep(false)}
)

func onboardingRoutes() []Route {
	return []Route{OnboardingGet, OnboardingStepsComplete, OnboardingStepsReopen}
}

var stepTitles = map[string]string{
	domain.StepOrganizationProfile: "Organization profile",
	domain.StepInvitePlatformUsers: "Invite platform users",
	domain.StepConnectM365:         "Connect Microsoft 365",
	domain.StepConnectPSA:          "Connect a PSA",
	domain.StepAddCustomers:        "Add customers",
	domain.StepCompanyUsers:        "Company users",
}

// onboardingStepView is one step: its status, and how it completes: "derived" steps
// complete by themselves once the system sees the work done; "manual" ones only with
// Mark Complete. Any step may be marked complete; a mark wins until it is reopened.
type onboardingStepView struct {
	Step        string                 `json:"step"`
	Title       string                 `json:"title"`
	Status      string                 `json:"status"`
	Completion  string                 `json:"completion"`
	Marked      *domain.OnboardingMark `json:"marked,omitempty"`
	Description string                 `json:"description"`
}

type onboardingView struct {
	Steps     []onboardingStepView `json:"steps"`
	Completed int                  `json:"completed"`
	Total     int                  `json:"total"`
}

// onboardingFacts are what the derived statuses are read from.
type onboardingFacts struct {
	profile     domain.Profile
	counters    map[string]int64
	invitations bool
	customers   bool
	connections []store.ConnectionState
}

// connected is the derived status of a "connect" step from the connections of types:
// complete once one tested (or synced) connected, in progress while one exists.
func (f onboardingFacts) connected(types ...string) string {
	status := domain.StepNotStarted
	for _, c := range f.connections {
		if !slices.Contains(types, c.Type) {
			continue
		}
		if c.Status == domain.ConnectionConnected {
			return domain.StepComplete
		}
		status = domain.StepInProgress
	}
	return status
}

// derive is the status the system sees, with why: the rules are written in
// docs/decisions.md ("Onboarding checklist").
func (f onboardingFacts) derive(step string) (status, completion, why string) {
	count := func(ok ...bool) int {
		n := 0
		for _, b := range ok {
			if b {
				n++
			}
		}
		return n
	}
	switch step {
	case domain.StepOrganizationProfile:
		p := f.profile
		switch count(p.Address != "", p.Phone != "", p.PrimaryContactEmail != "") {
		case 3:
			return domain.StepComplete, "derived", "company name, address, phone and primary contact email are set"
		case 0:
			return domain.StepNotStarted, "derived", "set the address, phone and primary contact email in the profile"
		}
		return domain.StepInProgress, "derived", "set the rest of address, phone and primary contact email"
	case domain.StepInvitePlatformUsers:
		switch {
		case f.counters[store.AttrMemberSeats] > 1:
			return domain.StepComplete, "derived", "a colleague joined the organization"
		case f.invitations:
			return domain.StepInProgress, "derived", "an invitation waits to be accepted"
		}
		return domain.StepNotStarted, "derived", "invite a colleague in Settings > Platform users"
	case domain.StepAddCustomers:
		if f.customers {
			return domain.StepComplete, "derived", "the organization has customers"
		}
		return domain.StepNotStarted, "derived", "add or import a customer"
	case domain.StepCompanyUsers:
		if f.counters[store.AttrCompanyUsers] > 0 {
			return domain.StepInProgress, "manual", "company users were added; mark the step complete when every client company is set up"
		}
		return domain.StepNotStarted, "manual", "add or import the users of your client companies, then mark the step complete"
	case domain.StepConnectM365:
		switch st := f.connected(domain.ConnectionM365); st {
		case domain.StepComplete:
			return st, "derived", "a Microsoft 365 connection is connected"
		case domain.StepInProgress:
			return st, "derived", "a Microsoft 365 connection was added; test it to see it connect"
		}
		return domain.StepNotStarted, "derived", "add a Microsoft 365 connection for a customer's tenant in Settings > Connections"
	}
	switch st := f.connected(domain.ConnectionConnectWise, domain.ConnectionAutotask, domain.ConnectionHaloPSA); st {
	case domain.StepComplete:
		return st, "derived", "a PSA connection is connected"
	case domain.StepInProgress:
		return st, "derived", "a PSA connection was added; test it to see it connect"
	}
	return domain.StepNotStarted, "derived", "add a ConnectWise Manage, Autotask or HaloPSA connection in Settings > Connections"
}

// readChecklist reads the facts and the marks of oc's organization, concurrently.
func readChecklist(ctx context.Context, d *Deps, oc *access.Context) (onboardingFacts, map[string]domain.OnboardingMark, error) {
	f, marks, err := readFacts(ctx, d, oc.Org.ID)
	f.profile = oc.Org.Profile
	return f, marks, err
}

// fetchOnboarding reads the checklist's facts alongside the authorization read
// (Route.Read); the profile's come from the organization that read.
func fetchOnboarding(ctx context.Context, d *Deps, _ *http.Request, orgID string) (any, error) {
	f, marks, err := readFacts(ctx, d, orgID)
	if err != nil {
		return nil, err
	}
	return onboardingFetched{facts: f, marks: marks}, nil
}

type onboardingFetched struct {
	facts onboardingFacts
	marks map[string]domain.OnboardingMark
}

func (o onboardingFetched) Present(oc *access.Context) (any, error) {
	o.facts.profile = oc.Org.Profile
	return checklist(o.facts, o.marks), nil
}

// readFacts reads, at once, what the checklist derives from besides the profile.
func readFacts(ctx context.Context, d *Deps, orgID string) (onboardingFacts, map[string]domain.OnboardingMark, error) {
	var f onboardingFacts
	var marks map[string]domain.OnboardingMark
	var active, archived []domain.Customer
	var merr, cerr, ierr, aerr, rerr, nerr error
	parallel(
		func() { marks, merr = d.Store.OnboardingMarks(ctx, orgID) },
		func() { f.counters, cerr = d.Store.OrganizationCounters(ctx, orgID) },
		func() { f.invitations, ierr = d.Store.HasPendingInvitations(ctx, orgID) },
		func() { f.connections, nerr = d.Store.ConnectionStates(ctx, orgID) },
		func() {
			active, _, aerr = d.Store.ListCustomers(ctx, orgID, store.CustomerQuery{Page: store.Page{Limit: 1}})
		},
		func() {
			archived, _, rerr = d.Store.ListCustomers(ctx, orgID, store.CustomerQuery{Page: store.Page{Limit: 1}, Archived: true})
		},
	)
	if err := errors.Join(merr, cerr, ierr, aerr, rerr, nerr); err != nil {
		return f, nil, err
	}
	f.customers = len(active)+len(archived) > 0
	return f, marks, nil
}

// checklist is the view of the facts and marks.
func checklist(f onboardingFacts, marks map[string]domain.OnboardingMark) onboardingView {
	v := onboardingView{Steps: []onboardingStepView{}, Total: len(domain.OnboardingSteps())}
	for _, step := range domain.OnboardingSteps() {
		status, completion, why := f.derive(step)
		sv := onboardingStepView{Step: step, Title: stepTitles[step], Status: status, Completion: completion, Description: why}
		if m, ok := marks[step]; ok {
			sv.Status, sv.Marked, sv.Description = domain.StepComplete, &m, "marked complete by "+m.CompletedBy
		}
		if sv.Status == domain.StepComplete {
			v.Completed++
		}
		v.Steps = append(v.Steps, sv)
	}
	return v
}

// markOnboardingStep marks the path's step complete, or reopens it; doing what is
// already done changes nothing (and writes no event). Either answers the checklist.
func markOnboardingStep(complete bool) func(d *Deps) http.Handler {
	return func(d *Deps) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			oc := access.From(ctx)
			step := r.PathValue("step")
			if !slices.Contains(domain.OnboardingSteps(), step) {
				problem.Write(ctx, w, r, problem.NotFoundf("there is no onboarding step %q", step))
				return
			}
			var mark *domain.OnboardingMark
			action, summary := "onboarding.reopen", fmt.Sprintf("reopened onboarding step %q", stepTitles[step])
			if complete {
				mark = &domain.OnboardingMark{CompletedAt: d.Store.Now(), CompletedBy: audit.OriginFrom(ctx).Actor.Email}
				action, summary = "onboarding.complete", fmt.Sprintf("marked onboarding step %q complete", stepTitles[step])
			}
			// The checklist is read before the change: nothing after the commit may fail.
			f, marks, err := readChecklist(ctx, d, oc)
			if err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			ev := audit.New(ctx, oc.Org.ID, audit.Settings, action, summary)
			_, wasMarked := marks[step]
			changed, err := d.Store.MarkOnboardingStep(ctx, oc.Org.ID, step, wasMarked, mark, ev)
			if err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			switch {
			case changed && mark != nil:
				marks[step] = *mark
			case changed:
				delete(marks, step)
			}
			write(w, http.StatusOK, checklist(f, marks))
		})
	}
}
