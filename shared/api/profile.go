package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// profileView is seed 000's organization profile. The billing contact is billing
// information, which only members who manage billing see (seed 003).
type profileView struct {
	OrganizationID string `json:"organizationId"`
	domain.Profile
	BillingContact *domain.BillingContact `json:"billingContact,omitempty"`
	Version        int64                  `json:"version"`
}

func viewProfile(oc *access.Context, o domain.Organization) profileView {
	v := profileView{OrganizationID: o.ID, Profile: o.Profile, Version: o.Version}
	if v.RequireApprovalFor == nil {
		v.RequireApprovalFor = []domain.ApprovalAction{}
	}
	if oc.Can(permission.ManageBilling) {
		bc := o.Profile.BillingContact
		v.BillingContact = &bc
	}
	return v
}

func getProfile(*Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		oc := access.From(r.Context())
		// The profile lives on the organization item, which resolving the request
		// already read: the whole GET is one round trip.
		write(w, http.StatusOK, viewProfile(oc, oc.Org))
	})
}

type profileInput struct {
	domain.Profile
	BillingContact *domain.BillingContact `json:"billingContact"`
	// RequireApprovalFor, when absent, keeps the stored list: a client that does not
	// know the field does not switch approvals off.
	RequireApprovalFor *[]domain.ApprovalAction `json:"requireApprovalFor"`
	Version            *int64                   `json:"version"`
}

func putProfile(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		var in profileInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		next := in.Profile
		if in.BillingContact != nil {
			next.BillingContact = *in.BillingContact
		}
		next.RequireApprovalFor = oc.Org.Profile.RequireApprovalFor
		if in.RequireApprovalFor != nil {
			next.RequireApprovalFor = *in.RequireApprovalFor
		}
		next.Normalize()
		if err := next.Validate(); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		next.RequireApprovalFor = domain.NormalizeRequireApprovalFor(next.RequireApprovalFor)
		if next.Authentication != oc.Org.Profile.Authentication && oc.Org.Profile.RequiresApproval(domain.ActionChangeAuthSettings) {
			// The profile carries the authentication settings too; while their changes
			// wait for approval, they change only through their own route, which holds them.
			pe := problem.Conflictf("approval-required", "changing the authentication settings needs another member's approval in this organization; "+
				"send the change to PUT /api/settings/authentication, or send the profile with its authentication settings unchanged")
			problem.Write(ctx, w, r, pe)
			return
		}
		org, err := d.Store.UpdateOrganizationFrom(ctx, oc.Org, in.Version, func(o *domain.Organization) (audit.Event, error) {
			if !oc.Can(permission.ManageBilling) {
				// Not theirs to see, so not theirs to replace.
				next.BillingContact = o.Profile.BillingContact
			}
			changes := diff(o.Profile, next)
			ev := audit.New(ctx, o.ID, audit.Settings, "profile.update", fmt.Sprintf("updated the organization profile (%d fields)", len(changes)))
			ev.Changes = changes
			o.Profile = next
			return ev, nil
		})
		if err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "organization"))
			return
		}
		write(w, http.StatusOK, viewProfile(oc, org))
	})
}

// diff lists the fields that differ between two values, by their JSON paths.
func diff(before, after any) []audit.Change {
	a, b := flatten(before), flatten(after)
	var out []audit.Change
	for k, av := range a {
		if bv := b[k]; !reflect.DeepEqual(av, bv) {
			out = append(out, audit.Change{Field: k, From: av, To: bv})
		}
	}
	// A field set for the first time (absent before, as an omitted empty one is) is a
	// change too: setting up SSO where there was none must say what was set.
	for k, bv := range b {
		if _, ok := a[k]; !ok && bv != nil {
			out = append(out, audit.Change{Field: k, To: bv})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

func flatten(v any) map[string]any {
	raw, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			out[prefix+k] = v
		}
	}
	walk("", m)
	return out
}
