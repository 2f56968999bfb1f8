package domain_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

func TestPSAStatusMapIn(t *testing.T) {
	at := domain.DefaultPSAStatuses(domain.PSAAutotask)
	cw := domain.DefaultPSAStatuses(domain.PSAConnectWise)
	custom := domain.PSAStatusMap{"open": "10", "in-progress": "10", "waiting": "11", "resolved": "12", "closed": "13"}
	cases := []struct {
		name      string
		m         domain.PSAStatusMap
		v, cur    string
		want      string
		wantKnown bool
	}{
		{"shared value keeps the current status", at, "5", "closed", "closed", true},
		{"shared value, first in workflow order", at, "5", "open", "resolved", true},
		{"names compare without case", cw, "waiting customer", "open", "waiting", true},
		{"unknown vendor status leaves it", cw, "Escalated", "in-progress", "in-progress", false},
		{"empty is unknown", at, "", "open", "open", false},
		{"custom map", custom, "11", "open", "waiting", true},
		{"custom map, shared value", custom, "10", "in-progress", "in-progress", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, known := c.m.In(c.v, c.cur)
			if got != c.want || known != c.wantKnown {
				t.Errorf("In(%q, %q) = %q, %v; want %q, %v", c.v, c.cur, got, known, c.want, c.wantKnown)
			}
		})
	}
}

func TestPSAPriorityMaps(t *testing.T) {
	cases := []struct {
		vendor, priority, want string
	}{
		{domain.PSAConnectWise, "urgent", "Priority 1 - Emergency Response"},
		{domain.PSAConnectWise, "low", "Priority 4 - Schedule Maintenance"},
		{domain.PSAAutotask, "normal", "2"},
		{domain.PSAAutotask, "urgent", "4"},
		{domain.PSAHaloPSA, "high", "2"},
		{domain.PSAHaloPSA, "low", "4"},
	}
	for _, c := range cases {
		t.Run(c.vendor+" "+c.priority, func(t *testing.T) {
			m := domain.DefaultPSAPriorities(c.vendor)
			if got := m.Out(c.priority); got != c.want {
				t.Errorf("Out(%s) = %q, want %q", c.priority, got, c.want)
			}
			if back, ok := m.In(c.want, "normal"); !ok || back != c.priority {
				t.Errorf("In(%q) = %q, %v; want %s", c.want, back, ok, c.priority)
			}
		})
	}
	for _, v := range []string{domain.PSAConnectWise, domain.PSAAutotask, domain.PSAHaloPSA} {
		var val problem.Validation
		domain.ValidatePSAMap(&val, v, "ticketStatusMap", domain.DefaultPSAStatuses(v), domain.TicketStatuses())
		domain.ValidatePSAMap(&val, v, "ticketPriorityMap", domain.DefaultPSAPriorities(v), domain.TicketPriorities())
		if err := val.Err(); err != nil {
			t.Errorf("%s defaults are not valid: %v", v, err)
		}
	}
}

func TestValidatePSAMap(t *testing.T) {
	statuses := func(v string) map[string]string {
		return map[string]string{"open": v, "in-progress": v, "waiting": v, "resolved": v, "closed": v}
	}
	with := func(m map[string]string, k, v string) map[string]string { m[k] = v; return m }
	without := func(m map[string]string, k string) map[string]string { delete(m, k); return m }
	cases := []struct {
		name, vendor string
		m            map[string]string
		want         []string
	}{
		{"connectwise names", domain.PSAConnectWise, statuses("New"), nil},
		{"autotask ids", domain.PSAAutotask, statuses("7"), nil},
		{"halopsa ids", domain.PSAHaloPSA, statuses("21"), nil},
		{"a status missing", domain.PSAConnectWise, without(statuses("New"), "waiting"), []string{"m.waiting"}},
		{"an unknown key", domain.PSAHaloPSA, with(statuses("1"), "parked", "1"), []string{"m.parked"}},
		{"a name for autotask", domain.PSAAutotask, with(statuses("1"), "closed", "Complete"), []string{"m.closed"}},
		{"zero", domain.PSAHaloPSA, with(statuses("1"), "open", "0"), []string{"m.open"}},
		{"negative", domain.PSAAutotask, with(statuses("1"), "open", "-3"), []string{"m.open"}},
		{"beyond 32 bits", domain.PSAAutotask, with(statuses("1"), "open", "4294967296"), []string{"m.open"}},
		{"an empty name", domain.PSAConnectWise, with(statuses("New"), "open", ""), []string{"m.open"}},
		{"surrounding spaces", domain.PSAConnectWise, with(statuses("New"), "open", " New"), []string{"m.open"}},
		{"a name over 50", domain.PSAConnectWise, with(statuses("New"), "open", string(make([]byte, 51))), []string{"m.open"}},
		{"two wrong, in order", domain.PSAAutotask, with(with(statuses("1"), "waiting", "x"), "open", "y"), []string{"m.open", "m.waiting"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var v problem.Validation
			domain.ValidatePSAMap(&v, c.vendor, "m", c.m, domain.TicketStatuses())
			var got []string
			var pe *problem.Error
			if err := v.Err(); errors.As(err, &pe) {
				for _, f := range pe.Fields {
					got = append(got, f.Field)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("fields %v, want %v", got, c.want)
			}
		})
	}
}
