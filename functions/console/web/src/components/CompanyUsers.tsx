import { useState, type ReactNode } from 'react';
import { Checkbox, Switch } from 'react-aria-components';
import * as api from '../api';
import { useAction, useLoad } from '../hooks';
import { companyRoles, type CompanyUser } from '../types';
import { Field, FormDialog, GuardedButton, InlineSelect, ListPanel, SelectField, fieldErrorOf, formatDate } from './ui';

// The client portal's routes belong to no organization: they go without one.
const portalOrg = (path: string) => (path.startsWith('/api/portal/') ? null : undefined);

const emptyUser = { email: '', name: '', jobTitle: '', role: 'User', portalAccess: false };

const portalStatusWords: Record<CompanyUser['portalStatus'], string> = {
  off: 'Off',
  invited: 'Invited',
  'email-failed': 'Invitation email failed',
  active: 'Active',
};

// CompanyUsers is seed 002's company users of one customer: the people at the client who
// may use the client portal, with their company role and portal access. The MSP manages
// them on the customer's Users tab (path …/customers/{id}/users), a company's Admin in the
// client portal (/api/portal/users); both routes take the same bodies.
export function CompanyUsers({
  path,
  caption,
  canManage,
  importButton,
}: {
  path: string;
  caption: string;
  canManage: boolean;
  importButton?: (reload: () => void) => ReactNode;
}) {
  const list = useLoad((signal) => api.get<api.Page<CompanyUser>>(path, { query: { limit: 100 }, orgId: portalOrg(path), signal }), [path]);
  const [adding, setAdding] = useState(false);
  const [form, setForm] = useState(emptyUser);
  const [error, setError] = useState<unknown>(null);
  const row = useAction(list.reload);
  const set = (k: 'email' | 'name' | 'jobTitle') => (v: string) => setForm((f) => ({ ...f, [k]: v }));
  const userPath = (u: CompanyUser) => `${path}/${encodeURIComponent(u.id)}`;
  // A PUT sends the whole user with its version: a concurrent change is a 409, not lost.
  const update = (u: CompanyUser, change: Partial<CompanyUser>) =>
    row.run(() => api.put(userPath(u), { email: u.email, name: u.name, jobTitle: u.jobTitle, role: u.role, portalAccess: u.portalAccess, version: u.version, ...change }, { orgId: portalOrg(path) }));
  const editable = canManage;
  return (
    <>
      <ListPanel
        need="manage-users"
        allowed={canManage}
        addLabel="Add User"
        onAdd={() => setAdding(true)}
        extra={importButton?.(list.reload)}
        rowError={row.error}
        list={list}
        caption={caption}
        rowKey={(u) => u.id}
        empty="No company users yet. Add the people at this client who use the client portal, or import them from a CSV file."
        columns={[
          { header: 'Name', cell: (u) => u.name },
          { header: 'Email', cell: (u) => u.email },
          { header: 'Job title', cell: (u) => u.jobTitle || '—' },
          {
            header: 'Role',
            cell: (u) => (
              <InlineSelect label={`Role of ${u.name}`} editable={editable} options={companyRoles} value={u.role} onChange={(role) => update(u, { role: role as CompanyUser['role'] })} />
            ),
          },
          {
            header: 'Portal access',
            cell: (u) =>
              editable ? (
                <Switch className="switch" isSelected={u.portalAccess} onChange={(on) => update(u, { portalAccess: on })} aria-label={`Portal access of ${u.name}`}>
                  <span className="track" aria-hidden="true" />
                  <PortalStatus user={u} />
                </Switch>
              ) : (
                <PortalStatus user={u} />
              ),
          },
          {
            header: 'Actions',
            hideHeader: true,
            cell: (u) => (
              <GuardedButton
                need="manage-users"
                allowed={canManage}
                className="btn btn-small"
                aria-label={`Remove ${u.name}`}
                onPress={() => window.confirm(`Remove ${u.name}? Their portal access ends at once.`) && row.run(() => api.del(userPath(u), { orgId: portalOrg(path) }))}
              >
                Remove
              </GuardedButton>
            ),
          },
        ]}
      />
      {importButton && (
        <p className="muted">CSV columns: Email (required), Name, Job Title, Role, External ID. A file imported again updates the users it names.</p>
      )}
      <FormDialog
        title="Add User"
        submitLabel="Add User"
        isOpen={adding}
        onOpenChange={setAdding}
        onReset={() => setForm(emptyUser)}
        error={error}
        setError={setError}
        submit={async () => {
          await api.post(path, form, { orgId: portalOrg(path) });
          list.reload();
        }}
      >
        <Field label="Email" type="email" value={form.email} onChange={set('email')} isRequired errorMessage={fieldErrorOf(error, 'email')} />
        <Field label="Name" value={form.name} onChange={set('name')} isRequired errorMessage={fieldErrorOf(error, 'name')} />
        <Field label="Job title" value={form.jobTitle} onChange={set('jobTitle')} errorMessage={fieldErrorOf(error, 'jobTitle')} />
        <SelectField
          label="Role"
          options={companyRoles.map((r) => ({ id: r, label: r, detail: companyRoleWords[r] }))}
          value={form.role}
          onChange={(role) => setForm((f) => ({ ...f, role }))}
        />
        <Checkbox className="checkbox" isSelected={form.portalAccess} onChange={(portalAccess) => setForm((f) => ({ ...f, portalAccess }))}>
          <span className="box" aria-hidden="true" />
          Portal access: email them an invitation to the client portal
        </Checkbox>
      </FormDialog>
    </>
  );
}

// Seed 002's company roles.
export const companyRoleWords: Record<string, string> = {
  Admin: 'Full access to company data, can manage other users',
  Manager: 'Access to most features, limited user management',
  User: 'Standard access for submitting tickets and viewing info',
  'Training Only': 'Limited to training courses',
};

// PortalStatus says where a user's portal access stands, with an invitation's expiry
// and a failed email's reason.
function PortalStatus({ user: u }: { user: CompanyUser }) {
  return (
    <span>
      {portalStatusWords[u.portalStatus]}
      {u.portalStatus === 'invited' && u.inviteExpiresAt && <span className="muted"> (expires {formatDate(u.inviteExpiresAt)})</span>}
      {u.portalStatus === 'email-failed' && u.emailError && <span className="muted">: {u.emailError}. Turn access off and on to send it again.</span>}
    </span>
  );
}
