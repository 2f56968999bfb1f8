import { useState } from 'react';
import { Link, Redirect, Route, Switch, useLocation } from 'wouter';
import { Button } from 'react-aria-components';
import * as api from '../api';
import { useLoad } from '../hooks';
import type { Ticket, TrainingAssignment } from '../types';
import { CompanyUsers, companyRoleWords } from '../components/CompanyUsers';
import { DataTable, Field, FormDialog, HealthBadge, LoadedTable, Loading, Notice, ProblemMessage, SelectField, Stat, fieldErrorOf, formatDate } from '../components/ui';
import { PENDING_PORTAL_INVITATION, portalGet, type PortalAccount, type PortalDashboard } from './account';

// What each company role sees (seed 002): Admin and Manager the dashboard and the users
// (the Admin manages them), all but Training Only the tickets, everyone their training.
const screens: { to: string; label: string; roles: PortalAccount['role'][] }[] = [
  { to: '/portal/dashboard', label: 'Dashboard', roles: ['Admin', 'Manager'] },
  { to: '/portal/tickets', label: 'Tickets', roles: ['Admin', 'Manager', 'User'] },
  { to: '/portal/users', label: 'Users', roles: ['Admin', 'Manager'] },
  { to: '/portal/training', label: 'Training', roles: ['Admin', 'Manager', 'User', 'Training Only'] },
];

// PortalApp is the client portal: company users' own layout and screens, in the same
// build as the MSP console but sharing none of its screens.
export function PortalApp({ account, onSignOut }: { account: PortalAccount; onSignOut: () => void }) {
  const [location] = useLocation();
  const mine = screens.filter((s) => s.roles.includes(account.role));
  return (
    <div className="portal-shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="portal-top">
        <span className="product">{account.companyName ? `${account.companyName} · Client portal` : 'Client portal'}</span>
        <nav aria-label="Portal">
          <ul>
            {mine.map((s) => (
              <li key={s.to}>
                <Link href={s.to} className={location.startsWith(s.to) ? 'nav-link active' : 'nav-link'} aria-current={location.startsWith(s.to) ? 'page' : undefined}>
                  {s.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <span className="spacer" />
        <span className="who" title={account.email}>
          {account.name || account.email} <span className="badge role">{account.role}</span>
        </span>
        <Button className="btn btn-small" onPress={onSignOut}>
          Sign out
        </Button>
      </header>
      <main id="main" tabIndex={-1}>
        <Switch>
          <Route path="/portal/dashboard">{mine.some((s) => s.to === '/portal/dashboard') ? <Dashboard /> : <NotForRole />}</Route>
          <Route path="/portal/tickets">{mine.some((s) => s.to === '/portal/tickets') ? <Tickets /> : <NotForRole />}</Route>
          <Route path="/portal/users">{mine.some((s) => s.to === '/portal/users') ? <Users account={account} /> : <NotForRole />}</Route>
          <Route path="/portal/training" component={Training} />
          <Route>
            <Redirect to={mine[0].to} replace />
          </Route>
        </Switch>
      </main>
    </div>
  );
}

function NotForRole() {
  return (
    <section>
      <h1>Not available</h1>
      <p>Your company role does not include this screen. Pick one in the menu above, or ask your company's portal Admin.</p>
    </section>
  );
}

function Dashboard() {
  const d = useLoad((signal) => portalGet<PortalDashboard>('/api/portal/dashboard', { signal }), []);
  if (d.error) return <ProblemMessage error={d.error} onRetry={d.reload} />;
  if (!d.data) return <Loading what="the dashboard" />;
  const v = d.data;
  return (
    <section>
      <h1>{v.companyName} dashboard</h1>
      <div className="cards">
        <Stat label="Tenants" value={v.tenants.length} />
        <Stat label="Users" value={v.userCount} />
        <Stat label="Open tickets" value={v.openTicketCount} />
        <Stat label="All tickets" value={v.ticketCount} />
      </div>
      <h2>Microsoft 365 tenants</h2>
      <DataTable
        caption="Your company's Microsoft 365 tenants"
        rows={v.tenants}
        rowKey={(t) => t.id}
        empty="Your IT provider has not connected a Microsoft 365 tenant yet."
        columns={[
          { header: 'Tenant', cell: (t) => t.displayName },
          { header: 'Primary domain', cell: (t) => t.primaryDomain },
          { header: 'Licensed users', num: true, cell: (t) => t.licensedUsers },
          { header: 'Health', cell: (t) => <HealthBadge health={t.health} /> },
        ]}
      />
    </section>
  );
}

const priorities = ['low', 'normal', 'high', 'urgent'];
const statusWords: Record<string, string> = { open: 'Open', 'in-progress': 'In progress', waiting: 'Waiting', resolved: 'Resolved', closed: 'Closed' };

function Tickets() {
  const list = useLoad((signal) => portalGet<api.Page<Ticket>>('/api/portal/tickets', { query: { limit: 100 }, signal }), []);
  const [adding, setAdding] = useState(false);
  const [subject, setSubject] = useState('');
  const [description, setDescription] = useState('');
  const [priority, setPriority] = useState('normal');
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  return (
    <section>
      <div className="page-head">
        <h1>Support tickets</h1>
        <div className="actions">
          <Button className="btn btn-primary" onPress={() => setAdding(true)}>
            Submit a Ticket
          </Button>
        </div>
      </div>
      <p className="muted">Your company's tickets with your IT provider, newest first.</p>
      <Notice text={notice} />
      <LoadedTable
        list={list}
        what="tickets"
        caption="Your company's tickets, newest first"
        rowKey={(t) => t.id}
        empty="No tickets yet. Submit one when you need help."
        columns={[
          { header: 'Subject', cell: (t) => t.subject },
          { header: 'Status', cell: (t) => <span className="badge">{statusWords[t.status] ?? t.status}</span> },
          { header: 'Priority', cell: (t) => t.priority },
          { header: 'Submitted', cell: (t) => formatDate(t.createdAt) },
          { header: 'Last update', cell: (t) => formatDate(t.updatedAt ?? t.createdAt) },
        ]}
      />
      <FormDialog
        title="Submit a Ticket"
        submitLabel="Submit Ticket"
        isOpen={adding}
        onOpenChange={setAdding}
        onReset={() => {
          setSubject('');
          setDescription('');
          setPriority('normal');
        }}
        error={error}
        setError={setError}
        submit={async () => {
          const t = await api.post<Ticket>('/api/portal/tickets', { subject, description, priority }, { orgId: null });
          setNotice(`Your ticket "${t.subject}" was submitted. Your IT provider will follow it up here.`);
          list.reload();
        }}
      >
        <Field label="Subject" value={subject} onChange={setSubject} isRequired autoFocus errorMessage={fieldErrorOf(error, 'subject')} />
        <Field label="Description" multiline value={description} onChange={setDescription} errorMessage={fieldErrorOf(error, 'description')} description="What happened, and what you expected." />
        <SelectField label="Priority" options={priorities.map((p) => ({ id: p, label: p }))} value={priority} onChange={setPriority} />
      </FormDialog>
    </section>
  );
}

function Users({ account }: { account: PortalAccount }) {
  return (
    <section>
      <h1>Users</h1>
      <p className="muted">
        {account.role === 'Admin'
          ? "Your company's users of the client portal. You can add them, change their role and turn portal access on or off; your own account is changed by your IT provider."
          : "Your company's users of the client portal. Your company's portal Admin manages them."}
      </p>
      <dl className="details">
        {Object.entries(companyRoleWords).map(([role, words]) => (
          <div key={role} style={{ display: 'contents' }}>
            <dt>{role}</dt>
            <dd>{words}</dd>
          </div>
        ))}
      </dl>
      <CompanyUsers path="/api/portal/users" caption="Your company's users" canManage={account.role === 'Admin'} />
    </section>
  );
}

function Training() {
  const list = useLoad((signal) => portalGet<{ items: TrainingAssignment[] }>('/api/portal/training', { signal }), []);
  return (
    <section>
      <h1>Training</h1>
      <p className="muted">The courses your IT provider assigned to you.</p>
      <LoadedTable
        list={list}
        what="your training"
        caption="Your training courses"
        rowKey={(t) => t.id}
        empty="No training assigned to you yet."
        columns={[
          {
            header: 'Course',
            cell: (t) =>
              t.url ? (
                <a href={t.url} target="_blank" rel="noreferrer noopener">
                  {t.course}
                </a>
              ) : (
                t.course
              ),
          },
          { header: 'Due', cell: (t) => formatDate(t.dueAt) },
          { header: 'Assigned', cell: (t) => formatDate(t.assignedAt) },
        ]}
      />
    </section>
  );
}

// PortalAccept takes a portal invitation's link: the signed-in person accepts it (their
// email must be the invited one) and enters the portal.
export function PortalAccept({ onAccepted }: { onAccepted: (a: PortalAccount) => void }) {
  const [, navigate] = useLocation();
  const token = new URLSearchParams(window.location.search).get('token') || sessionStorage.getItem(PENDING_PORTAL_INVITATION) || '';
  const [joined, setJoined] = useState<PortalAccount | null>(null);
  const r = useLoad(async () => {
    if (!token) throw new Error('This link has no invitation in it. Open the link from the invitation email again.');
    const out = await api.post<{ companyName: string; user: { email: string; name: string; role: PortalAccount['role'] } }>(
      '/api/portal/invitations/accept',
      { token },
      { orgId: null, idempotent: false },
    );
    sessionStorage.removeItem(PENDING_PORTAL_INVITATION);
    const a: PortalAccount = { email: out.user.email, name: out.user.name, role: out.user.role, companyName: out.companyName };
    setJoined(a);
    return a;
  }, [token]);
  return (
    <main id="main" className="sign-in">
      <div className="card sign-in-card">
        <h1>Client portal invitation</h1>
        {r.loading && <Loading what="your invitation" />}
        <ProblemMessage error={r.error} />
        {joined && (
          <>
            <p role="status">
              You now have access to the client portal of {joined.companyName} as {joined.role}.
            </p>
            <Button
              className="btn btn-primary"
              autoFocus
              onPress={() => {
                onAccepted(joined);
                navigate('/portal', { replace: true });
              }}
            >
              Continue
            </Button>
          </>
        )}
      </div>
    </main>
  );
}
