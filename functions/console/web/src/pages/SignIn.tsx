import { useState } from 'react';
import { Button, Checkbox, Form } from 'react-aria-components';
import * as auth from '../auth';
import { Field, ProblemMessage } from '../components/ui';

// The demo people `make run` seeds (infra/seed).
const demo = [
  { email: 'megan.bowen@contosomsp.com', name: 'Megan Bowen', role: 'Owner' },
  { email: 'alex.wilber@contosomsp.com', name: 'Alex Wilber', role: 'Administrator' },
  { email: 'lee.gu@contosomsp.com', name: 'Lee Gu', role: 'Technician' },
  { email: 'adele.vance@contosomsp.com', name: 'Adele Vance', role: 'Read-Only' },
];

export function SignIn({ cfg, reason, onSignedIn }: { cfg: auth.ConsoleConfig; reason: string | null; onSignedIn: () => void }) {
  const last = auth.lastDevIdentity();
  const [email, setEmail] = useState(last?.email ?? '');
  const [name, setName] = useState(last?.name ?? '');
  const [mfa, setMfa] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const dev = async (id: auth.DevIdentity) => {
    setBusy(true);
    setError(null);
    try {
      await auth.devSignIn(id);
      onSignedIn();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" className="sign-in">
      <div className="card sign-in-card">
        <h1>Sign in to Switchboard</h1>
        {reason && (
          <div role="alert" className="notice">
            {reason}
          </div>
        )}
        {cfg.signIn === 'cognito' ? (
          <>
            <p>Sign in with your Microsoft work account.</p>
            <Button className="btn btn-primary" onPress={() => auth.startHostedSignIn(cfg).catch(setError)}>
              Sign in with Microsoft
            </Button>
          </>
        ) : (
          <>
            <p className="muted">
              Development sign-in (<code>make run</code>): no password. A first sign-in creates your own organization.
            </p>
            <p className="muted">
              Company users of a client: open the link of your portal invitation email, then sign in with the address it was sent to. The client
              portal opens.
            </p>
            <Form
              onSubmit={(e) => {
                e.preventDefault();
                dev({ email: email.trim(), name: name.trim(), mfa });
              }}
            >
              <Field label="Email" type="email" value={email} onChange={setEmail} isRequired autoComplete="email" />
              <Field label="Name" value={name} onChange={setName} autoComplete="name" />
              <Checkbox className="checkbox" isSelected={mfa} onChange={setMfa}>
                <span className="box" aria-hidden="true" />
                Signed in with multi-factor authentication
              </Checkbox>
              <Button className="btn btn-primary" type="submit" isPending={busy}>
                Sign in
              </Button>
            </Form>
            <h2>Demo people</h2>
            <ul className="demo-people">
              {demo.map((p) => (
                <li key={p.email}>
                  <Button className="btn" onPress={() => dev({ email: p.email, name: p.name, mfa: true })}>
                    {p.name} <span className="badge role">{p.role}</span>
                  </Button>
                </li>
              ))}
            </ul>
          </>
        )}
        <ProblemMessage error={error} />
      </div>
    </main>
  );
}
