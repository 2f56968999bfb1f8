package api

import (
	"reflect"
	"testing"

	"github.com/switchboard-msp/switchboard/shared/audit"
)

func TestDiff(t *testing.T) {
	type sso struct {
		TenantID string   `json:"tenantId,omitempty"`
		Domains  []string `json:"domains,omitempty"`
	}
	type org struct {
		Name string `json:"name"`
		SSO  *sso   `json:"sso,omitempty"`
	}
	for _, tc := range []struct {
		name          string
		before, after any
		want          []audit.Change
	}{
		{"nothing changed", org{Name: "A"}, org{Name: "A"}, nil},
		{"a field changed", org{Name: "A"}, org{Name: "B"}, []audit.Change{{Field: "name", From: "A", To: "B"}}},
		{"a nested field set for the first time", org{Name: "A"}, org{Name: "A", SSO: &sso{TenantID: "t1"}},
			[]audit.Change{{Field: "sso.tenantId", To: "t1"}}},
		{"a nested field cleared", org{Name: "A", SSO: &sso{TenantID: "t1"}}, org{Name: "A"},
			[]audit.Change{{Field: "sso.tenantId", From: "t1"}}},
		{"from nothing at all", nil, sso{TenantID: "t1", Domains: []string{"a.example"}},
			[]audit.Change{{Field: "domains", To: []any{"a.example"}}, {Field: "tenantId", To: "t1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := diff(tc.before, tc.after); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("diff = %#v, want %#v", got, tc.want)
			}
		})
	}
}
