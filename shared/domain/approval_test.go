package domain_test

import (
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

func TestApprovalIDsSortByRequestTime(t *testing.T) {
	start := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 200 {
		id := domain.NewApprovalID(start.Add(time.Duration(i) * time.Millisecond))
		if !domain.ValidID(id) || len(id) != 26 {
			t.Fatalf("id %q", id)
		}
		ids = append(ids, id)
	}
	if !sort.StringsAreSorted(ids) {
		t.Errorf("ids do not sort by time: %v", ids[:5])
	}
	if a, b := domain.NewApprovalID(start), domain.NewApprovalID(start); a == b || a[:9] != b[:9] {
		t.Errorf("same instant: %s %s, want one time prefix (48 bits: 9 characters) and different random parts", a, b)
	}
}

func TestApprovalDecisionRules(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	pending := domain.Approval{Status: domain.ApprovalPending, RequestedBy: domain.Inviter{UserID: "tech"}, ExpiresAt: now.Add(time.Hour)}
	tests := []struct {
		name    string
		a       domain.Approval
		decider string
		at      time.Time
		code    string
		status  string
	}{
		{"another member, in time", pending, "admin", now, "", domain.ApprovalPending},
		{"the requester", pending, "tech", now, "self-approval", domain.ApprovalPending},
		{"at its expiry", pending, "admin", now.Add(time.Hour), "approval-not-pending", domain.ApprovalExpired},
		{"the requester, once expired: still their own", pending, "tech", now.Add(2 * time.Hour), "self-approval", domain.ApprovalExpired},
		{"decided", pending.Decide(domain.ApprovalRejected, domain.Inviter{UserID: "admin"}, "no", now), "owner", now, "approval-not-pending", domain.ApprovalRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.a.CheckDecision(tt.decider, tt.at)
			if got := problem.As(err).Code; tt.code != "" && got != tt.code || tt.code == "" && err != nil {
				t.Errorf("CheckDecision: %v, want %q", err, tt.code)
			}
			if s := tt.a.StatusAt(tt.at); s != tt.status {
				t.Errorf("StatusAt %s, want %s", s, tt.status)
			}
		})
	}
}

func TestLicenseOrderApplies(t *testing.T) {
	tenant := domain.Tenant{ID: "t1", Licenses: []domain.SKULicense{{SKU: "SPE_E3", Assigned: 10}, {SKU: "EMS", Assigned: 9_999_999}}}
	many := domain.Tenant{ID: "t2"}
	for i := range domain.MaxSKUs {
		many.Licenses = append(many.Licenses, domain.SKULicense{SKU: "SKU" + string(rune('A'+i%26)) + string(rune('A'+i/26)), Assigned: 1})
	}
	tests := []struct {
		name   string
		t      domain.Tenant
		order  domain.LicenseOrder
		want   []domain.SKULicense
		reason string
	}{
		{"adds to its SKU", tenant, domain.LicenseOrder{SKU: "SPE_E3", Quantity: 5},
			[]domain.SKULicense{{SKU: "SPE_E3", Assigned: 15}, {SKU: "EMS", Assigned: 9_999_999}}, ""},
		{"a SKU in another case is the same SKU", tenant, domain.LicenseOrder{SKU: "spe_e3", Quantity: 1},
			[]domain.SKULicense{{SKU: "SPE_E3", Assigned: 11}, {SKU: "EMS", Assigned: 9_999_999}}, ""},
		{"a new SKU is added", tenant, domain.LicenseOrder{SKU: "O365_BUSINESS_PREMIUM", Quantity: 3},
			[]domain.SKULicense{{SKU: "SPE_E3", Assigned: 10}, {SKU: "EMS", Assigned: 9_999_999}, {SKU: "O365_BUSINESS_PREMIUM", Assigned: 3}}, ""},
		{"past a SKU's limit", tenant, domain.LicenseOrder{SKU: "EMS", Quantity: 2}, nil, "tenant-license-limit"},
		{"past the SKU list's limit", many, domain.LicenseOrder{SKU: "NEW", Quantity: 1}, nil, "tenant-sku-limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.order.Apply(tt.t)
			if problem.As(err).Code != tt.reason && (tt.reason != "" || err != nil) {
				t.Fatalf("Apply: %v, want %q", err, tt.reason)
			}
			if tt.reason == "" && !slices.Equal(got, tt.want) {
				t.Errorf("licenses %v, want %v", got, tt.want)
			}
		})
	}
	if tenant.Licenses[0].Assigned != 10 {
		t.Errorf("Apply changed the tenant it read: %v", tenant.Licenses)
	}
}

func TestRequireApprovalForRules(t *testing.T) {
	tests := []struct {
		list   []domain.ApprovalAction
		fields []string
		norm   []domain.ApprovalAction
	}{
		{nil, nil, []domain.ApprovalAction{}},
		{[]domain.ApprovalAction{"change-authentication-settings", "delete-customer"}, nil,
			[]domain.ApprovalAction{"delete-customer", "change-authentication-settings"}},
		{[]domain.ApprovalAction{"license-order"}, []string{"requireApprovalFor[0]"}, nil},
		{[]domain.ApprovalAction{"remove-member", "delete-tenant", "remove-member"}, []string{"requireApprovalFor[1]", "requireApprovalFor[2]"}, nil},
	}
	for _, tt := range tests {
		var v problem.Validation
		domain.ValidateRequireApprovalFor(&v, tt.list)
		var got []string
		if pe := problem.As(v.Err()); v.Err() != nil {
			for _, f := range pe.Fields {
				got = append(got, f.Field)
			}
		}
		if !slices.Equal(got, tt.fields) {
			t.Errorf("%v: fields %v, want %v", tt.list, got, tt.fields)
		}
		if tt.fields == nil && !slices.Equal(domain.NormalizeRequireApprovalFor(tt.list), tt.norm) {
			t.Errorf("%v normalized %v, want %v", tt.list, domain.NormalizeRequireApprovalFor(tt.list), tt.norm)
		}
	}
}
