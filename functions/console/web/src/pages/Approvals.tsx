import { useState } from 'react';
import { Tab, TabList, Tabs } from 'react-aria-components';
import * as api from '../api';
import { useLoad } from '../hooks';
import { useSession } from '../session';
import type { Approval, Tenant } from '../types';
import { DataTable, Field, FormDialog, GuardedButton, Loading, Notice, ProblemMessage, TenantSelect, fieldErrorOf, formatDate, formatDateTime } from '../components/ui';

const statuses = ['pending', 'approved', 'rejected', 'expired'];

function StatusTabs({ value, onChange }: { value: string; onChange: (s: string) => void }) {
  return (
    <Tabs className="tabs" selectedKey={value} onSelectionChange={(k) => onChange(String(k))}>
      <TabList aria-label="Status" className="tablist">
        {statuses.map((s) => (
          <Tab key={s} id={s} className="tab">
            {s[0].toUpperCase() + s.slice(1)}
          </Tab>
        ))}
      </TabList>
    </Tabs>
  );
}

// Decide approves or rejects (with a reason) one pending request.
function Decide({ base, item, onDone }: { base: string; item: Approval; onDone: (e?: unknown) => void }) {
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <span className="row-actions">
      <GuardedButton
        need="approve-requests"
        className="btn btn-small btn-primary"
        isPending={busy}
        aria-label={`Approve ${item.summary || item.sku || item.id}`}
        onPress={async () => {
          setBusy(true);
          try {
            await api.post(`${base}/${encodeURIComponent(item.id)}/approve`);
            onDone();
          } catch (e) {
            onDone(e);
          } finally {
            setBusy(false);
          }
        }}
      >
        Approve
      </GuardedButton>
      <GuardedButton need="approve-requests" className="btn btn-small" onPress={() => setRejecting(true)} aria-label={`Reject ${item.summary || item.sku || item.id}`}>
        Reject
      </GuardedButton>
      <FormDialog
        title="Reject request"
        submitLabel="Reject"
        isOpen={rejecting}
        onOpenChange={setRejecting}
        error={error}
        setError={setError}
        submit={async () => {
          await api.post(`${base}/${encodeURIComponent(item.id)}/reject`, { reason });
          onDone();
        }}
      >
        <Field label="Reason" description="The requester sees it." value={reason} onChange={setReason} isRequired errorMessage={fieldErrorOf(error, 'reason')} />
      </FormDialog>
    </span>
  );
}

export function Approvals() {
  const s = useSession();
  const [status, setStatus] = useState('pending');
  const [error, setError] = useState<unknown>(null);
  const list = useLoad((signal) => api.get<api.Page<Approval>>('/api/approvals', { query: { status, limit: 50 }, signal }), [status, s.orgId]);
  return (
    <section>
      <h1>Approvals</h1>
      <p className="muted">Actions held for an Administrator's approval. Nobody approves their own request; a request expires after 7 days.</p>
      <StatusTabs value={status} onChange={setStatus} />
      <ProblemMessage error={error} />
      <ProblemMessage error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading what="approvals" />}
      {list.data && (
        <DataTable
          caption={`${status} approvals`}
          rows={list.data.items}
          rowKey={(a) => a.id}
          empty={`Nothing ${status}.`}
          columns={[
            { header: 'Request', cell: (a) => a.summary || a.action },
            { header: 'Requested by', cell: (a) => a.requestedBy?.email },
            { header: 'Requested', cell: (a) => formatDateTime(a.requestedAt) },
            {
              header: status === 'pending' ? 'Expires' : 'Decision',
              cell: (a) => (status === 'pending' ? formatDate(a.expiresAt) : `${a.decidedBy?.email ?? ''}${a.reason ? `: ${a.reason}` : ''}`),
            },
            {
              header: 'Actions',
              hideHeader: true,
              cell: (a) =>
                a.status === 'pending' && (
                  <Decide
                    base="/api/approvals"
                    item={a}
                    onDone={(e) => {
                      setError(e ?? null);
                      list.reload();
                    }}
                  />
                ),
            },
          ]}
        />
      )}
    </section>
  );
}

export function LicenseOrders() {
  const s = useSession();
  const [status, setStatus] = useState('pending');
  const [error, setError] = useState<unknown>(null);
  const [ordering, setOrdering] = useState(false);
  const [notice, setNotice] = useState('');
  const list = useLoad(
    (signal) => api.get<api.Page<Approval>>('/api/msp-portal/license-orders', { query: { status, limit: 50 }, signal }),
    [status, s.orgId],
  );
  return (
    <section>
      <div className="page-head">
        <h1>License orders</h1>
        <div className="actions">
          <GuardedButton need="order-licenses" onPress={() => setOrdering(true)}>
            Order Licenses
          </GuardedButton>
        </div>
      </div>
      <p className="muted">A Technician's order waits for an Administrator's approval; an Administrator's is approved as it is placed.</p>
      <Notice text={notice} />
      <StatusTabs value={status} onChange={setStatus} />
      <ProblemMessage error={error} />
      <ProblemMessage error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading what="license orders" />}
      {list.data && (
        <DataTable
          caption={`${status} license orders`}
          rows={list.data.items}
          rowKey={(o) => o.id}
          empty={`No ${status} orders.`}
          columns={[
            { header: 'Tenant', cell: (o) => o.tenantName },
            { header: 'SKU', cell: (o) => o.sku },
            { header: 'Quantity', num: true, cell: (o) => o.quantity },
            {
              header: 'Note',
              cell: (o) => (
                <>
                  {o.note || '—'}
                  {o.notifyError && <div className="problem-inline">Approvers were not told: {o.notifyError}</div>}
                  {o.reason && <div className="muted">Reason: {o.reason}</div>}
                </>
              ),
            },
            { header: 'Requested by', cell: (o) => o.requestedBy?.email },
            { header: 'Requested', cell: (o) => formatDateTime(o.requestedAt) },
            {
              header: 'Actions',
              hideHeader: true,
              cell: (o) =>
                o.status === 'pending' &&
                s.can('approve-requests') &&
                o.requestedBy?.userId !== s.me.user.id && (
                  <Decide
                    base="/api/msp-portal/license-orders"
                    item={o}
                    onDone={(e) => {
                      setError(e ?? null);
                      list.reload();
                    }}
                  />
                ),
            },
          ]}
        />
      )}
      {ordering && (
        <OrderDialog
          onClose={() => setOrdering(false)}
          onDone={(o) => {
            setNotice(o.status === 'pending' ? 'Order placed: it waits for an Administrator’s approval.' : 'Order placed and approved: the licenses were added.');
            setStatus(o.status === 'pending' ? 'pending' : 'approved');
            list.reload();
          }}
        />
      )}
    </section>
  );
}

function OrderDialog({ onClose, onDone }: { onClose: () => void; onDone: (o: Approval) => void }) {
  const tenants = useLoad((signal) => api.get<api.Page<Tenant>>('/api/msp-portal/tenants', { query: { limit: 100 }, signal }), []);
  const [tenantId, setTenantId] = useState<string | null>(null);
  const [sku, setSku] = useState('SPE_E3');
  const [quantity, setQuantity] = useState('1');
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>(null);
  return (
    <FormDialog
      title="Order Licenses"
      submitLabel="Place Order"
      isOpen
      onOpenChange={(o) => !o && onClose()}
      error={error}
      setError={setError}
      submit={async () => {
        if (!tenantId) throw new Error('Pick the tenant the licenses are for.');
        onDone(await api.post<Approval>('/api/msp-portal/license-orders', { tenantId, sku, quantity: Number(quantity), note }));
      }}
    >
      <TenantSelect tenants={tenants.data?.items ?? []} error={tenants.error} value={tenantId} onChange={setTenantId} emptyText="No tenants are registered yet." />
      <Field label="SKU" description="The Microsoft 365 SKU part number, e.g. SPE_E3" value={sku} onChange={setSku} isRequired errorMessage={fieldErrorOf(error, 'sku')} />
      <Field label="Quantity" inputMode="numeric" value={quantity} onChange={setQuantity} isRequired errorMessage={fieldErrorOf(error, 'quantity')} />
      <Field label="Note" value={note} onChange={setNote} errorMessage={fieldErrorOf(error, 'note')} />
    </FormDialog>
  );
}
