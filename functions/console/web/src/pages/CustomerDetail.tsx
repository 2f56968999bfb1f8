import { useState } from 'react';
import { Link, useLocation } from 'wouter';
import { Tab, TabList, TabPanel, Tabs } from 'react-aria-components';
import * as api from '../api';
import { useAction, useLoad } from '../hooks';
import { useSession } from '../session';
import type { CustomerDetail, Tenant, Ticket } from '../types';
import { CompanyUsers } from '../components/CompanyUsers';
import { CustomerFields, ImportButton, customerBody, customerForm, emptyCustomer, type CustomerForm } from './Customers';
import {
  DataTable,
  Field,
  FormDialog,
  GuardedButton,
  HealthBadge,
  InlineSelect,
  ListPanel,
  Loading,
  ProblemMessage,
  SelectField,
  TenantSelect,
  Stat,
  fieldErrorOf,
  formatDate,
  formatDateTime,
} from '../components/ui';

interface Overview {
  tenantCount: number;
  totalUsers: number;
  totalLicenses: number;
  securityScore: number;
  health: string;
  contactCount: number;
  openTicketCount: number;
  ticketCount: number;
  documentCount: number;
  licenses: { sku: string; assigned: number }[];
  recentActivity: Activity[];
}

interface Activity {
  id: string;
  actor: { email: string };
  action: string;
  summary: string;
  at: string;
  onBehalfOf?: { reason?: string };
}

export function CustomerDetailPage({ params }: { params: { id: string } }) {
  const s = useSession();
  const [, navigate] = useLocation();
  const base = `/api/msp-portal/customers/${encodeURIComponent(params.id)}`;
  const c = useLoad((signal) => api.get<CustomerDetail>(base, { signal }), [base, s.orgId]);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState(false);
  const [form, setForm] = useState<CustomerForm>(emptyCustomer);
  const [editError, setEditError] = useState<unknown>(null);
  if (c.error) return <ProblemMessage error={c.error} onRetry={c.reload} />;
  if (!c.data) return <Loading what="the customer" />;
  const cust = c.data;
  const setArchived = async (archived: boolean) => {
    setError(null);
    try {
      await api.put(base, { ...cust, archived });
      c.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section>
      <p className="crumbs">
        <Link href="/customers">Customers</Link> /
      </p>
      <div className="page-head">
        <h1>
          {cust.name} {cust.archived && <span className="badge">Archived</span>}
        </h1>
        <div className="actions">
          <GuardedButton
            need="manage-customers"
            className="btn"
            onPress={() => {
              setForm(customerForm(cust));
              setEditing(true);
            }}
          >
            Edit
          </GuardedButton>
          <GuardedButton need="delete-customers" className="btn" onPress={() => setArchived(!cust.archived)}>
            {cust.archived ? 'Restore' : 'Archive'}
          </GuardedButton>
          <GuardedButton
            need="delete-customers"
            className="btn btn-danger"
            onPress={async () => {
              if (!window.confirm(`Delete ${cust.name}? This cannot be undone.`)) return;
              try {
                await api.del(base);
                navigate('/customers');
              } catch (e) {
                setError(e);
              }
            }}
          >
            Delete
          </GuardedButton>
        </div>
      </div>
      <ProblemMessage error={error} />
      <FormDialog
        title={`Edit ${cust.name}`}
        submitLabel="Save"
        isOpen={editing}
        onOpenChange={setEditing}
        error={editError}
        setError={setEditError}
        submit={async () => {
          // The version makes a concurrent edit a 409 rather than a silent overwrite.
          await api.put(base, { ...cust, ...customerBody(form), version: cust.version });
          c.reload();
        }}
      >
        <CustomerFields form={form} set={(k) => (v) => setForm((f) => ({ ...f, [k]: v }))} error={editError} />
      </FormDialog>
      <Tabs className="tabs">
        <TabList aria-label="Customer" className="tablist">
          <Tab id="overview" className="tab">Overview</Tab>
          <Tab id="tenants" className="tab">Tenants</Tab>
          <Tab id="contacts" className="tab">Contacts</Tab>
          <Tab id="users" className="tab">Users</Tab>
          <Tab id="tickets" className="tab">Tickets</Tab>
          <Tab id="documents" className="tab">Documents</Tab>
          <Tab id="activity" className="tab">Activity Log</Tab>
        </TabList>
        <TabPanel id="overview" className="tabpanel">
          <OverviewTab base={base} customer={cust} />
        </TabPanel>
        <TabPanel id="tenants" className="tabpanel">
          <TenantsTab base={base} customer={cust} onChange={c.reload} />
        </TabPanel>
        <TabPanel id="contacts" className="tabpanel">
          <ContactsTab base={base} />
        </TabPanel>
        <TabPanel id="users" className="tabpanel">
          <UsersTab base={base} customer={cust} />
        </TabPanel>
        <TabPanel id="tickets" className="tabpanel">
          <TicketsTab base={base} tenants={cust.tenants} />
        </TabPanel>
        <TabPanel id="documents" className="tabpanel">
          <DocumentsTab base={base} />
        </TabPanel>
        <TabPanel id="activity" className="tabpanel">
          <ActivityTab base={base} />
        </TabPanel>
      </Tabs>
    </section>
  );
}

function OverviewTab({ base, customer }: { base: string; customer: CustomerDetail }) {
  const o = useLoad((signal) => api.get<Overview>(`${base}/overview`, { signal }), [base, customer.version]);
  if (o.error) return <ProblemMessage error={o.error} onRetry={o.reload} />;
  if (!o.data) return <Loading what="the overview" />;
  const d = o.data;
  return (
    <>
      <div className="cards">
        <Stat label="Total users" value={d.totalUsers} />
        <Stat label="Licenses" value={d.totalLicenses} />
        <Stat label="Security score" value={d.securityScore} />
        <Stat label="Tenants" value={d.tenantCount} />
        <Stat label="Open tickets" value={d.openTicketCount} />
        <Stat label="Contacts" value={d.contactCount} />
      </div>
      <p>
        Health: <HealthBadge health={d.health} />
      </p>
      <dl className="details">
        <dt>Primary contact</dt>
        <dd>{[customer.primaryContactName, customer.primaryContactEmail].filter(Boolean).join(', ') || '—'}</dd>
        <dt>Phone</dt>
        <dd>{customer.phone || '—'}</dd>
        <dt>Address</dt>
        <dd>{customer.address || '—'}</dd>
        <dt>Website</dt>
        <dd>{customer.website ? <a href={customer.website} rel="noopener noreferrer" target="_blank">{customer.website}</a> : '—'}</dd>
        <dt>Notes</dt>
        <dd>{customer.notes || '—'}</dd>
      </dl>
      <h2>Recent activity</h2>
      <ActivityList items={d.recentActivity} />
    </>
  );
}

function ActivityList({ items }: { items: Activity[] }) {
  if (!items.length) return <p className="muted">No activity yet.</p>;
  return (
    <ul className="activity">
      {items.map((a) => (
        <li key={a.id}>
          <time dateTime={a.at}>{formatDateTime(a.at)}</time> · {a.summary || a.action} <span className="muted">by {a.actor.email || 'the system'}</span>
        </li>
      ))}
    </ul>
  );
}

const emptyTenant = { entraTenantId: '', primaryDomain: '', displayName: '', licensedUsers: '0' };

function TenantsTab({ base, customer, onChange }: { base: string; customer: CustomerDetail; onChange: () => void }) {
  const [associating, setAssociating] = useState(false);
  const [registering, setRegistering] = useState(false);
  const [tenantId, setTenantId] = useState<string | null>(null);
  const [form, setForm] = useState(emptyTenant);
  const [error, setError] = useState<unknown>(null);
  const row = useAction(onChange);
  const free = useLoad(
    (signal) => (associating ? api.get<api.Page<Tenant>>('/api/msp-portal/tenants', { query: { limit: 100 }, signal }) : Promise.resolve(undefined)),
    [associating],
  );
  const unassigned = (free.data?.items ?? []).filter((t) => !t.customerId);
  const set = (k: keyof typeof emptyTenant) => (v: string) => setForm((f) => ({ ...f, [k]: v }));
  return (
    <>
      <div className="actions">
        <GuardedButton need="manage-customers" onPress={() => setAssociating(true)}>
          Associate Tenant
        </GuardedButton>
        <GuardedButton need="manage-customers" className="btn" onPress={() => setRegistering(true)}>
          Register New Tenant
        </GuardedButton>
      </div>
      <ProblemMessage error={row.error} />
      <DataTable
        caption={`Tenants of ${customer.name}`}
        rows={customer.tenants}
        rowKey={(t) => t.id}
        empty="No tenants yet. Associate a registered Microsoft 365 tenant, or register a new one."
        columns={[
          { header: 'Tenant', cell: (t) => t.displayName },
          { header: 'Primary domain', cell: (t) => t.primaryDomain },
          { header: 'Licensed users', num: true, cell: (t) => t.licensedUsers },
          { header: 'Assigned licenses', num: true, cell: (t) => t.assignedLicenses },
          { header: 'Health', cell: (t) => <HealthBadge health={t.health} /> },
          {
            header: 'Actions',
            hideHeader: true,
            cell: (t) => (
              <GuardedButton
                need="manage-customers"
                className="btn btn-small"
                aria-label={`Remove ${t.displayName} from ${customer.name}`}
                onPress={() => row.run(() => api.del(`${base}/tenants/${encodeURIComponent(t.id)}`))}
              >
                Remove
              </GuardedButton>
            ),
          },
        ]}
      />
      <FormDialog
        title="Associate Tenant"
        submitLabel="Associate"
        isOpen={associating}
        onOpenChange={setAssociating}
        error={error}
        setError={setError}
        submit={async () => {
          if (!tenantId) throw new Error('Pick a tenant.');
          await api.post(`${base}/tenants`, { tenantId });
          setTenantId(null);
          onChange();
        }}
      >
        <p>A tenant belongs to one customer at most; only tenants without a customer are offered.</p>
        {free.loading && <Loading what="tenants" />}
        <TenantSelect tenants={unassigned} error={free.error} value={tenantId} onChange={setTenantId} emptyText="No unassigned tenant. Register one first." />
      </FormDialog>
      <FormDialog
        title="Register New Tenant"
        submitLabel="Register and associate"
        isOpen={registering}
        onOpenChange={setRegistering}
        onReset={() => setForm(emptyTenant)}
        error={error}
        setError={setError}
        submit={async () => {
          const t = await api.post<Tenant>('/api/msp-portal/tenants', {
            entraTenantId: form.entraTenantId,
            primaryDomain: form.primaryDomain,
            displayName: form.displayName,
            licensedUsers: Number(form.licensedUsers) || 0,
          });
          await api.post(`${base}/tenants`, { tenantId: t.id });
          onChange();
        }}
      >
        <Field
          label="Entra tenant ID"
          description="The Directory (tenant) ID, a GUID."
          value={form.entraTenantId}
          onChange={set('entraTenantId')}
          isRequired
          errorMessage={fieldErrorOf(error, 'entraTenantId')}
        />
        <Field label="Primary domain" placeholder="contoso.onmicrosoft.com" value={form.primaryDomain} onChange={set('primaryDomain')} isRequired errorMessage={fieldErrorOf(error, 'primaryDomain')} />
        <Field label="Display name" value={form.displayName} onChange={set('displayName')} isRequired errorMessage={fieldErrorOf(error, 'displayName')} />
        <Field label="Licensed users" inputMode="numeric" value={form.licensedUsers} onChange={set('licensedUsers')} errorMessage={fieldErrorOf(error, 'licensedUsers')} />
      </FormDialog>
    </>
  );
}

interface Contact {
  id: string;
  name: string;
  email: string;
  phone: string;
  title: string;
  escalationOrder: number;
}

function ContactsTab({ base }: { base: string }) {
  const list = useLoad((signal) => api.get<api.Page<Contact>>(`${base}/contacts`, { signal }), [base]);
  const [adding, setAdding] = useState(false);
  const [form, setForm] = useState({ name: '', email: '', phone: '', title: '' });
  const [error, setError] = useState<unknown>(null);
  const row = useAction(list.reload);
  const set = (k: keyof typeof form) => (v: string) => setForm((f) => ({ ...f, [k]: v }));
  return (
    <>
      <ListPanel
        need="manage-customers"
        addLabel="Add Contact"
        onAdd={() => setAdding(true)}
        rowError={row.error}
        list={list}
        caption="Contacts, in escalation order"
        rowKey={(c) => c.id}
        empty="No additional contacts. Add the people to escalate to."
        columns={[
          { header: 'Order', num: true, cell: (c) => c.escalationOrder },
          { header: 'Name', cell: (c) => c.name },
          { header: 'Title', cell: (c) => c.title || '—' },
          { header: 'Email', cell: (c) => c.email || '—' },
          { header: 'Phone', cell: (c) => c.phone || '—' },
          {
            header: 'Actions',
            hideHeader: true,
            cell: (c) => (
              <GuardedButton
                need="manage-customers"
                className="btn btn-small"
                aria-label={`Delete the contact ${c.name}`}
                onPress={() => row.run(() => api.del(`${base}/contacts/${encodeURIComponent(c.id)}`))}
              >
                Delete
              </GuardedButton>
            ),
          },
        ]}
      />
      <FormDialog
        title="Add Contact"
        submitLabel="Add Contact"
        isOpen={adding}
        onOpenChange={setAdding}
        onReset={() => setForm({ name: '', email: '', phone: '', title: '' })}
        error={error}
        setError={setError}
        submit={async () => {
          await api.post(`${base}/contacts`, form);
          list.reload();
        }}
      >
        <Field label="Name" value={form.name} onChange={set('name')} isRequired errorMessage={fieldErrorOf(error, 'name')} />
        <Field label="Title" value={form.title} onChange={set('title')} />
        <Field label="Email" type="email" value={form.email} onChange={set('email')} errorMessage={fieldErrorOf(error, 'email')} />
        <Field label="Phone" type="tel" value={form.phone} onChange={set('phone')} errorMessage={fieldErrorOf(error, 'phone')} />
      </FormDialog>
    </>
  );
}


const priorities = ['low', 'normal', 'high', 'urgent'];
const ticketStatuses = ['open', 'in-progress', 'waiting', 'resolved', 'closed'];

// TicketStatus changes a ticket's status where the role may, and shows it otherwise.
function TicketStatus({ ticket, onChange }: { ticket: Ticket; onChange: (status: string) => void }) {
  const s = useSession();
  return (
    <InlineSelect
      label={`Status of ${ticket.subject}`}
      editable={s.can('manage-customers')}
      options={ticketStatuses}
      value={ticket.status}
      onChange={onChange}
    />
  );
}

function TicketsTab({ base, tenants }: { base: string; tenants: Tenant[] }) {
  const list = useLoad((signal) => api.get<api.Page<Ticket>>(`${base}/tickets`, { signal }), [base]);
  const [adding, setAdding] = useState(false);
  const [subject, setSubject] = useState('');
  const [description, setDescription] = useState('');
  const [priority, setPriority] = useState('normal');
  const [error, setError] = useState<unknown>(null);
  const row = useAction(list.reload);
  const tenantName = (id: string) => tenants.find((t) => t.id === id)?.displayName ?? (id ? id : '—');
  return (
    <>
      <ListPanel
        need="manage-customers"
        addLabel="Open Ticket"
        onAdd={() => setAdding(true)}
        rowError={row.error}
        list={list}
        caption="Tickets, newest first"
        rowKey={(t) => t.id}
        empty="No tickets."
        columns={[
          { header: 'Subject', cell: (t) => t.subject },
          {
            header: 'Status',
            cell: (t) => (
              <TicketStatus
                ticket={t}
                onChange={(status) => row.run(() => api.put(`${base}/tickets/${encodeURIComponent(t.id)}`, { ...t, status, version: t.version }))}
              />
            ),
          },
          { header: 'Priority', cell: (t) => t.priority },
          { header: 'Tenant', cell: (t) => tenantName(t.tenantId) },
          { header: 'Opened', cell: (t) => formatDate(t.createdAt) },
        ]}
      />
      <FormDialog
        title="Open Ticket"
        submitLabel="Open Ticket"
        isOpen={adding}
        onOpenChange={setAdding}
        onReset={() => {
          setSubject('');
          setDescription('');
        }}
        error={error}
        setError={setError}
        submit={async () => {
          await api.post(`${base}/tickets`, { subject, description, priority });
          list.reload();
        }}
      >
        <Field label="Subject" value={subject} onChange={setSubject} isRequired errorMessage={fieldErrorOf(error, 'subject')} />
        <Field label="Description" multiline value={description} onChange={setDescription} />
        <SelectField label="Priority" options={priorities.map((p) => ({ id: p, label: p }))} value={priority} onChange={setPriority} />
      </FormDialog>
    </>
  );
}

interface Doc {
  id: string;
  name: string;
  contentType: string;
  size: number;
  createdAt: string;
  uploadedBy: { email: string };
}

function DocumentsTab({ base }: { base: string }) {
  const list = useLoad((signal) => api.get<api.Page<Doc>>(`${base}/documents`, { signal }), [base]);
  const [error, setError] = useState<unknown>(null);
  const [uploading, setUploading] = useState<string | null>(null);
  return (
    <>
      <div className="actions">
        <label className="btn btn-primary file-button">
          Upload Document
          <input
            type="file"
            className="visually-hidden"
            accept=".pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.txt,.csv,.png,.jpg,.jpeg"
            onChange={async (ev) => {
              const file = ev.target.files?.[0];
              ev.target.value = '';
              if (!file) return;
              setError(null);
              setUploading(file.name);
              try {
                const created = await api.post<{ upload: { method: string; url: string; headers: Record<string, string> } }>(`${base}/documents`, {
                  name: file.name,
                  contentType: file.type || 'application/octet-stream',
                  size: file.size,
                });
                // The bytes go straight to storage with the presigned request.
                const res = await fetch(created.upload.url, { method: created.upload.method, headers: created.upload.headers, body: file }).catch(() => null);
                if (!res || !res.ok) throw new Error(`The file could not be sent to storage${res ? ` (${res.status})` : ''}. Check your connection and try again.`);
                list.reload();
              } catch (e) {
                setError(e);
              } finally {
                setUploading(null);
              }
            }}
          />
        </label>
      </div>
      {uploading && <p role="status">Uploading {uploading}…</p>}
      <ProblemMessage error={error || list.error} />
      {list.data && (
        <DataTable
          caption="Documents"
          rows={list.data.items}
          rowKey={(d) => d.id}
          empty="No documents. Store contracts or runbooks here."
          columns={[
            { header: 'Name', cell: (d) => d.name },
            { header: 'Size', num: true, cell: (d) => `${Math.max(1, Math.round(d.size / 1024))} KB` },
            { header: 'Uploaded by', cell: (d) => d.uploadedBy.email },
            { header: 'Added', cell: (d) => formatDate(d.createdAt) },
          ]}
        />
      )}
    </>
  );
}

function ActivityTab({ base }: { base: string }) {
  const list = useLoad((signal) => api.get<api.Page<Activity>>(`${base}/activity`, { signal }), [base]);
  if (list.error) return <ProblemMessage error={list.error} onRetry={list.reload} />;
  if (!list.data) return <Loading what="activity" />;
  return <ActivityList items={list.data.items} />;
}

// UsersTab is seed 002's company users of this customer: the people at the client who
// may use the client portal, with their company role and portal access.
function UsersTab({ base, customer }: { base: string; customer: CustomerDetail }) {
  const s = useSession();
  return (
    <CompanyUsers
      path={`${base}/users`}
      caption={`Company users of ${customer.name}`}
      canManage={s.can('manage-users')}
      importButton={(reload) => <ImportButton path={`${base}/users/import`} need="run-automation" label="Import Users" what="users" onDone={reload} />}
    />
  );
}
