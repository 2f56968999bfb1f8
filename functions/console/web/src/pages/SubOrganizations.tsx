import { useState } from 'react';
import { Button, Input, Label, SearchField } from 'react-aria-components';
import { useLocation } from 'wouter';
import * as api from '../api';
import * as auth from '../auth';
import { useLoad } from '../hooks';
import { useSession } from '../session';
import type { SubOrganization, Usage } from '../types';
import { DataTable, Field, FormDialog, GuardedButton, Loading, Notice, Pager, ProblemMessage, Stat, fieldErrorOf, formatDate, usePages } from '../components/ui';

interface Dashboard {
  subOrganizations: number;
  licensesConsumed: Usage;
}

interface Created {
  id: string;
  companyName: string;
  defaultAdmin: { email: string; account?: string; emailSent?: boolean };
}

const emptyForm = { companyName: '', phone: '', email: '', confirmEmail: '', firstName: '', lastName: '' };

// SubOrganizations is seed 004's MSP Admin dashboard: the totals, the grid of
// sub-organizations with the licenses each consumes, search, paging, creating one,
// and supporting one.
export function SubOrganizations() {
  const s = useSession();
  const [, navigate] = useLocation();
  const parent = s.active!;
  const [q, setQ] = useState('');
  const pages = usePages();
  const opts = { orgId: parent.id };
  const dash = useLoad((signal) => api.get<Dashboard>('/api/msp-admin/dashboard', { ...opts, signal }), [parent.id]);
  const list = useLoad(
    (signal) => api.get<api.Page<SubOrganization>>('/api/msp-admin/sub-organizations', { query: { q: q.trim(), cursor: pages.cursor, limit: 20 }, ...opts, signal }),
    [q, pages.cursor, parent.id],
  );
  const [creating, setCreating] = useState(false);
  const [form, setForm] = useState(emptyForm);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<Created | null>(null);
  const set = (k: keyof typeof emptyForm) => (v: string) => setForm((f) => ({ ...f, [k]: v }));
  const reauth = error instanceof api.ApiError && error.code === 'reauthentication-required';
  const [resetError, setResetError] = useState<unknown>(null);
  const [resetNotice, setResetNotice] = useState('');
  // resetAdmin re-issues the default admin's access (the parent's "reset the sub org's
  // password" of seed 004): a new temporary password, or a new invitation.
  const resetAdmin = async (o: SubOrganization) => {
    setResetError(null);
    setResetNotice('');
    if (!window.confirm(`Send ${o.defaultAdminEmail} new sign-in details for ${o.companyName}? Nothing in ${o.companyName} changes.`)) return;
    try {
      const detail = await api.get<{ defaultAdmin: { userId: string } }>(`/api/msp-admin/sub-organizations/${encodeURIComponent(o.id)}`, opts);
      const r = await api.post<{ method: string; email: string; emailSent: boolean }>(
        `/api/msp-admin/sub-organizations/${encodeURIComponent(o.id)}/admins/${encodeURIComponent(detail.defaultAdmin.userId)}/reset`,
        undefined,
        opts,
      );
      const what = r.method === 'invitation' ? 'a new invitation as Administrator' : 'a new temporary password';
      setResetNotice(r.emailSent ? `${r.email} was sent ${what}.` : `${r.email} gets ${what}, but the email could not be sent.`);
    } catch (e) {
      setResetError(e);
    }
  };

  if (parent.parentId) {
    return (
      <section>
        <h1>Sub-organizations</h1>
        <p>{parent.name} is itself a sub-organization; only a top-level organization has sub-organizations.</p>
      </section>
    );
  }
  return (
    <section>
      <div className="page-head">
        <h1>Sub-organizations</h1>
        <div className="actions">
          <GuardedButton need="manage-sub-organizations" onPress={() => setCreating(true)}>
            Create Sub-Organization
          </GuardedButton>
        </div>
      </div>
      <ProblemMessage error={dash.error} />
      {dash.data && (
        <div className="cards">
          <Stat label="Sub-organizations" value={dash.data.subOrganizations} />
          <Stat label="Member seats" value={dash.data.licensesConsumed.memberSeats} />
          <Stat label="Managed tenants" value={dash.data.licensesConsumed.managedTenants} />
          <Stat label="Assigned licenses" value={dash.data.licensesConsumed.assignedLicenses} />
        </div>
      )}
      {created && (
        <div className="success" role="status">
          {created.companyName} was created. {created.defaultAdmin.emailSent ? `An email with sign-in details was sent to ${created.defaultAdmin.email}.` : `No email could be sent to ${created.defaultAdmin.email}; reset the admin's access from the sub-organization later.`}
        </div>
      )}
      <Notice text={resetNotice} />
      <ProblemMessage error={resetError} />
      {resetError instanceof api.ApiError && resetError.code === 'reauthentication-required' && <ReconfirmButton onDone={() => setResetError(null)} />}
      <div className="filters">
        <SearchField className="field" value={q} onChange={(v) => { setQ(v); pages.reset(); }}>
          <Label>Search sub-organizations</Label>
          <Input placeholder="Company name starts with…" />
        </SearchField>
      </div>
      <ProblemMessage error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading what="sub-organizations" />}
      {list.data && (
        <DataTable
          caption="Sub-organizations and the licenses each consumes"
          rows={list.data.items}
          rowKey={(o) => o.id}
          empty={q ? 'No sub-organization matches.' : 'No sub-organizations yet. Create one for a client.'}
          columns={[
            { header: 'Company name', cell: (o) => o.companyName },
            { header: 'Phone', cell: (o) => o.phone || '—' },
            { header: 'Default admin', cell: (o) => o.defaultAdminEmail },
            { header: 'Member seats', num: true, cell: (o) => o.licensesConsumed.memberSeats },
            { header: 'Managed tenants', num: true, cell: (o) => o.licensesConsumed.managedTenants },
            { header: 'Assigned licenses', num: true, cell: (o) => o.licensesConsumed.assignedLicenses },
            { header: 'Created', cell: (o) => formatDate(o.createdAt) },
            {
              header: 'Actions',
              hideHeader: true,
              cell: (o) => (
                <span className="row-actions">
                  <Button
                    className="btn btn-small"
                    aria-label={`Support ${o.companyName}`}
                    onPress={() => {
                      s.startSupport({ id: o.id, name: o.companyName, parentId: parent.id, parentName: parent.name, reason: '' });
                      navigate('/customers');
                    }}
                  >
                    Support
                  </Button>
                  <GuardedButton need="manage-sub-organizations" className="btn btn-small" aria-label={`Reset the admin access of ${o.companyName}`} onPress={() => resetAdmin(o)}>
                    Reset admin
                  </GuardedButton>
                </span>
              ),
            },
          ]}
        />
      )}
      <Pager pages={pages} nextCursor={list.data?.nextCursor} />
      <FormDialog
        title="Add Child Organization"
        submitLabel="Add"
        isOpen={creating}
        onOpenChange={setCreating}
        onReset={() => setForm(emptyForm)}
        error={error}
        setError={setError}
        submit={async () => {
          const c = await api.post<Created>('/api/msp-admin/sub-organizations', form, opts);
          setCreated(c);
          setForm(emptyForm);
          list.reload();
          dash.reload();
        }}
      >
        <p className="muted">
          Creating a sub-organization asks you to have signed in within the last 5 minutes, in place of the parent organization's password.
        </p>
        <Field label="Company Name" value={form.companyName} onChange={set('companyName')} isRequired autoFocus errorMessage={fieldErrorOf(error, 'companyName')} />
        <Field label="Phone Number" type="tel" value={form.phone} onChange={set('phone')} isRequired errorMessage={fieldErrorOf(error, 'phone')} />
        <Field
          label="Email"
          type="email"
          description="The default sub-organization admin; an email with sign-in details is sent here."
          value={form.email}
          onChange={set('email')}
          isRequired
          errorMessage={fieldErrorOf(error, 'email')}
        />
        <Field label="Confirm Email" type="email" value={form.confirmEmail} onChange={set('confirmEmail')} isRequired errorMessage={fieldErrorOf(error, 'confirmEmail')} />
        <Field label="First Name" value={form.firstName} onChange={set('firstName')} isRequired errorMessage={fieldErrorOf(error, 'firstName')} />
        <Field label="Last Name" value={form.lastName} onChange={set('lastName')} isRequired errorMessage={fieldErrorOf(error, 'lastName')} />
        {reauth && <ReconfirmButton onDone={() => setError(null)} />}
      </FormDialog>
    </section>
  );
}

// ReconfirmButton signs the same person in again for a fresh sign-in time: at once
// with the development sign-in, through the hosted UI (prompt=login) in the cloud.
function ReconfirmButton({ onDone }: { onDone: () => void }) {
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <Button
        className="btn"
        onPress={async () => {
          setError(null);
          try {
            const id = auth.lastDevIdentity();
            if (id) {
              await auth.devSignIn(id);
              onDone();
              return;
            }
            const cfg = await auth.loadConfig();
            auth.rememberReturn(location.pathname);
            await auth.startHostedSignIn(cfg, { fresh: true });
          } catch (e) {
            setError(e);
          }
        }}
      >
        Sign in again to confirm
      </Button>
      <ProblemMessage error={error} />
    </>
  );
}
