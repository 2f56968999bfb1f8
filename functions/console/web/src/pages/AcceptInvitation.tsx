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
export function AcceptInvitation() {
  const s = useSession();
  const [, navigate] = useLocation();
  const token = new URLSearchParams(location.search).get('token') ?? sessionStorage.getItem(PENDING_INVITATION) ?? '';
  const [lookup, setLookup] = useState<Lookup | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!token) return;
    api.post<Lookup>('/api/invitations/lookup', { token }, { orgId: null, idempotent: false }).then(setLookup, setError);
  }, [token]);
  if (!token) return <p>This link has no invitation in it. Open the link from the invitation email again.</p>;
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
      <Button
        className="btn btn-primary"
        isPending={busy}
        isDisabled={!lookup}
        onPress={async () => {
          setBusy(true);
          setError(null);
          try {
            // The organization joined becomes the active one.
            await api.post('/api/invitations/accept', { token }, { orgId: null });
            sessionStorage.removeItem(PENDING_INVITATION);
            await s.reload();
            navigate('/customers');
          } catch (e) {
            setError(e);
          } finally {
            setBusy(false);
          }
        }}
      >
        Accept Invitation
      </Button>
    </section>
  );
}
