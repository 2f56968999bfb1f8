package api

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// FuzzInviteBody feeds arbitrary bodies to the invite decoder and validation: every
// input is either a valid invitee or a 4xx problem naming fields, never a panic or a
// 5xx, and a valid invitee is in canonical form.
func FuzzInviteBody(f *testing.F) {
	for _, seed := range []string{
		`{"email":"lee.gu@contoso.example","displayName":"Lee Gu","role":"Technician","tenantAccess":{"mode":"selected","tenantIds":["t1"]}}`,
		`{"email":"a@b.example","role":"Custom","permissions":["view-data","manage-users"],"tenantAccess":{"mode":"all-except","tenantIds":["x","x"]}}`,
		`{"email":"a@b.example","role":"Owner"}`,
		`{"email":7,"role":["Administrator"],"tenantAccess":"all"}`,
		`{"tenantAccess":{"mode":"selected","tenantIds":[1,null,"ok"]}}`,
		`[]`, `null`, `{"email":"\u0000@x.example"}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/settings/platform-users", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var in platformUserInput
		err := decode(r, &in)
		if err == nil {
			iv := in.invitee()
			if err = iv.Validate(); err == nil {
				iv.Access.Normalize()
				if !domain.ValidEmail(iv.Email) || !permission.ValidRole(iv.Role) || iv.Role == permission.Owner {
					t.Fatalf("accepted %+v", iv)
				}
				if permission.AllTenants(iv.Role) && iv.TenantScope.Mode != permission.ScopeAll {
					t.Fatalf("an all-tenants role kept scope %+v", iv.TenantScope)
				}
				ids := slices.Clone(iv.TenantScope.TenantIDs)
				if len(slices.Compact(slices.Sorted(slices.Values(ids)))) != len(ids) {
					t.Fatalf("duplicate tenant ids kept: %v", ids)
				}
				return
			}
		}
		var pe *problem.Error
		if !errors.As(err, &pe) || pe.Status() < 400 || pe.Status() >= 500 {
			t.Fatalf("body %q: %v is not a 4xx problem", body, err)
		}
		if pe.Status() == 400 && len(pe.Fields) == 0 {
			t.Fatalf("body %q: a 400 that names no field: %v", body, pe)
		}
	})
}
