import { useEffect, useState } from 'react';
import { Checkbox, Switch, Tab, TabList, TabPanel, Tabs } from 'react-aria-components';
import * as api from '../api';
import { useLoad } from '../hooks';
import { useSession } from '../session';
import type { Permission } from '../permissions';
import { Field, GuardedButton, Loading, Notice, ProblemMessage, SelectField, fieldErrorOf } from '../components/ui';

interface Profile {
  organizationId: string;
  companyName: string;
  displayName: string;
  address: string;
  phone: string;
  primaryContactEmail: string;
  website: string;
  taxId: string;
  timeZone: string;
  dateFormat: 'US' | 'International';
  currency: string;
  language: string;
  billingContact?: { name: string; email: string; phone: string };
  authentication: { entraSsoEnabled: boolean; requireMfa: boolean; sessionTimeoutMinutes: number };
  requireApprovalFor: string[];
  version: number;
}

interface AuthSettings {
  entraSsoEnabled: boolean;
  requireMfa: boolean;
  sessionTimeoutMinutes: number;
  sso?: { entraTenantId: string; clientId: string; domains: string[]; hasClientSecret: boolean } | null;
  version: number;
}

const heldActions = [
  { id: 'delete-customer', label: 'Deleting a customer' },
  { id: 'grant-administrator', label: 'Granting the Administrator role' },
  { id: 'remove-member', label: 'Removing a member' },
  { id: 'change-authentication-settings', label: 'Changing the authentication settings' },
];

// Settings: the organization (name and profile), business settings, authentication
// and the billing contact (seed 000), each saved on its own.
export function Settings() {
  const s = useSession();
  const profile = useLoad((signal) => api.get<Profile>('/api/msp-portal/settings/profile', { signal }), [s.orgId]);
  const [draft, setDraft] = useState<Profile | null>(null);
  useEffect(() => setDraft(profile.data ?? null), [profile.data]);
  if (profile.error) return <ProblemMessage error={profile.error} onRetry={profile.reload} />;
  if (!draft) return <Loading what="settings" />;
  const set = <K extends keyof Profile>(k: K) => (v: Profile[K]) => setDraft((d) => (d ? { ...d, [k]: v } : d));
  return (
    <section>
      <h1>Settings</h1>
      <Tabs className="tabs">
        <TabList aria-label="Settings" className="tablist">
          <Tab id="organization" className="tab">Organization</Tab>
          <Tab id="business" className="tab">Business settings</Tab>
          <Tab id="authentication" className="tab">Authentication</Tab>
          <Tab id="billing" className="tab">Billing contact</Tab>
        </TabList>
        <TabPanel id="organization" className="tabpanel">
          <RenameOrganization />
          <ProfileForm draft={draft} onSaved={(p) => profile.setData(p)} need="platform-settings" title="Organization profile">
            {(error) => (
              <>
                <Field label="Company name" description="Legal business name" value={draft.companyName} onChange={set('companyName')} errorMessage={fieldErrorOf(error, 'companyName')} />
                <Field label="Display name" description="Brand name shown in the platform" value={draft.displayName} onChange={set('displayName')} errorMessage={fieldErrorOf(error, 'displayName')} />
                <Field label="Address" value={draft.address} onChange={set('address')} errorMessage={fieldErrorOf(error, 'address')} />
                <Field label="Phone" type="tel" value={draft.phone} onChange={set('phone')} errorMessage={fieldErrorOf(error, 'phone')} />
                <Field label="Primary contact email" type="email" value={draft.primaryContactEmail} onChange={set('primaryContactEmail')} errorMessage={fieldErrorOf(error, 'primaryContactEmail')} />
                <Field label="Website" type="url" value={draft.website} onChange={set('website')} errorMessage={fieldErrorOf(error, 'website')} />
                <Field label="Tax ID" description="Used for invoicing" value={draft.taxId} onChange={set('taxId')} errorMessage={fieldErrorOf(error, 'taxId')} />
              </>
            )}
          </ProfileForm>
        </TabPanel>
        <TabPanel id="business" className="tabpanel">
          <ProfileForm draft={draft} onSaved={(p) => profile.setData(p)} need="platform-settings" title="Business settings">
            {(error) => (
              <>
                <Field label="Time zone" description="IANA name, e.g. America/Los_Angeles; affects reports, schedules and SLA calculations" value={draft.timeZone} onChange={set('timeZone')} errorMessage={fieldErrorOf(error, 'timeZone')} />
                <SelectField
                  label="Date format"
                  options={[
                    { id: 'US', label: 'US (MM/DD/YYYY)' },
                    { id: 'International', label: 'International (DD/MM/YYYY)' },
                  ]}
                  value={draft.dateFormat}
                  onChange={(k) => set('dateFormat')(k as Profile['dateFormat'])}
                />
                <Field label="Currency" description="ISO 4217 code for billing and pricing, e.g. USD" value={draft.currency} onChange={set('currency')} errorMessage={fieldErrorOf(error, 'currency')} />
                <Field label="Language" description="Platform UI language, e.g. en-US" value={draft.language} onChange={set('language')} errorMessage={fieldErrorOf(error, 'language')} />
                <fieldset className="field">
                  <legend>Require an Administrator’s approval for</legend>
                  {heldActions.map((a) => (
                    <Checkbox
                      key={a.id}
                      className="checkbox"
                      isSelected={draft.requireApprovalFor.includes(a.id)}
                      onChange={(on) => set('requireApprovalFor')(on ? [...draft.requireApprovalFor, a.id] : draft.requireApprovalFor.filter((x) => x !== a.id))}
                    >
                      <span className="box" aria-hidden="true" />
                      {a.label}
                    </Checkbox>
                  ))}
                </fieldset>
              </>
            )}
          </ProfileForm>
        </TabPanel>
        <TabPanel id="authentication" className="tabpanel">
          <AuthenticationForm />
        </TabPanel>
        <TabPanel id="billing" className="tabpanel">
          {draft.billingContact ? (
            <ProfileForm draft={draft} onSaved={(p) => profile.setData(p)} need="manage-billing" title="Billing contact">
              {(error) => (
                <>
                  <p className="muted">Receives invoice notifications, payment confirmations and billing-related alerts.</p>
                  <Field label="Name" value={draft.billingContact!.name} onChange={(v) => set('billingContact')({ ...draft.billingContact!, name: v })} errorMessage={fieldErrorOf(error, 'billingContact.name')} />
                  <Field label="Email" type="email" value={draft.billingContact!.email} onChange={(v) => set('billingContact')({ ...draft.billingContact!, email: v })} errorMessage={fieldErrorOf(error, 'billingContact.email')} />
                  <Field label="Phone" type="tel" value={draft.billingContact!.phone} onChange={(v) => set('billingContact')({ ...draft.billingContact!, phone: v })} errorMessage={fieldErrorOf(error, 'billingContact.phone')} />
                </>
              )}
            </ProfileForm>
          ) : (
            <p>Billing information is shown to members who manage billing. Ask an Administrator.</p>
          )}
        </TabPanel>
      </Tabs>
    </section>
  );
}

function ProfileForm({
  draft,
  onSaved,
  need,
  title,
  children,
}: {
  draft: Profile;
  onSaved: (p: Profile) => void;
  need: Permission;
  title: string;
  children: (error: unknown) => React.ReactNode;
}) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  return (
    <form
      className="settings-form"
      aria-label={title}
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        setSaved(false);
        try {
          onSaved(await api.put<Profile>('/api/msp-portal/settings/profile', draft));
          setSaved(true);
        } catch (err) {
          setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>{title}</h2>
      {children(error)}
      <ProblemMessage error={error} />
      <Notice text={saved ? 'Saved.' : ''} />
      <GuardedButton need={need} type="submit" isPending={busy}>
        Save
      </GuardedButton>
    </form>
  );
}

function RenameOrganization() {
  const s = useSession();
  const org = s.support ? { id: s.support.id, name: s.support.name } : s.active!;
  const [name, setName] = useState(org.name);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  return (
    <form
      className="settings-form"
      aria-label="Organization name"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        setSaved(false);
        try {
          await api.put(`/api/organizations/${encodeURIComponent(org.id)}`, { name });
          await s.reload();
          setSaved(true);
        } catch (err) {
          setError(err);
        }
      }}
    >
      <h2>Organization name</h2>
      <Field label="Organization name" value={name} onChange={setName} isRequired errorMessage={fieldErrorOf(error, 'name')} />
      <ProblemMessage error={error} />
      <Notice text={saved ? 'Renamed.' : ''} />
      <GuardedButton need="rename-organization" type="submit">
        Save
      </GuardedButton>
    </form>
  );
}

function AuthenticationForm() {
  const s = useSession();
  const cur = useLoad((signal) => api.get<AuthSettings>('/api/settings/authentication', { signal }), [s.orgId]);
  const [d, setD] = useState<AuthSettings | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  useEffect(() => setD(cur.data ?? null), [cur.data]);
  if (cur.error) return <ProblemMessage error={cur.error} onRetry={cur.reload} />;
  if (!d) return <Loading what="authentication settings" />;
  return (
    <>
      <form
        className="settings-form"
        aria-label="Authentication"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          setNotice('');
          try {
            const res = await api.put<AuthSettings & { status?: string }>('/api/settings/authentication', d);
            setNotice(res.status === 'pending' ? 'Held for an Administrator’s approval.' : 'Saved.');
            cur.reload();
          } catch (err) {
            setError(err);
          }
        }}
      >
        <h2>Authentication</h2>
        <Switch className="switch" isSelected={d.entraSsoEnabled} onChange={(v) => setD({ ...d, entraSsoEnabled: v })}>
          <span className="track" aria-hidden="true" />
          Microsoft Entra ID SSO: sign in with a Microsoft work account
        </Switch>
        {d.sso && <p className="muted">Your own Entra ID sign-in is set up for {d.sso.domains.join(', ')}.</p>}
        <Switch className="switch" isSelected={d.requireMfa} onChange={(v) => setD({ ...d, requireMfa: v })}>
          <span className="track" aria-hidden="true" />
          Require MFA: enforce multi-factor authentication for all users
        </Switch>
        <Field
          label="Session timeout (minutes)"
          description="Auto sign-out after this much inactivity: 5 to 10,080 (the default is 480, 8 hours)."
          inputMode="numeric"
          value={String(d.sessionTimeoutMinutes)}
          onChange={(v) => setD({ ...d, sessionTimeoutMinutes: Number(v.replace(/\D/g, '')) || 0 })}
          errorMessage={fieldErrorOf(error, 'sessionTimeoutMinutes')}
        />
        <ProblemMessage error={error} />
        <Notice text={notice} />
        <GuardedButton need="platform-settings" type="submit">
          Save
        </GuardedButton>
      </form>
      <SSOForm current={d.sso} version={d.version} onSaved={cur.reload} />
    </>
  );
}

// SSOForm sets up the organization's own Microsoft Entra ID sign-in. The client secret
// is write-only: the API never returns it, and leaving the field empty keeps it.
function SSOForm({ current, version, onSaved }: { current: AuthSettings['sso']; version: number; onSaved: () => void }) {
  const [tenant, setTenant] = useState(current?.entraTenantId ?? '');
  const [clientId, setClientId] = useState(current?.clientId ?? '');
  const [secret, setSecret] = useState('');
  const [domains, setDomains] = useState((current?.domains ?? []).join(', '));
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  return (
    <form
      className="settings-form"
      aria-label="Your own Entra ID sign-in"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        setNotice('');
        try {
          await api.put('/api/settings/authentication/sso', {
            entraTenantId: tenant,
            clientId,
            clientSecret: secret || undefined,
            domains: domains.split(/[\s,;]+/).filter(Boolean),
            version,
          });
          setSecret('');
          setNotice('Saved. People of these domains now sign in through your Entra ID.');
          onSaved();
        } catch (err) {
          setError(err);
        }
      }}
    >
      <h2>Your own Entra ID sign-in</h2>
      <p className="muted">Route your people's sign-in to your organization's Microsoft Entra ID app registration, by their email domain.</p>
      <Field label="Directory (tenant) ID" value={tenant} onChange={setTenant} isRequired errorMessage={fieldErrorOf(error, 'entraTenantId')} />
      <Field label="Application (client) ID" value={clientId} onChange={setClientId} isRequired errorMessage={fieldErrorOf(error, 'clientId')} />
      <Field
        label="Client secret"
        type="password"
        autoComplete="new-password"
        description={current?.hasClientSecret ? 'A secret is stored. It is never shown; leave this empty to keep it.' : 'Required the first time. It is never shown again.'}
        value={secret}
        onChange={setSecret}
        errorMessage={fieldErrorOf(error, 'clientSecret')}
      />
      <Field label="Email domains" description="Separated by commas, e.g. contosomsp.com" value={domains} onChange={setDomains} isRequired errorMessage={fieldErrorOf(error, 'domains')} />
      <ProblemMessage error={error} />
      <Notice text={notice} />
      <GuardedButton need="platform-settings" type="submit">
        Save Entra ID sign-in
      </GuardedButton>
    </form>
  );
}
