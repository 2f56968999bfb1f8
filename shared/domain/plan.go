package domain

import (
	"fmt"
	"slices"
	"time"
)

// Plans an organization can be on, written as DESIGN.md's contract writes them.
const (
	PlanFree         = "free"
	PlanProfessional = "professional"
)

// Metric names one limited kind of usage: the names the API's limits and plan-limit
// problems use.
type Metric string

// The limited metrics (seed 003: members and invitations are not limited).
const (
	MetricCustomers        Metric = "customers"
	MetricManagedTenants   Metric = "managedTenants"
	MetricConnections      Metric = "connections"
	MetricSubOrganizations Metric = "subOrganizations"
	MetricAPICalls         Metric = "apiCallsPerMonth"
)

// Metrics lists the limited metrics in the order the API shows them.
func Metrics() []Metric {
	return []Metric{MetricCustomers, MetricManagedTenants, MetricConnections, MetricSubOrganizations, MetricAPICalls}
}

// Unlimited is the limit of a metric a plan does not cap.
const Unlimited int64 = -1

// Limits are a plan's caps, Unlimited where it has none.
type Limits struct {
	Customers        int64
	ManagedTenants   int64
	Connections      int64
	SubOrganizations int64
	APICallsPerMonth int64
}

// Of returns the limit of one metric.
func (l Limits) Of(m Metric) int64 {
	switch m {
	case MetricCustomers:
		return l.Customers
	case MetricManagedTenants:
		return l.ManagedTenants
	case MetricConnections:
		return l.Connections
	case MetricSubOrganizations:
		return l.SubOrganizations
	case MetricAPICalls:
		return l.APICallsPerMonth
	}
	return Unlimited
}

// Plan is one plan: the single place its limits and its audit retention are defined.
type Plan struct {
	Name           string
	Limits         Limits
	AuditRetention time.Duration
}

// plans are the plans on offer, cheapest first. A new organization starts on the
// first (seed 003: "it starts on the free tier").
var plans = []Plan{
	{Name: PlanFree, AuditRetention: 90 * 24 * time.Hour, Limits: Limits{
		Customers: 50, ManagedTenants: 5, Connections: 2, SubOrganizations: 2, APICallsPerMonth: 5_000}},
	{Name: PlanProfessional, AuditRetention: 365 * 24 * time.Hour, Limits: Limits{
		Customers: 25_000, ManagedTenants: 5_000, Connections: 50, SubOrganizations: 1_000, APICallsPerMonth: Unlimited}},
}

// DefaultPlan is the plan a new organization starts on.
const DefaultPlan = PlanFree

// PlanNames lists the plans' names, cheapest first.
func PlanNames() []string {
	out := make([]string, len(plans))
	for i, p := range plans {
		out[i] = p.Name
	}
	return out
}

// LookupPlan returns the named plan; ok is false for an unknown name.
func LookupPlan(name string) (Plan, bool) {
	i := slices.IndexFunc(plans, func(p Plan) bool { return p.Name == name })
	if i < 0 {
		return Plan{}, false
	}
	return plans[i], true
}

// PlanOf returns the named plan, the default plan for an unknown or empty name (an
// organization written before plans were stored).
func PlanOf(name string) Plan {
	if p, ok := LookupPlan(name); ok {
		return p
	}
	p, _ := LookupPlan(DefaultPlan)
	return p
}

// AuditRetention is how long an organization's audit events are kept on plan. An
// unknown plan keeps the default plan's. A sub-organization is on its parent's plan.
func AuditRetention(plan string) time.Duration { return PlanOf(plan).AuditRetention }

// Within reports whether used fits under limit.
func Within(used, limit int64) bool { return limit == Unlimited || used <= limit }

// Excess is one metric whose usage is above a plan's limit: what a downgrade needs
// removed first.
type Excess struct {
	Metric Metric `json:"metric"`
	Limit  int64  `json:"limit"`
	Used   int64  `json:"used"`
	Remove int64  `json:"remove"`
}

func (e Excess) String() string {
	return fmt.Sprintf("%s: %d in use, the limit is %d; remove %d", e.Metric, e.Used, e.Limit, e.Remove)
}

// Over lists the metrics of used above the limits of p, in Metrics order. The API
// calls of the month are left out: they are not removable and only throttle.
func (p Plan) Over(used map[Metric]int64) []Excess {
	var out []Excess
	for _, m := range Metrics() {
		if m == MetricAPICalls {
			continue
		}
		if lim := p.Limits.Of(m); !Within(used[m], lim) {
			out = append(out, Excess{Metric: m, Limit: lim, Used: used[m], Remove: used[m] - lim})
		}
	}
	return out
}

// MonthStart is the first instant of t's month, UTC: API calls count per calendar month.
func MonthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// MonthKey names t's month, UTC: "2026-11".
func MonthKey(t time.Time) string { return t.UTC().Format("2006-01") }
