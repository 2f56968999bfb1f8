import { useState, type ReactNode } from 'react';
import { Link, useLocation } from 'wouter';
import {
  Button,
  Menu,
  MenuItem,
  MenuSection,
  MenuTrigger,
  Header,
  Popover,
  Separator,
  Dialog,
  DialogTrigger,
  SearchField,
  Input,
  Label,
  ListBox,
  ListBoxItem,
} from 'react-aria-components';
import * as api from '../api';
import { useSession, type Session } from '../session';
import { Field, FormDialog, Loading, Pager, ProblemMessage, usePages } from './ui';
import { useLoad } from '../hooks';
import type { OrganizationAccess, SubOrganization } from '../types';
import type { Permission } from '../permissions';

// The sidebar's screens; need hides one from a role without the permission. Usage is
// everyone's, billing only theirs who manage it (seed 003: viewers never see billing).
const nav: { to: string; label: string | ((s: Session) => string); need?: Permission }[] = [
  { to: '/onboarding', label: 'Onboarding' },
  { to: '/customers', label: 'Customers' },
  { to: '/license-orders', label: 'License orders' },
  { to: '/approvals', label: 'Approvals', need: 'approve-requests' },
  { to: '/sub-organizations', label: 'Sub-organizations', need: 'manage-sub-organizations' },
  { to: '/platform-users', label: 'Platform users', need: 'manage-platform-users' },
  { to: '/connections', label: 'Connections' },
  { to: '/billing', label: (s) => (s.can('manage-billing') ? 'Usage and billing' : 'Usage') },
  { to: '/audit-log', label: 'Audit log', need: 'view-audit-log' },
  { to: '/settings', label: 'Settings' },
];

export function Layout({ children, onSignOut }: { children: ReactNode; onSignOut: () => void }) {
  const s = useSession();
  const [location] = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const visible = nav.filter((n) => !n.need || s.can(n.need) || s.role === 'Custom');
  return (
    <div className={`shell${menuOpen ? ' nav-open' : ''}`}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <aside className="sidebar" aria-label="Sidebar">
        <OrgSwitcher />
        <nav aria-label="Main">
          <ul>
            {visible.map((n) => (
              <li key={n.to}>
                <Link
                  href={n.to}
                  className={location.startsWith(n.to) ? 'nav-link active' : 'nav-link'}
                  aria-current={location.startsWith(n.to) ? 'page' : undefined}
                  onClick={() => setMenuOpen(false)}
                >
                  {typeof n.label === 'string' ? n.label : n.label(s)}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="sidebar-footer">
          <span className="who" title={s.me.user.email}>
            {s.me.user.name || s.me.user.email}
          </span>
          <Button className="btn btn-small" onPress={onSignOut}>
            Sign out
          </Button>
        </div>
      </aside>
      <div className="main-column">
        <header className="topbar">
          <Button className="btn btn-small menu-toggle" aria-expanded={menuOpen} onPress={() => setMenuOpen((o) => !o)}>
            Menu
          </Button>
          <span className="product">Switchboard</span>
          <span className="spacer" />
          {s.active && !s.active.parentId && s.can('manage-sub-organizations') && <SupportSelector />}
        </header>
        {s.support && <SupportBanner />}
        <main id="main" tabIndex={-1}>
          {s.active ? children : <NoOrganization />}
        </main>
      </div>
    </div>
  );
}

function NoOrganization() {
  return (
    <section>
      <h1>No organization</h1>
      <p>You are not a member of any organization you can enter now. Create one with the organization switcher.</p>
    </section>
  );
}

function Crown() {
  return (
    <svg className="icon crown" viewBox="0 0 16 16" aria-hidden="true">
      <path d="M2 12h12l1-8-4 3-3-5-3 5-4-3z" />
    </svg>
  );
}

function Check() {
  return (
    <svg className="icon check" viewBox="0 0 16 16" aria-hidden="true">
      <path d="M3 8.5l3 3 7-7" fill="none" strokeWidth="2" />
    </svg>
  );
}

// OrgSwitcher is seed 003's organization switcher at the top of the sidebar.
function OrgSwitcher() {
  const s = useSession();
  const [, navigate] = useLocation();
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [switchError, setSwitchError] = useState<unknown>(null);
  const orgs = s.me.organizations;
  const label = (o: OrganizationAccess) =>
    `${o.name}${o.owner ? ' (owner)' : `, ${o.role}`}${o.active ? ', active' : ''}`;
  return (
    <div className="org-switcher">
      <MenuTrigger>
        <Button className="org-button" aria-label={`Organization: ${s.active?.name ?? 'none'}. Switch organization`}>
          <span className="org-name">{s.active?.name ?? 'Choose an organization'}</span>
          {s.active && !s.active.owner && <span className="badge role">{s.active.role}</span>}
          <span aria-hidden="true">▾</span>
        </Button>
        <Popover className="popover" placement="bottom start">
          <Menu
            className="menu"
            aria-label="Organizations"
            onAction={async (key) => {
              setSwitchError(null);
              if (key === '__create') {
                setCreating(true);
                return;
              }
              try {
                await s.switchOrganization(String(key));
                navigate('/customers');
              } catch (e) {
                setSwitchError(e);
              }
            }}
          >
            <MenuSection>
              <Header className="menu-header">Organizations</Header>
              {orgs.map((o) => (
                <MenuItem key={o.id} id={o.id} className="menu-item" textValue={label(o)} aria-label={label(o)}>
                  <span className="menu-mark">{o.active ? <Check /> : null}</span>
                  <span className="menu-text">{o.name}</span>
                  {o.owner ? (
                    <span title="You own this organization">
                      <Crown />
                    </span>
                  ) : (
                    <span className="badge role">{o.role}</span>
                  )}
                </MenuItem>
              ))}
            </MenuSection>
            <Separator className="separator" />
            <MenuItem id="__create" className="menu-item create" textValue="Create New Organization">
              + Create New Organization
            </MenuItem>
          </Menu>
        </Popover>
      </MenuTrigger>
      <ProblemMessage error={switchError} />
      <FormDialog
        title="Create New Organization"
        submitLabel="Create Organization"
        isOpen={creating}
        onOpenChange={setCreating}
        onReset={() => setName('')}
        error={error}
        setError={setError}
        submit={async () => {
          const org = await api.post<{ id: string }>('/api/organizations', { name }, { orgId: null });
          // Seed 003: you are switched to the new organization.
          await s.switchOrganization(org.id);
          navigate('/settings');
        }}
      >
        <p>The new organization starts on the free plan with no resources. You become its Owner.</p>
        <Field label="Organization name" value={name} onChange={setName} isRequired autoFocus />
      </FormDialog>
    </div>
  );
}

// SupportSelector is seed 004's sub-organization selector at the top right: the MSP's
// own name by default; search or page through the sub-organizations, pick one.
function SupportSelector() {
  const s = useSession();
  const [, navigate] = useLocation();
  const [q, setQ] = useState('');
  const pages = usePages();
  const [reason, setReason] = useState('');
  const parent = s.active!;
  const { data, error, loading } = useLoad(
    (signal) =>
      api.get<api.Page<SubOrganization>>('/api/msp-admin/sub-organizations', {
        query: { q: q.trim(), cursor: pages.cursor, limit: 8 },
        orgId: parent.id,
        signal,
      }),
    [q, pages.cursor, parent.id],
  );
  return (
    <DialogTrigger>
      <Button className="btn support-button" aria-label={`Supporting: ${s.support ? s.support.name : parent.name}. Choose a sub-organization to support`}>
        <span className="support-label">Organization</span> {s.support ? s.support.name : parent.name} ▾
      </Button>
      <Popover className="popover support-popover" placement="bottom end">
        <Dialog className="support-dialog" aria-label="Support a sub-organization">
          {({ close }) => (
            <div>
              <SearchField className="field" value={q} onChange={(v) => {
                  setQ(v);
                  pages.reset();
                }} autoFocus>
                <Label>Search sub-organizations</Label>
                <Input placeholder="Company name" />
              </SearchField>
              <Field label="Reason (optional, recorded in the audit log)" value={reason} onChange={setReason} />
              <ProblemMessage error={error} />
              {loading && <Loading what="sub-organizations" />}
              <ListBox
                className="listbox"
                aria-label="Sub-organizations"
                selectionMode="single"
                onAction={(key) => {
                  if (key === parent.id) {
                    s.stopSupport();
                  } else {
                    const sub = data?.items.find((i) => i.id === key);
                    if (!sub) return;
                    s.startSupport({ id: sub.id, name: sub.companyName, parentId: parent.id, parentName: parent.name, reason: reason.trim() });
                  }
                  close();
                  navigate('/customers');
                }}
              >
                <ListBoxItem id={parent.id} className="listbox-item" textValue={parent.name}>
                  {parent.name} <span className="muted">(your organization)</span>
                </ListBoxItem>
                {(data?.items ?? []).map((o) => (
                  <ListBoxItem key={o.id} id={o.id} className="listbox-item" textValue={o.companyName}>
                    {o.companyName}
                  </ListBoxItem>
                ))}
              </ListBox>
              {data && data.items.length === 0 && <p className="muted">No sub-organization matches.</p>}
              <Pager pages={pages} nextCursor={data?.nextCursor} labels={['Previous', 'Next']} />
            </div>
          )}
        </Dialog>
      </Popover>
    </DialogTrigger>
  );
}

function SupportBanner() {
  const s = useSession();
  const [, navigate] = useLocation();
  const sup = s.support!;
  return (
    <div className="support-banner" role="status">
      <span>
        You are supporting <strong>{sup.name}</strong> on behalf of {sup.parentName}. Everything you do here is recorded in its audit log
        {sup.reason ? ` (reason: ${sup.reason})` : ''}.
      </span>
      <Button
        className="btn btn-small"
        onPress={() => {
          s.stopSupport();
          navigate('/sub-organizations');
        }}
      >
        Return to {sup.parentName}
      </Button>
    </div>
  );
}
