package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/switchboard-msp/switchboard/infra/devbus"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// meterOrgs is how many organizations the metering bench meters (BENCH_METER_ORGS).
const meterOrgs = 2000

// meterScale runs the metering schedule over meterOrgs organizations, each with a
// tenant and some API calls, on a table of their own, and prints the run's time and
// the DynamoDB capacity it consumed, with a projection to 100,000 organizations.
func (b *bench) meterScale(ctx context.Context) error {
	n := meterOrgs
	if v := os.Getenv("BENCH_METER_ORGS"); v != "" {
		fmt.Sscan(v, &n)
	}
	table := "bench-meter-" + domain.NewID()
	if err := store.EnsureTable(ctx, b.db, table); err != nil {
		return err
	}
	st := store.New(b.db, table)
	now := time.Now().UTC()
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range 16 {
		wg.Go(func() {
			for i := range work {
				if err := meterFixture(ctx, st, i, now); err != nil {
					mu.Lock()
					first = errors.Join(first, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if first != nil {
		return first
	}
	d := api.BaseDeps(st, "http://console.bench")
	bus := &devbus.Bus{}
	d.Events = bus
	units := &capacity{}
	globalCapacity.Store(units)
	start := time.Now()
	res, err := api.MeterUsage(ctx, d, now)
	took := time.Since(start)
	globalCapacity.Store(nil)
	if err != nil {
		return err
	}
	read, write := units.units()
	fmt.Printf("\nMetering schedule (meter-usage) over %d organizations\n", n)
	fmt.Printf("  one run:      %7.1f s  (%d records written, %d published, complete %v)\n", took.Seconds(), res.Written, res.Published, res.Complete)
	fmt.Printf("  DynamoDB:     %7.0f RRU %7.0f WRU  (%.2f RRU, %.2f WRU per organization; $%.4f per run)\n",
		read, write, read/float64(n), write/float64(n), costPerMillion(read, write)/1e6)
	scale := 100_000 / float64(n)
	fmt.Printf("  at 100,000:   ~%5.0f s on one invocation, %7.0f RRU %7.0f WRU per run (linear projection; docs/decisions.md, \"Metering at scale\")\n",
		took.Seconds()*scale, read*scale, write*scale)
	start = time.Now()
	again, err := api.MeterUsage(ctx, d, now)
	if err != nil {
		return err
	}
	fmt.Printf("  rerun:        %7.1f s  (%d written, %d already there: idempotent per period)\n", time.Since(start).Seconds(), again.Written, again.Existing)
	return nil
}

// meterFixture writes organization i: its owner, a tenant of 25 licensed users and
// three API calls this month.
func meterFixture(ctx context.Context, st *store.Store, i int, now time.Time) error {
	id := fmt.Sprintf("meter-%05d", i)
	u := domain.User{ID: id + "-owner", Email: id + "@bench.example", ActiveOrganizationID: id}
	if err := st.CreateUser(ctx, u); err != nil {
		return err
	}
	m := domain.Membership{OrganizationID: id, UserID: u.ID, Email: u.Email, Role: permission.Owner, TenantScope: domain.AllTenantsScope()}
	org := domain.Organization{ID: id, Name: "Bench " + id, Plan: domain.PlanFree, Profile: domain.NewProfile("Bench " + id)}
	if err := st.CreateOrganization(ctx, org, m, audit.Event{Category: audit.Settings, Action: "organization.create"}); err != nil {
		return err
	}
	t := domain.Tenant{ID: id + "-t", EntraTenantID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), PrimaryDomain: id + ".onmicrosoft.com",
		DisplayName: "Tenant " + id, LicensedUsers: 25, Health: "healthy"}
	if err := st.CreateTenant(ctx, id, t, audit.Event{Category: audit.Tenant, Action: "tenant.create"}); err != nil {
		return err
	}
	for range 3 {
		if _, err := st.CountAPICall(ctx, id, id, now); err != nil {
			return err
		}
	}
	return nil
}
