import { useState } from 'react';
import * as api from '../api';
import { useAction, useLoad } from '../hooks';
import { useSession } from '../session';
import type { Connection, ConnectionTestResult, ConnectionType, Tenant } from '../types';
import { Field, FormDialog, GuardedButton, LoadedTable, Notice, ProblemMessage, SelectField, TenantSelect, fieldErrorOf, formatDateTime, sentence, type Column } from '../components/ui';

export const connectionTypeNames: Record<ConnectionType, string> = {
  m365: 'Microsoft 365',
  connectwise: 'ConnectWise Manage',
  autotask: 'Autotask',
  halopsa: 'HaloPSA',
};

interface CredentialField {
  name: string;
  label: string;
  description?: string;
  secret?: boolean;
  optional?: boolean;
}

// Each type's credentials, as shared/domain/connection.go validates them. They are
// write-only: the inputs start empty, are never filled from the API (it sends none) and
// are emptied when the dialog closes.
const credentialFields: Record<ConnectionType, CredentialField[]> = {
  m365: [
    { name: 'clientId', label: 'Application (client) ID', description: 'Of an app registration granted Microsoft Graph application permissions.' },
    { name: 'clientSecret', label: 'Client secret', secret: true },
    { name: 'entraTenantId', label: 'Directory (tenant) ID', description: "Optional: the tenant's own by default.", optional: true },
  ],
  connectwise: [
    { name: 'site', label: 'Site', description: 'The API host, e.g. api-na.myconnectwise.net.' },
    { name: 'companyId', label: 'Company ID' },
    { name: 'publicKey', label: 'Public key' },
    { name: 'privateKey', label: 'Private key', secret: true },
    { name: 'clientId', label: 'Client ID', description: 'The developer client ID ConnectWise issues.' },
  ],
  autotask: [
    { name: 'username', label: 'API user name' },
    { name: 'secret', label: 'Secret', secret: true },
    { name: 'integrationCode', label: 'Integration code', description: 'The tracking identifier of the API user.' },
    { name: 'zone', label: 'Zone URL', description: 'Optional: found by zone lookup when empty.', optional: true },
  ],
  halopsa: [
    { name: 'instanceUrl', label: 'Instance URL', description: 'e.g. https://yourcompany.halopsa.com' },
    { name: 'clientId', label: 'Client ID' },
    { name: 'clientSecret', label: 'Client secret', secret: true },
    { name: 'tenant', label: 'Tenant', description: 'Hosted instances only.', optional: true },
  ],
};

const statusWords = { untested: 'Not tested yet', connected: 'Connected', failed: 'Failed' };

type Dialog = { kind: 'add' } | { kind: 'label' | 'rotate'; connection: Connection } | null;

// Connections: Microsoft 365 and the PSAs. Everybody sees each connection's label and
// type (seed 003: never credentials); those who manage platform settings see its status,
// last test and masked hint, and add, rename, rotate, test and remove.
export function Connections() {
  const s = useSession();
  const list = useLoad((signal) => api.get<api.Page<Connection>>('/api/connections', { query: { limit: 100 }, signal }), [s.orgId]);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [notice, setNotice] = useState('');
  const [testing, setTesting] = useState<string | null>(null);
  const row = useAction(list.reload);
  const manages = s.can('platform-settings');

  const test = (c: Connection) =>
    row.run(async () => {
      setNotice('');
      setTesting(c.id);
      try {
        const r = await api.post<ConnectionTestResult>(`/api/connections/${encodeURIComponent(c.id)}/test`);
        setNotice(testWords(c, r));
      } finally {
        setTesting(null);
      }
    });

  const columns: Column<Connection>[] = [
    { header: 'Label', cell: (c) => c.label },
    { header: 'Type', cell: (c) => connectionTypeNames[c.type] ?? c.type },
  ];
  if (manages) {
    columns.push(
      {
        header: 'Status',
        cell: (c) =>
          c.status ? (
            <>
              <span className={`badge ${c.status === 'connected' ? 'health-healthy' : c.status === 'failed' ? 'health-critical' : ''}`}>{statusWords[c.status]}</span>
              {c.lastError && <div className="muted">{c.lastError.message}</div>}
            </>
          ) : (
            '—'
          ),
      },
      { header: 'Secret', cell: (c) => (c.hint ? <span aria-label={`Secret ending ${c.hint.replace(/•/g, '')}`}>{c.hint}</span> : '—') },
      { header: 'Last tested', cell: (c) => formatDateTime(c.lastTestedAt) },
      {
        header: 'Actions',
        hideHeader: true,
        cell: (c) => (
          <div className="row-actions">
            <GuardedButton need="platform-settings" className="btn btn-small" aria-label={`Test ${c.label}`} isPending={testing === c.id} onPress={() => test(c)}>
              Test
            </GuardedButton>
            <GuardedButton need="platform-settings" className="btn btn-small" aria-label={`Rename ${c.label}`} onPress={() => setDialog({ kind: 'label', connection: c })}>
              Rename
            </GuardedButton>
            <GuardedButton need="platform-settings" className="btn btn-small" aria-label={`Rotate the credentials of ${c.label}`} onPress={() => setDialog({ kind: 'rotate', connection: c })}>
              Rotate credentials
            </GuardedButton>
            <GuardedButton
              need="platform-settings"
              className="btn btn-small btn-danger"
              aria-label={`Delete ${c.label}`}
              onPress={() => window.confirm(`Delete the connection ${c.label}? Its credentials are removed.`) && row.run(() => api.del(`/api/connections/${encodeURIComponent(c.id)}`))}
            >
              Delete
            </GuardedButton>
          </div>
        ),
      },
    );
  }

  return (
    <section>
      <div className="page-head">
        <h1>Connections</h1>
        <div className="actions">
          <GuardedButton need="platform-settings" onPress={() => setDialog({ kind: 'add' })}>
            Add Connection
          </GuardedButton>
        </div>
      </div>
      <p className="muted">
        Microsoft 365 (one per tenant) and your PSA. Credentials are sealed when saved and never shown again, to anyone: to change them, rotate them.
      </p>
      <Notice text={notice} />
      <ProblemMessage error={row.error} />
      <LoadedTable list={list} what="connections" caption="Connections" rowKey={(c) => c.id} empty="No connections yet. Connect Microsoft 365 and your PSA." columns={columns} />
      <ConnectionDialog
        // A fresh form for each dialog: nothing typed for one connection is kept for another.
        key={dialog ? `${dialog.kind}-${dialog.kind === 'add' ? '' : dialog.connection.id}` : 'closed'}
        dialog={dialog}
        onClose={() => setDialog(null)}
        onSaved={(what) => {
          setNotice(what);
          list.reload();
        }}
      />
    </section>
  );
}

// testWords is a test's outcome as a sentence.
function testWords(c: Connection, r: ConnectionTestResult): string {
  if (!r.checked) return `${c.label}: ${sentence(r.message)}`;
  if (r.ok) return `${c.label} works. ${sentence(r.message || 'the credentials were accepted')}`;
  return `${c.label} failed the test. ${sentence(r.error?.message || r.message)} Check the credentials, rotate them if they changed, and test again.`;
}

function ConnectionDialog({ dialog, onClose, onSaved }: { dialog: Dialog; onClose: () => void; onSaved: (what: string) => void }) {
  const conn = dialog && dialog.kind !== 'add' ? dialog.connection : null;
  const [type, setType] = useState<ConnectionType>('m365');
  const [label, setLabel] = useState(conn?.label ?? '');
  const [tenantId, setTenantId] = useState<string | null>(null);
  const [creds, setCreds] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const adding = dialog?.kind === 'add';
  const tenants = useLoad(
    (signal) => (adding && type === 'm365' ? api.get<api.Page<Tenant>>('/api/msp-portal/tenants', { query: { limit: 100 }, signal }) : Promise.resolve(undefined)),
    [adding, type],
  );
  const kind = dialog?.kind;
  const fields = kind === 'label' ? [] : credentialFields[conn?.type ?? type];
  // Only the fields filled are sent: an empty optional field is left out.
  const filled = () => Object.fromEntries(Object.entries(creds).filter(([k, v]) => v.trim() !== '' && fields.some((f) => f.name === k)));
  const title = kind === 'add' ? 'Add Connection' : kind === 'label' ? `Rename ${conn?.label}` : `Rotate the credentials of ${conn?.label}`;
  return (
    <FormDialog
      title={title}
      submitLabel={kind === 'add' ? 'Add Connection' : kind === 'label' ? 'Save' : 'Rotate credentials'}
      isOpen={!!dialog}
      onOpenChange={(open) => {
        if (!open) onClose();
      }}
      onReset={() => {
        setLabel('');
        setTenantId(null);
        setCreds({});
      }}
      error={error}
      setError={setError}
      submit={async () => {
        if (kind === 'add') {
          const c = await api.post<Connection>('/api/connections', { type, label, tenantId: type === 'm365' ? tenantId ?? undefined : undefined, credentials: filled() });
          onSaved(`${c.label} was added. Test it to check the credentials.`);
        } else if (conn && kind === 'label') {
          await api.put(`/api/connections/${encodeURIComponent(conn.id)}`, { label, version: conn.version });
          onSaved(`The connection is now called ${label}.`);
        } else if (conn) {
          await api.put(`/api/connections/${encodeURIComponent(conn.id)}`, { label: conn.label, credentials: filled(), version: conn.version });
          onSaved(`The credentials of ${conn.label} were rotated. Test it to check them.`);
        }
        setCreds({});
      }}
    >
      {kind === 'add' && (
        <>
          <SelectField
            label="Type"
            options={(Object.keys(connectionTypeNames) as ConnectionType[]).map((t) => ({ id: t, label: connectionTypeNames[t] }))}
            value={type}
            onChange={(t) => {
              setType(t as ConnectionType);
              setCreds({});
            }}
            isRequired
          />
          <Field label="Label" value={label} onChange={setLabel} isRequired errorMessage={fieldErrorOf(error, 'label')} description="A name to tell it apart, e.g. Contoso production." />
          {type === 'm365' && (
            <>
              <TenantSelect
                tenants={tenants.data?.items ?? []}
                error={tenants.error}
                value={tenantId}
                onChange={setTenantId}
                emptyText="No tenants yet. Register one on a customer's Tenants tab first."
              />
              {fieldErrorOf(error, 'tenantId') && <p className="problem-inline">Tenant: {fieldErrorOf(error, 'tenantId')}</p>}
            </>
          )}
        </>
      )}
      {kind === 'label' && <Field label="Label" value={label} onChange={setLabel} isRequired autoFocus errorMessage={fieldErrorOf(error, 'label')} />}
      {fields.length > 0 && (
        <fieldset className="credentials">
          <legend>{kind === 'rotate' ? 'New credentials' : 'Credentials'} (write-only: never shown again)</legend>
          {fields.map((f) => (
            <Field
              key={f.name}
              label={f.label}
              description={f.description}
              type={f.secret ? 'password' : 'text'}
              autoComplete={f.secret ? 'new-password' : 'off'}
              value={creds[f.name] ?? ''}
              onChange={(v) => setCreds((c) => ({ ...c, [f.name]: v }))}
              isRequired={!f.optional}
              errorMessage={fieldErrorOf(error, `credentials.${f.name}`)}
            />
          ))}
        </fieldset>
      )}
    </FormDialog>
  );
}
