import { useState } from 'react';
import { Button } from 'react-aria-components';
import * as api from '../api';
import { useLoad } from '../hooks';
import { useSession } from '../session';
import type { AuditEvent } from '../types';
import { DataTable, ExportMenu, Field, Loading, Pager, ProblemMessage, SelectField, formatDateTime, usePages, type Option } from '../components/ui';

const categories = ['sign-in', 'user-management', 'tenant', 'customer', 'settings', 'license-order', 'approval', 'support', 'billing'];
const targetTypes: Option[] = [
  { id: 'customer', label: 'Customer' },
  { id: 'tenant', label: 'Tenant' },
  { id: 'user', label: 'User' },
];

// The chain check (GET /api/audit-log/verify) walks from the last checkpoint; a long
// walk stops early and answers resume, which the next call passes on.
interface Verification {
  ok: boolean;
  complete: boolean;
  verified: number;
  head: { seq: number; hash: string };
  break?: { seq: number; reason: string };
  resume?: string;
}

const breakReasons: Record<string, string> = {
  'sequence-gap': 'an event is missing or out of place',
  'prev-hash-mismatch': 'an event does not name the previous event',
  'hash-mismatch': 'an event was changed after it was written',
  'missing-events': 'the chain ends before its latest event',
  'head-mismatch': 'the latest event is not the one recorded',
};

// toISO reads a date input's value (YYYY-MM-DD) as the start of that day, local time.
function toISO(day: string, endOfDay = false): string | undefined {
  if (!day) return undefined;
  const d = new Date(`${day}T${endOfDay ? '23:59:59' : '00:00:00'}`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function AuditLog() {
  const s = useSession();
  const [category, setCategory] = useState('');
  const [actor, setActor] = useState('');
  const [targetType, setTargetType] = useState('');
  const [targetId, setTargetId] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [applied, setApplied] = useState<Record<string, string | undefined>>({});
  const pages = usePages();
  const list = useLoad(
    (signal) => api.get<api.Page<AuditEvent>>('/api/audit-log', { query: { ...applied, cursor: pages.cursor, limit: 50 }, signal }),
    [applied, pages.cursor, s.orgId],
  );
  const [verify, setVerify] = useState<Verification | null>(null);
  const [verifying, setVerifying] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const filters = () => ({
    category: category || undefined,
    actor: actor.trim() || undefined,
    targetType: targetType && targetId.trim() ? targetType : undefined,
    targetId: targetType && targetId.trim() ? targetId.trim() : undefined,
    from: toISO(from),
    to: toISO(to, true),
  });

  return (
    <section>
      <div className="page-head">
        <h1>Audit log</h1>
        <div className="actions">
          <ExportMenu path="/api/audit-log/export" query={applied} name="audit-log" onError={setError} />
          <Button
            className="btn"
            isPending={verifying}
            onPress={async () => {
              setVerifying(true);
              setError(null);
              setVerify(null);
              try {
                let total = 0;
                let resume: string | undefined;
                for (;;) {
                  const v: Verification = await api.get<Verification>('/api/audit-log/verify', { query: { resume } });
                  total += v.verified;
                  setVerify({ ...v, verified: total });
                  if (v.complete || !v.resume) break;
                  resume = v.resume;
                }
              } catch (e) {
                setError(e);
              } finally {
                setVerifying(false);
              }
            }}
          >
            {verifying ? 'Verifying…' : 'Verify chain'}
          </Button>
        </div>
      </div>
      <p className="muted">Sign-ins with IP address and browser, user management, tenant and customer changes, settings, license orders and approvals.</p>
      {verify && (
        <div className={verify.ok ? 'success' : 'problem'} role="status">
          {!verify.complete
            ? `Checking the audit log's chain… ${verify.verified} events so far.`
            : verify.ok
              ? `The audit log is intact: ${verify.verified} events checked, each chained to the one before, up to event #${verify.head.seq}.`
              : `The audit log's chain is broken at event #${verify.break?.seq}: ${breakReasons[verify.break?.reason ?? ''] ?? verify.break?.reason}. Report this to your security contact.`}
        </div>
      )}
      <ProblemMessage error={error} />
      <form
        className="filters"
        aria-label="Filters"
        onSubmit={(e) => {
          e.preventDefault();
          pages.reset();
          setApplied(filters());
        }}
      >
        <SelectField
          label="Category"
          options={[{ id: '__all', label: 'All categories' }, ...categories.map((c) => ({ id: c, label: c }))]}
          value={category || '__all'}
          onChange={(k) => setCategory(k === '__all' ? '' : k)}
        />
        <Field label="Actor (user id)" value={actor} onChange={setActor} />
        <SelectField
          label="Target type"
          options={[{ id: '__any', label: 'Any target' }, ...targetTypes]}
          value={targetType || '__any'}
          onChange={(k) => setTargetType(k === '__any' ? '' : k)}
        />
        <Field label="Target id" value={targetId} onChange={setTargetId} isDisabled={!targetType} />
        <Field label="From" type="date" value={from} onChange={setFrom} />
        <Field label="To" type="date" value={to} onChange={setTo} />
        <Button className="btn btn-primary" type="submit">
          Apply filters
        </Button>
      </form>
      <ProblemMessage error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading what="the audit log" />}
      {list.data && (
        <DataTable
          caption="Audit events, newest first"
          rows={list.data.items}
          rowKey={(e) => e.id}
          empty="No events match."
          columns={[
            { header: 'When', cell: (e) => formatDateTime(e.at) },
            {
              header: 'Who',
              cell: (e) => (
                <>
                  {e.actor.email || e.actor.userId || 'the system'}
                  {e.onBehalfOf && (
                    <div className="muted">
                      on behalf of {e.onBehalfOf.mspOrganizationId}
                      {e.onBehalfOf.reason ? `: ${e.onBehalfOf.reason}` : ''}
                    </div>
                  )}
                </>
              ),
            },
            { header: 'Category', cell: (e) => <span className="badge">{e.category}</span> },
            { header: 'What', cell: (e) => e.summary || e.action },
            {
              header: 'From',
              cell: (e) => (
                <>
                  {e.sourceIp || '—'}
                  {e.client?.browser && <div className="muted">{[e.client.browser, e.client.os].filter(Boolean).join(' on ')}</div>}
                </>
              ),
            },
          ]}
        />
      )}
      <Pager pages={pages} nextCursor={list.data?.nextCursor} labels={['Newer', 'Older']} />
    </section>
  );
}
