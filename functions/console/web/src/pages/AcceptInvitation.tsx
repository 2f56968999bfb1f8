import { useEffect, useState } from 'react';
import { Button } from 'react-aria-components';
import { useLocation } from 'wouter';
import * as api from '../api';
import { useSession } from '../session';
import { Loading, ProblemMessage, formatDate } from '../components/ui';

interface Lookup {
  organizationName: string;
  inviterName: string;
  role: string;
  expiresAt: string;
}

export const PENDING_INVITATION = 'switchboard.invitation';

// AcceptInvitation is the email's "Accept Invitation" link, once signed in: it shows
// what the invitation offers and accepts it as the signed-in person.
interface Accepted {
  organization: { id: string; name: string };
  member: { role: string };
}

// AcceptInvitation is the email's "Accept Invitation" link, once signed in: it shows
// what the invitation offers and accepts it as the signed-in person. A first sign-in
// has accepted every invitation to the person's email already (seed 003): the lookup
// then answers invitation-used, and accepting again says where they joined.
export function AcceptInvitation() {
  const s = useSession();
  const [, navigate] = useLocation();
  const token = new URLSearchParams(location.search).get('token') ?? sessionStorage.getItem(PENDING_INVITATION) ?? '';
  const [lookup, setLookup] = useState<Lookup | null>(null);
  const [joined, setJoined] = useState<Accepted | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const accept = async () => {
    setBusy(true);
    setError(null);
    try {
      // The organization joined becomes the active one.
      setJoined(await api.post<Accepted>('/api/invitations/accept', { token }, { orgId: null }));
      sessionStorage.removeItem(PENDING_INVITATION);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    if (!token) return;
    api.post<Lookup>('/api/invitations/lookup', { token }, { orgId: null, idempotent: false }).then(setLookup, (e) => {
      if (e instanceof api.ApiError && e.code === 'invitation-used') accept();
      else setError(e);
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [token]);

  if (!token) return <p>This link has no invitation in it. Open the link from the invitation email again.</p>;
  if (joined) {
    return (
      <section className="card narrow">
        <h1>Invitation</h1>
        <p className="success" role="status">
          You have joined {joined.organization.name} as {joined.member.role}. It is in your organization switcher.
        </p>
        <Button
          className="btn btn-primary"
          onPress={async () => {
            await s.reload();
            navigate('/customers');
          }}
        >
          Continue
        </Button>
      </section>
    );
  }
  return (
    <section className="card narrow">
      <h1>Invitation</h1>
      {!lookup && !error && <Loading what="the invitation" />}
      {lookup && (
        <p>
          {lookup.inviterName} invited you to <strong>{lookup.organizationName}</strong> as <strong>{lookup.role}</strong>. The invitation
          expires on {formatDate(lookup.expiresAt)}. You are signed in as {s.me.user.email}.
        </p>
      )}
      <ProblemMessage error={error} />
      <Button className="btn btn-primary" isPending={busy} isDisabled={!lookup} onPress={accept}>
        Accept Invitation
      </Button>
    </section>
  );
}
