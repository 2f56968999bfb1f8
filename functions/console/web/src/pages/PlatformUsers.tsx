import { useState } from 'react';
import { Button, Checkbox, CheckboxGroup, Label, Menu, MenuItem, MenuTrigger, Popover, Radio, RadioGroup } from 'react-aria-components';
import * as api from '../api';
import { useLoad } from '../hooks';
import { useSession } from '../session';
import type { PlatformUser, Role, Tenant, TenantAccess } from '../types';
import { customPermissions, roleDescriptions } from '../permissions';
import { DataTable, Field, FormDialog, GuardedButton, Loading, Notice, ProblemMessage, SelectField, fieldErrorOf, formatDate } from '../components/ui';

const invitable: Role[] = ['Technician', 'Administrator', 'Read-Only', 'Custom'];

interface Explanation {
  allowed: boolean;
  grant: string;
  rule: string;
  reason: string;
}

export function PlatformUsers() {
  const s = useSession();
  const list = useLoad((signal) => api.get<api.Page<PlatformUser>>('/api/settings/platform-users', { query: { limit: 100 }, signal }), [s.orgId]);
  const [inviting, setInviting] = useState(false);
  const [editing, setEditing] = useState<PlatformUser | null>(null);
  const [explaining, setExplaining] = useState<PlatformUser | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const members = list.data?.items.filter((u) => u.kind === 'member') ?? [];
  const invitations = list.data?.items.filter((u) => u.kind === 'invitation') ?? [];

  const act = async (what: string, fn: () => Promise<unknown>) => {
    setError(null);
    setNotice('');
    try {
      const res = (await fn()) as { status?: string } | undefined;
      // A held action (202) waits for an Administrator's approval.
      setNotice(res && res.status === 'pending' ? `${what}: waiting for approval.` : `${what}: done.`);
      list.reload();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section>
      <div className="page-head">
        <h1>Platform users</h1>
        <div className="actions">
          <GuardedButton need="manage-platform-users" onPress={() => setInviting(true)}>
            Add User
          </GuardedButton>
        </div>
      </div>
      <p className="muted">Your MSP staff who use Switchboard. Invitations expire after 7 days.</p>
      <Notice text={notice} />
      <ProblemMessage error={error} />
      <ProblemMessage error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading what="platform users" />}
      {list.data && (
        <>
          <h2>Members</h2>
          <DataTable
            caption="Members"
            rows={members}
            rowKey={(u) => u.id}
            empty="No members."
            columns={[
              { header: 'Name', cell: (u) => u.displayName || '—' },
              { header: 'Email', cell: (u) => u.email },
              { header: 'Role', cell: (u) => <span className="badge role">{u.role}</span> },
              { header: 'Tenant access', cell: (u) => scopeText(u.tenantAccess) },
              { header: 'Joined', cell: (u) => formatDate(u.joinedAt) },
              {
                header: 'Actions',
                hideHeader: true,
                cell: (u) => (
                  <RowMenu
                    user={u}
                    onEdit={() => setEditing(u)}
                    onExplain={() => setExplaining(u)}
                    onRemove={() =>
                      window.confirm(`Remove ${u.email}? They lose access on their next request.`) &&
                      act(`Remove ${u.email}`, () => api.del(`/api/settings/platform-users/${encodeURIComponent(u.id)}`))
                    }
                  />
                ),
              },
            ]}
          />
          <h2>Pending invitations</h2>
          <DataTable
            caption="Pending invitations"
            rows={invitations}
            rowKey={(u) => u.id}
            empty="No pending invitations."
            columns={[
              { header: 'Email', cell: (u) => u.email },
              { header: 'Role', cell: (u) => <span className="badge role">{u.role}</span> },
              { header: 'Tenant access', cell: (u) => scopeText(u.tenantAccess) },
              {
                header: 'Status',
                cell: (u) =>
                  u.status === 'email-failed' ? (
                    <span className="problem-inline">Email not sent: {u.emailError || 'the email could not be sent'}. Resend it.</span>
                  ) : u.status === 'expired' ? (
                    'Expired: resend it for 7 more days'
                  ) : (
                    'Invited'
                  ),
              },
              { header: 'Expires', cell: (u) => formatDate(u.expiresAt) },
              {
                header: 'Actions',
                hideHeader: true,
                cell: (u) => (
                  <span className="row-actions">
                    <GuardedButton
                      need="manage-platform-users"
                      className="btn btn-small"
                      aria-label={`Resend the invitation to ${u.email}`}
                      onPress={() => act(`Resend to ${u.email}`, () => api.post(`/api/settings/platform-users/${encodeURIComponent(u.id)}/resend`))}
                    >
                      Resend
                    </GuardedButton>
                    <GuardedButton
                      need="manage-platform-users"
                      className="btn btn-small"
                      aria-label={`Revoke the invitation to ${u.email}`}
                      onPress={() => act(`Revoke ${u.email}`, () => api.del(`/api/settings/platform-users/${encodeURIComponent(u.id)}`))}
                    >
                      Revoke
                    </GuardedButton>
                    <GuardedButton need="manage-platform-users" className="btn btn-small" onPress={() => setEditing(u)} aria-label={`Change the role of ${u.email}`}>
                      Change role
                    </GuardedButton>
                  </span>
                ),
              },
            ]}
          />
        </>
      )}
      {inviting && <AccessDialog onClose={() => setInviting(false)} onDone={(res) => { setNotice(res); list.reload(); }} />}
      {editing && <AccessDialog user={editing} onClose={() => setEditing(null)} onDone={(res) => { setNotice(res); list.reload(); }} />}
      {explaining && <ExplainDialog user={explaining} onClose={() => setExplaining(null)} />}
    </section>
  );
}

function scopeText(a: TenantAccess): string {
  const n = a.tenantIds?.length ?? 0;
  if (a.mode === 'all') return 'All tenants';
  if (a.mode === 'selected') return `${n} selected tenant${n === 1 ? '' : 's'}`;
  return `All tenants except ${n}`;
}

function RowMenu({ user, onEdit, onExplain, onRemove }: { user: PlatformUser; onEdit: () => void; onExplain: () => void; onRemove: () => void }) {
  const s = useSession();
  const manage = s.can('manage-platform-users');
  const owner = user.role === 'Owner';
  return (
    <MenuTrigger>
      <Button className="btn btn-small" aria-label={`Actions for ${user.email}`}>
        Actions ▾
      </Button>
      <Popover className="popover">
        <Menu
          className="menu"
          disabledKeys={[...(!manage || owner ? ['edit', 'remove'] : [])]}
          onAction={(k) => (k === 'edit' ? onEdit() : k === 'explain' ? onExplain() : onRemove())}
        >
          <MenuItem id="edit" className="menu-item">
            Change role and tenant scope
          </MenuItem>
          <MenuItem id="explain" className="menu-item">
            Why can / can't they…?
          </MenuItem>
          <MenuItem id="remove" className="menu-item danger">
            Remove
          </MenuItem>
        </Menu>
      </Popover>
    </MenuTrigger>
  );
}

function useTenants() {
  return useLoad((signal) => api.get<api.Page<Tenant>>('/api/msp-portal/tenants', { query: { limit: 100 }, signal }), []);
}

// AccessDialog invites someone (no user) or changes a member's or invitation's role,
// permissions and tenant scope.
function AccessDialog({ user, onClose, onDone }: { user?: PlatformUser; onClose: () => void; onDone: (notice: string) => void }) {
  const tenants = useTenants();
  const [email, setEmail] = useState(user?.email ?? '');
  const [displayName, setDisplayName] = useState(user?.displayName ?? '');
  const [role, setRole] = useState<Role>(user && user.role !== 'Owner' ? user.role : 'Technician');
  const [permissions, setPermissions] = useState<string[]>(user?.permissions ?? []);
  const [mode, setMode] = useState<TenantAccess['mode']>(user?.tenantAccess.mode ?? 'all');
  const [tenantIds, setTenantIds] = useState<string[]>(user?.tenantAccess.tenantIds ?? []);
  const [error, setError] = useState<unknown>(null);
  const scoped = role === 'Technician' || role === 'Custom';
  return (
    <FormDialog
      title={user ? `Change access of ${user.email}` : 'Add User'}
      submitLabel={user ? 'Save' : 'Send Invitation'}
      isOpen
      onOpenChange={(o) => !o && onClose()}
      error={error}
      setError={setError}
      submit={async () => {
        const tenantAccess = scoped ? (mode === 'all' ? { mode } : { mode, tenantIds }) : { mode: 'all' };
        const body = { email, displayName, role, permissions: role === 'Custom' ? permissions : undefined, tenantAccess };
        const res = user
          ? await api.put<{ status?: string }>(`/api/settings/platform-users/${encodeURIComponent(user.id)}`, { ...body, version: user.version })
          : await api.post<{ status?: string }>('/api/settings/platform-users', body);
        const held = res && res.status === 'pending';
        onDone(held ? 'Held for an Administrator’s approval.' : user ? `Access of ${email} changed.` : `Invitation sent to ${email}. It expires in 7 days.`);
      }}
    >
      {!user && (
        <>
          <Field label="Email address" type="email" value={email} onChange={setEmail} isRequired autoFocus errorMessage={fieldErrorOf(error, 'email')} />
          <Field label="Display name" value={displayName} onChange={setDisplayName} errorMessage={fieldErrorOf(error, 'displayName')} />
        </>
      )}
      <RadioGroup className="field radio-group" value={role} onChange={(v) => setRole(v as Role)}>
        <Label>Role</Label>
        {invitable.map((r) => (
          <Radio key={r} value={r} className="radio">
            <span className="dot" aria-hidden="true" />
            <span>
              <strong>{r}</strong> <span className="muted">{roleDescriptions[r]}</span>
            </span>
          </Radio>
        ))}
      </RadioGroup>
      {role === 'Custom' && (
        <CheckboxGroup className="field checkbox-group" value={permissions} onChange={setPermissions}>
          <Label>Permissions</Label>
          {customPermissions.map((p) => (
            <Checkbox key={p.id} value={p.id} className="checkbox">
              <span className="box" aria-hidden="true" />
              {p.label}
            </Checkbox>
          ))}
        </CheckboxGroup>
      )}
      {scoped ? (
        <>
          <RadioGroup className="field radio-group" value={mode} onChange={(v) => setMode(v as TenantAccess['mode'])}>
            <Label>Tenant access</Label>
            <Radio value="all" className="radio">
              <span className="dot" aria-hidden="true" />
              All tenants
            </Radio>
            <Radio value="selected" className="radio">
              <span className="dot" aria-hidden="true" />
              Selected tenants only
            </Radio>
            <Radio value="all-except" className="radio">
              <span className="dot" aria-hidden="true" />
              All tenants except those selected
            </Radio>
          </RadioGroup>
          {mode !== 'all' && (
            <CheckboxGroup className="field checkbox-group" value={tenantIds} onChange={setTenantIds}>
              <Label>Tenants</Label>
              <ProblemMessage error={tenants.error} />
              {(tenants.data?.items ?? []).map((t) => (
                <Checkbox key={t.id} value={t.id} className="checkbox">
                  <span className="box" aria-hidden="true" />
                  {t.displayName} <span className="muted">{t.primaryDomain}</span>
                </Checkbox>
              ))}
              {tenants.data && tenants.data.items.length === 0 && <p className="muted">No tenants are registered yet.</p>}
            </CheckboxGroup>
          )}
        </>
      ) : (
        <p className="muted">Administrators and Read-Only members see all tenants.</p>
      )}
    </FormDialog>
  );
}

// ExplainDialog asks the access explain route why a member can or cannot use a
// permission, optionally on one tenant.
function ExplainDialog({ user, onClose }: { user: PlatformUser; onClose: () => void }) {
  const tenants = useTenants();
  const [permission, setPermission] = useState('manage-customers');
  const [tenantId, setTenantId] = useState<string>('');
  const [answer, setAnswer] = useState<Explanation | null>(null);
  const [error, setError] = useState<unknown>(null);
  const perms = [...customPermissions, { id: 'delete-organization', label: 'Delete the organization, transfer ownership' }];
  return (
    <FormDialog
      title={`Why can / can't ${user.displayName || user.email}…?`}
      submitLabel="Explain"
      isOpen
      onOpenChange={(o) => !o && onClose()}
      error={error}
      setError={setError}
      submit={async () => {
        setAnswer(
          await api.get<Explanation>(`/api/settings/platform-users/${encodeURIComponent(user.id)}/access`, {
            query: { permission, tenantId: tenantId || undefined },
          }),
        );
        return false;
      }}
    >
      <SelectField
        label="Permission"
        options={perms.map((p) => ({ id: p.id, label: p.label }))}
        value={permission}
        onChange={(k) => {
          setPermission(k);
          setAnswer(null);
        }}
      />
      <SelectField
        label="On tenant (optional)"
        options={[{ id: '__none', label: 'Any tenant' }, ...(tenants.data?.items ?? []).map((t) => ({ id: t.id, label: t.displayName }))]}
        value={tenantId || '__none'}
        onChange={(k) => {
          setTenantId(k === '__none' ? '' : k);
          setAnswer(null);
        }}
      />
      {answer && (
        <div className={answer.allowed ? 'success' : 'notice'} role="status">
          <strong>{answer.allowed ? (answer.grant === 'approval' ? 'Yes, with approval' : 'Yes') : 'No'}.</strong> {answer.reason}
        </div>
      )}
    </FormDialog>
  );
}
