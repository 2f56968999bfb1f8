import { useState } from 'react';
import { Link } from 'wouter';
import * as api from '../api';
import { ApiError } from '../api';
import { useLoad } from '../hooks';
import { useSession } from '../session';
import type { Billing as BillingData, Plan, UsageSummary } from '../types';
import { DataTable, GuardedButton, Loading, Notice, Pager, ProblemMessage, Stat, formatDate, usePages } from '../components/ui';

const planNames: Record<Plan, string> = { free: 'Free', professional: 'Professional' };

const metricNames: Record<string, string> = {
  customers: 'Customers',
  managedTenants: 'Managed tenants',
  connections: 'Connections',
  subOrganizations: 'Sub-organizations',
  apiCallsPerMonth: 'API calls this month',
};

const count = (n: number) => n.toLocaleString();
const limitText = (n: number | null) => (n === null ? 'Unlimited' : count(n));

// monthName turns "2026-11" into "November 2026".
function monthName(m: string): string {
  const [y, mo] = m.split('-').map(Number);
  return new Date(Date.UTC(y, mo - 1, 1)).toLocaleDateString(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' });
}

// Usage and billing: seed 000's usage summary for everyone who views data, and the plan,
// its limits and the billing contact for those who manage billing. Viewers never see
// billing (seed 003): the section is not rendered for them, and the API refuses it too.
export function Billing() {
  const s = useSession();
  const showBilling = s.can('manage-billing');
  return (
    <section>
      <h1>{showBilling ? 'Usage and billing' : 'Usage'}</h1>
      <UsageSection />
      {showBilling && <BillingSection />}
    </section>
  );
}

function UsageSection() {
  const s = useSession();
  const pages = usePages();
  const u = useLoad(
    (signal) => api.get<UsageSummary>('/api/msp-portal/usage', { query: { cursor: pages.cursor }, signal }),
    [s.orgId, pages.cursor],
  );
  if (u.error) return <ProblemMessage error={u.error} onRetry={u.reload} />;
  if (!u.data) return <Loading what="usage" />;
  const d = u.data;
  const months = d.apiCalls.months;
  // Newest first: this month, then the previous one.
  const previous = months[1];
  const unlimited = d.apiCalls.limit === null;
  return (
    <>
      <h2>Usage Summary</h2>
      <p className="muted">Monitor your platform consumption.</p>
      <div className="cards">
        <Stat label="Managed Users" value={count(d.managedUsers)} />
        <Stat label="Managed Tenants" value={count(d.managedTenants)} />
        <Stat label="API Calls this month" value={count(d.apiCalls.thisMonth)} />
        <Stat label="API Calls last month" value={previous ? count(previous.calls) : '—'} />
      </div>
      <DataTable
        caption="Usage summary"
        rowKey={(r) => r.metric}
        empty=""
        rows={[
          { metric: 'Managed Users', description: 'Total users across all connected tenants', value: count(d.managedUsers) },
          { metric: 'Managed Tenants', description: 'Number of connected customer tenants', value: count(d.managedTenants) },
          {
            metric: 'API Calls',
            description: 'Monthly API usage (unlimited on Professional plan)',
            value: unlimited ? `${count(d.apiCalls.thisMonth)} (unlimited)` : `${count(d.apiCalls.thisMonth)} of ${count(d.apiCalls.limit!)}`,
          },
        ]}
        columns={[
          { header: 'Metric', cell: (r) => r.metric },
          { header: 'Description', cell: (r) => r.description },
          { header: 'This month', num: true, cell: (r) => r.value },
        ]}
      />
      <h3>API calls by month</h3>
      <DataTable
        caption="API calls by month, newest first"
        rowKey={(m) => m.month}
        empty="No API calls yet."
        rows={months}
        columns={[
          { header: 'Month', cell: (m) => monthName(m.month) },
          { header: 'API calls', num: true, cell: (m) => count(m.calls) },
        ]}
      />
      {(d.subOrganizations?.length || pages.hasPrevious) && (
        <>
          <h3>By sub-organization</h3>
          <DataTable
            caption="Usage by sub-organization"
            rowKey={(o) => o.id}
            empty="No sub-organizations on this page."
            rows={d.subOrganizations ?? []}
            columns={[
              { header: 'Sub-organization', cell: (o) => o.name },
              { header: 'Managed users', num: true, cell: (o) => count(o.managedUsers) },
              { header: 'Managed tenants', num: true, cell: (o) => count(o.managedTenants) },
              { header: 'Customers', num: true, cell: (o) => count(o.customers) },
              { header: 'API calls this month', num: true, cell: (o) => count(o.apiCallsThisMonth) },
            ]}
          />
          <Pager pages={pages} nextCursor={d.nextCursor} />
        </>
      )}
    </>
  );
}

function BillingSection() {
  const s = useSession();
  const b = useLoad((signal) => api.get<BillingData>('/api/billing', { signal }), [s.orgId]);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState<Plan | null>(null);
  // A Custom role without "manage billing" is refused by the API: no section then.
  if (b.error instanceof ApiError && b.error.status === 403) return null;
  if (b.error) return <ProblemMessage error={b.error} onRetry={b.reload} />;
  if (!b.data) return <Loading what="billing" />;
  const d = b.data;
  // A sub-organization (also while supporting one) is on its parent's plan.
  const inherited = !!d.billedTo;
  const change = async (plan: Plan) => {
    setError(null);
    setNotice('');
    setBusy(plan);
    try {
      b.setData(await api.put<BillingData>('/api/billing/plan', { plan }));
      setNotice(`You are now on the ${planNames[plan]} plan.`);
      await s.reload(); // the organization switcher shows the plan too
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  const limits = Object.entries(d.limits).map(([metric, l]) => ({ metric, ...l }));
  return (
    <>
      <h2>Plan</h2>
      <p>
        This organization is on the <strong>{planNames[d.plan]}</strong> plan
        {inherited ? ", its parent organization's plan, which the parent changes" : ''}. Billing period: {formatDate(d.periodStart)} to{' '}
        {formatDate(d.periodEnd)}.
      </p>
      <DataTable
        caption="Plan limits and current usage"
        rowKey={(l) => l.metric}
        empty=""
        rows={limits}
        columns={[
          { header: 'Limit', cell: (l) => metricNames[l.metric] ?? l.metric },
          { header: 'Used', num: true, cell: (l) => count(l.used) },
          { header: 'Allowed', num: true, cell: (l) => limitText(l.limit) },
          { header: 'Status', cell: (l) => (l.limit !== null && l.used >= l.limit ? <span className="badge health-warning">At the limit</span> : 'Within the limit') },
        ]}
      />
      {!inherited && (
        <div className="actions">
          {d.plans
            .filter((p) => p !== d.plan)
            .map((p) => (
              <GuardedButton key={p} need="manage-billing" className={p === 'professional' ? 'btn btn-primary' : 'btn'} isPending={busy === p} onPress={() => change(p)}>
                {p === 'professional' ? `Upgrade to ${planNames[p]}` : `Downgrade to ${planNames[p]}`}
              </GuardedButton>
            ))}
        </div>
      )}
      <Notice text={notice} />
      <PlanProblem error={error} />
      <h2>Billing Contact</h2>
      <p className="muted">Receives invoice notifications, payment confirmations and billing-related alerts.</p>
      <dl className="details">
        <dt>Name</dt>
        <dd>{d.billingContact.name || '—'}</dd>
        <dt>Email</dt>
        <dd>{d.billingContact.email || '—'}</dd>
        <dt>Phone</dt>
        <dd>{d.billingContact.phone || '—'}</dd>
      </dl>
      <p>
        <Link href="/settings">Change the billing contact in Settings</Link>
      </p>
    </>
  );
}

interface Excess {
  metric: string;
  limit: number;
  used: number;
  remove: number;
}

// PlanProblem says a refused downgrade in words: each limit that current usage is over,
// and how many to remove first. Other problems are shown as any other.
export function PlanProblem({ error }: { error: unknown }) {
  if (!(error instanceof ApiError) || error.code !== 'plan-limit' || !Array.isArray(error.problem.over)) return <ProblemMessage error={error} />;
  const plan = String(error.problem.plan ?? '');
  return (
    <div role="alert" className="problem">
      <strong>The {planNames[plan as Plan] ?? plan} plan's limits are below what you use now</strong>
      <p>Remove these first, then change the plan again:</p>
      <ul>
        {(error.problem.over as Excess[]).map((e) => (
          <li key={e.metric}>
            {metricNames[e.metric] ?? e.metric}: {count(e.used)} in use, the plan allows {count(e.limit)}. Remove {count(e.remove)}.
          </li>
        ))}
      </ul>
    </div>
  );
}
