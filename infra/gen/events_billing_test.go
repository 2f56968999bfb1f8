package main

import (
	"maps"
	"net/http"
	"testing"
)

func init() { maps.Copy(eventCases, billingEventCases) }

var billingEventCases = map[string]eventCase{
	"billing-get": {status: http.StatusOK, check: func(t *testing.T, b map[string]any) {
		if b["plan"] != "free" || field(t, b, "limits", "managedTenants", "limit") != float64(5) {
			t.Errorf("billing %v", b)
		}
	}},
	"billing-plan-put": {status: http.StatusOK, check: func(t *testing.T, b map[string]any) {
		if b["plan"] != "professional" || field(t, b, "limits", "apiCallsPerMonth", "limit") != nil {
			t.Errorf("billing after the upgrade %v", b)
		}
	}},
	"usage-get": {status: http.StatusOK, check: func(t *testing.T, b map[string]any) {
		months, _ := field(t, b, "apiCalls", "months").([]any)
		if b["plan"] != "free" || len(months) != 6 {
			t.Errorf("usage %v", b)
		}
	}},
}
