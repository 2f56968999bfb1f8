import { useRef, useState } from 'react';
import { Link, useLocation } from 'wouter';
import { Button, SearchField, Input, Label, Switch } from 'react-aria-components';
import * as api from '../api';
import { useJob, useLoad } from '../hooks';
import type { Permission } from '../permissions';
import { useSession } from '../session';
import type { Customer, CustomerDetail, Job, Warning } from '../types';
import {
  DataTable,
  ExportMenu,
  Field,
  FormDialog,
  GuardedButton,
  HealthBadge,
  Loading,
  Pager,
  ProblemMessage,
  Progress,
  SelectField,
  fieldErrorOf,
  formatDate,
  usePages,
  type Column,
} from '../components/ui';

export const emptyCustomer = {
  name: '',
  primaryContactName: '',
  primaryContactEmail: '',
  phone: '',
  address: '',
  website: '',
  line1: '',
  line2: '',
  city: '',
  state: '',
  postalCode: '',
  country: '',
  notes: '',
};
export type CustomerForm = typeof emptyCustomer;

// customerForm is a customer's editable fields as the form holds them (the postal
// address flat).
export function customerForm(c: Customer): CustomerForm {
  const { name, primaryContactName, primaryContactEmail, phone, address, website, notes } = c;
  const p = c.postalAddress ?? { line1: '', line2: '', city: '', state: '', postalCode: '', country: '' };
  return { name, primaryContactName, primaryContactEmail, phone, address, website: website ?? '', ...p, notes };
}

// customerBody is the form as the API takes it: the parts under postalAddress.
export function customerBody(f: CustomerForm) {
  const { line1, line2, city, state, postalCode, country, ...rest } = f;
  return { ...rest, postalAddress: { line1, line2, city, state, postalCode, country } };
}

// CustomerFields are seed 001's "Add Customer" fields, also used to edit one.
export function CustomerFields({ form, set, error }: { form: CustomerForm; set: (k: keyof CustomerForm) => (v: string) => void; error: unknown }) {
  return (
    <>
      <Field label="Customer Name" value={form.name} onChange={set('name')} isRequired autoFocus errorMessage={fieldErrorOf(error, 'name')} />
      <Field label="Primary Contact name" value={form.primaryContactName} onChange={set('primaryContactName')} errorMessage={fieldErrorOf(error, 'primaryContactName')} />
      <Field
        label="Primary Contact email"
        type="email"
        value={form.primaryContactEmail}
        onChange={set('primaryContactEmail')}
        errorMessage={fieldErrorOf(error, 'primaryContactEmail')}
      />
      <Field label="Phone Number" type="tel" value={form.phone} onChange={set('phone')} errorMessage={fieldErrorOf(error, 'phone')} />
      <Field
        label="Address"
        description="One line. Left empty, it is written from the parts below."
        value={form.address}
        onChange={set('address')}
        errorMessage={fieldErrorOf(error, 'address')}
      />
      <fieldset className="credentials">
        <legend>Parts synced with a linked PSA</legend>
        <Field label="Street" value={form.line1} onChange={set('line1')} errorMessage={fieldErrorOf(error, 'postalAddress.line1')} />
        <Field label="Street, line 2" value={form.line2} onChange={set('line2')} errorMessage={fieldErrorOf(error, 'postalAddress.line2')} />
        <Field label="City" value={form.city} onChange={set('city')} errorMessage={fieldErrorOf(error, 'postalAddress.city')} />
        <Field label="State or region" value={form.state} onChange={set('state')} errorMessage={fieldErrorOf(error, 'postalAddress.state')} />
        <Field label="Postal code" value={form.postalCode} onChange={set('postalCode')} errorMessage={fieldErrorOf(error, 'postalAddress.postalCode')} />
        <Field label="Country" value={form.country} onChange={set('country')} errorMessage={fieldErrorOf(error, 'postalAddress.country')} />
      </fieldset>
      <Field label="Website" type="url" placeholder="https://" value={form.website} onChange={set('website')} errorMessage={fieldErrorOf(error, 'website')} />
      <Field label="Notes" description="Internal notes about this customer." multiline value={form.notes} onChange={set('notes')} errorMessage={fieldErrorOf(error, 'notes')} />
    </>
  );
}

export function Customers() {
  const s = useSession();
  const [, navigate] = useLocation();
  const [q, setQ] = useState('');
  const [archived, setArchived] = useState(false);
  const pages = usePages();
  const list = useLoad(
    (signal) => api.get<api.Page<Customer>>('/api/msp-portal/customers', { query: { q: q.trim(), archived, cursor: pages.cursor, limit: 25 }, signal }),
    [q, archived, pages.cursor, s.orgId],
  );
  const [adding, setAdding] = useState(false);
  const [form, setForm] = useState(emptyCustomer);
  const [addError, setAddError] = useState<unknown>(null);
  const [warnings, setWarnings] = useState<Warning[]>([]);
  const [merging, setMerging] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);

  const set = (k: keyof CustomerForm) => (v: string) => setForm((f) => ({ ...f, [k]: v }));

  return (
    <section>
      <div className="page-head">
        <h1>Customers</h1>
        <div className="actions">
          <GuardedButton need="manage-customers" onPress={() => setAdding(true)}>
            Add Customer
          </GuardedButton>
          <ImportButton path="/api/msp-portal/customers/import" need="manage-customers" label="Import Customers" what="customers" onDone={list.reload} />
          <ExportMenu path="/api/msp-portal/customers/export" query={{ archived }} name="customers" onError={setActionError} />
          <GuardedButton need="delete-customers" className="btn" onPress={() => setMerging(true)}>
            Merge Customers
          </GuardedButton>
        </div>
      </div>
      {warnings.length > 0 && (
        <div className="notice" role="status">
          {warnings.map((w) => (
            <p key={w.code}>{w.message}</p>
          ))}
        </div>
      )}
      <ProblemMessage error={actionError} />
      <div className="filters">
        <SearchField
          className="field"
          value={q}
          onChange={(v) => {
            setQ(v);
            pages.reset();
          }}
        >
          <Label>Search by name</Label>
          <Input placeholder="Customer name starts with…" />
        </SearchField>
        <Switch
          className="switch"
          isSelected={archived}
          onChange={(v) => {
            setArchived(v);
            pages.reset();
          }}
        >
          <span className="track" aria-hidden="true" />
          Show archived customers
        </Switch>
      </div>
      <ProblemMessage error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading what="customers" />}
      {list.data && (
        <DataTable
          caption={archived ? 'Archived customers' : 'Customers'}
          rows={list.data.items}
          rowKey={(c) => c.id}
          empty={q ? 'No customer name starts with that.' : archived ? 'No archived customers.' : 'No customers yet. Add one, or import a CSV.'}
          columns={customerColumns}
        />
      )}
      <Pager pages={pages} nextCursor={list.data?.nextCursor} />

      <FormDialog
        title="Add Customer"
        submitLabel="Add Customer"
        isOpen={adding}
        onOpenChange={setAdding}
        onReset={() => setForm(emptyCustomer)}
        error={addError}
        setError={setAddError}
        submit={async () => {
          const c = await api.post<CustomerDetail & { warnings: Warning[] }>('/api/msp-portal/customers', customerBody(form));
          setWarnings(c.warnings ?? []);
          navigate(`/customers/${c.id}`);
        }}
      >
        <CustomerFields form={form} set={set} error={addError} />
      </FormDialog>
      <MergeDialog isOpen={merging} onOpenChange={setMerging} onDone={list.reload} />
    </section>
  );
}

// The columns of seed 001's customer list.
const customerColumns: Column<Customer>[] = [
  {
    header: 'Customer Name',
    cell: (c) => (
      <>
        <Link href={`/customers/${c.id}`}>{c.name}</Link>
        {c.archived && <span className="badge">Archived</span>}
      </>
    ),
  },
  {
    header: 'Primary Contact',
    cell: (c) =>
      c.primaryContactName || c.primaryContactEmail ? (
        <>
          {c.primaryContactName}
          {c.primaryContactEmail && <div className="muted">{c.primaryContactEmail}</div>}
        </>
      ) : (
        '—'
      ),
  },
  { header: 'Tenants', num: true, cell: (c) => c.tenantCount },
  { header: 'Total Users', num: true, cell: (c) => c.totalUsers },
  { header: 'Health Status', cell: (c) => <HealthBadge health={c.health} /> },
  { header: 'PSA ID', cell: (c) => (c.psaLinks.length ? c.psaLinks.map((l) => `${l.type} ${l.externalId}`).join(', ') : '—') },
  { header: 'Created', cell: (c) => formatDate(c.createdAt) },
];

// ImportButton uploads a CSV to path as an import job and follows it: progress, then
// the rows it refused with their line numbers.
export function ImportButton({
  path,
  need,
  label,
  what,
  onDone,
}: {
  path: string;
  need: Permission;
  // label: the button's words ("Import Customers"); what: the things imported ("customers").
  label: string;
  what: string;
  onDone: () => void;
}) {
  const input = useRef<HTMLInputElement>(null);
  const [error, setError] = useState<unknown>(null);
  const { job, error: jobError, follow, reset } = useJob(() => onDone());
  return (
    <>
      <GuardedButton need={need} className="btn" onPress={() => input.current?.click()}>
        {label}
      </GuardedButton>
      <input
        ref={input}
        type="file"
        accept=".csv,text/csv"
        className="visually-hidden"
        aria-label={`CSV file of ${what} to import`}
        tabIndex={-1}
        onChange={async (ev) => {
          const file = ev.target.files?.[0];
          ev.target.value = '';
          if (!file) return;
          reset();
          setError(null);
          try {
            const j = await api.api<Job>('POST', path, { rawBody: await file.text(), contentType: 'text/csv' });
            follow(j);
          } catch (e) {
            setError(e);
          }
        }}
      />
      {(job || error || jobError) && (
        <div className="job-panel" role="region" aria-label="Import">
          <ProblemMessage error={error || jobError} />
          {job && <JobStatus job={job} what={`Importing ${what}`} onClose={reset} />}
        </div>
      )}
    </>
  );
}

export function JobStatus({ job, what, onClose }: { job: Job; what: string; onClose: () => void }) {
  const finished = job.status === 'succeeded' || job.status === 'failed';
  const result = job.result as { created?: number; updated?: number; skipped?: number };
  return (
    <div className="job" aria-live="polite">
      {!finished && <Progress label={what} done={job.progress.done} total={job.progress.total} />}
      {job.status === 'succeeded' && (
        <p className="success">
          {what}: done. {result?.created !== undefined ? `${result.created} created` : ''}
          {result?.updated ? `, ${result.updated} updated` : ''}
          {result?.skipped ? `, ${result.skipped} skipped` : ''}
          {job.errorCount ? `, ${job.errorCount} row${job.errorCount === 1 ? '' : 's'} with errors` : ''}.
        </p>
      )}
      {job.status === 'failed' && <p className="problem">{what} failed: {job.failure || 'the job stopped.'}</p>}
      {job.errors.length > 0 && (
        <details open>
          <summary>Rows not imported ({job.errorCount})</summary>
          <ul>
            {job.errors.map((e, i) => (
              <li key={i}>
                {e.line ? `Line ${e.line}` : 'File'}
                {e.field ? `, ${e.field}` : ''}: {e.message}
              </li>
            ))}
          </ul>
        </details>
      )}
      {finished && (
        <Button className="btn btn-small" onPress={onClose}>
          Dismiss
        </Button>
      )}
    </div>
  );
}

function MergeDialog({ isOpen, onOpenChange, onDone }: { isOpen: boolean; onOpenChange: (o: boolean) => void; onDone: () => void }) {
  const all = useLoad((signal) => (isOpen ? api.get<api.Page<Customer>>('/api/msp-portal/customers', { query: { limit: 100 }, signal }) : Promise.resolve(undefined)), [isOpen]);
  const [target, setTarget] = useState<string | null>(null);
  const [source, setSource] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const { job, follow, reset } = useJob(() => onDone());
  const options = (all.data?.items ?? []).map((c) => ({ id: c.id, label: c.name }));
  return (
    <>
      <FormDialog
        title="Merge Customers"
        submitLabel="Merge"
        isOpen={isOpen}
        onOpenChange={onOpenChange}
        error={error}
        setError={setError}
        submit={async () => {
          if (!target || !source) throw new Error('Pick the duplicate and the customer to keep.');
          if (target === source) throw new Error('Pick two different customers.');
          reset();
          follow(await api.post<Job>(`/api/msp-portal/customers/${target}/merge`, { sourceCustomerId: source }));
        }}
      >
        <p>The duplicate's tenants, contacts, tickets, documents and PSA links move to the customer you keep; then the duplicate is deleted.</p>
        <ProblemMessage error={all.error} />
        <SelectField label="Duplicate to merge (removed)" options={options} value={source} onChange={setSource} placeholder="Pick a customer" isRequired />
        <SelectField label="Customer to keep" options={options} value={target} onChange={setTarget} placeholder="Pick a customer" isRequired />
      </FormDialog>
      {job && (
        <div className="job-panel" role="region" aria-label="Merge">
          <JobStatus job={job} what="Merging customers" onClose={reset} />
        </div>
      )}
    </>
  );
}
