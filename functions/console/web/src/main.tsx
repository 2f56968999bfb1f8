import { StrictMode, useCallback, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Redirect, Route, Router, Switch, useLocation } from 'wouter';
import * as api from './api';
import * as auth from './auth';
import { SessionProvider, currentOrgId, currentSupportReason } from './session';
import type { Me } from './types';
import { Layout } from './components/Layout';
import { Loading, ProblemMessage } from './components/ui';
import { SignIn } from './pages/SignIn';
import { AcceptInvitation, PENDING_INVITATION } from './pages/AcceptInvitation';
import { Customers } from './pages/Customers';
import { CustomerDetailPage } from './pages/CustomerDetail';
import { PlatformUsers } from './pages/PlatformUsers';
import { SubOrganizations } from './pages/SubOrganizations';
import { Settings } from './pages/Settings';
import { AuditLog } from './pages/AuditLog';
import { Approvals, LicenseOrders } from './pages/Approvals';
import { Billing } from './pages/Billing';
import { Connections } from './pages/Connections';
import { Onboarding } from './pages/Onboarding';
import { PortalAccept, PortalApp } from './portal/Portal';
import { PENDING_PORTAL_INVITATION, findPortalAccount, type PortalAccount } from './portal/account';
import './styles.css';

type State =
  | { kind: 'loading' }
  | { kind: 'signed-out'; reason: string | null }
  | { kind: 'signed-in'; me: Me }
  // A company user in the client portal; account is null until the invitation of
  // /portal/accept is accepted.
  | { kind: 'portal'; account: PortalAccount | null }
  | { kind: 'failed'; error: unknown };

function App({ cfg }: { cfg: auth.ConsoleConfig }) {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [location, navigate] = useLocation();

  const signOut = useCallback((reason?: string) => {
    auth.signOut(reason);
    setState({ kind: 'signed-out', reason: reason ?? null });
  }, []);

  api.configure({ token: auth.token, orgId: currentOrgId, supportReason: currentSupportReason, onSignedOut: signOut });

  const start = useCallback(async () => {
    if (!auth.token()) {
      setState({ kind: 'signed-out', reason: auth.takeSignedOutReason() });
      return;
    }
    try {
      // The sign-in is audited with its IP and browser once per session (201, then 200).
      await api.post('/api/sessions', undefined, { orgId: null, idempotent: false });
      const me = await api.get<Me>('/api/me', { orgId: null });
      if (!me.activeOrganization && me.organizations.length > 0) {
        // The organizations' sign-in rules (MFA, session timeout) refuse this session:
        // one request into the first says which, and its 401 signs out with that reason.
        await api.get('/api/msp-portal/settings/profile', { orgId: me.organizations[0].id }).catch(() => {});
        if (!auth.token()) return;
      }
      const back = auth.takeReturn();
      const target = back !== '/' ? back : location;
      // A company user goes to the client portal, never to the MSP's screens: someone
      // with no organization, or who asked for a portal page, and has portal access.
      if (target.startsWith('/portal') || me.organizations.length === 0) {
        const accepting = target.startsWith('/portal/accept');
        const account = accepting ? null : await findPortalAccount(me);
        if (account || accepting) {
          setState({ kind: 'portal', account });
          if (target !== location) navigate(target, { replace: true });
          return;
        }
      }
      setState({ kind: 'signed-in', me });
      if (back !== '/' && back !== location) navigate(back, { replace: true });
    } catch (e) {
      if (!auth.token()) return; // the client signed out with the reason
      setState({ kind: 'failed', error: e });
    }
  }, [location, navigate]);

  useEffect(() => {
    if (location === cfg.callbackPath) {
      auth
        .finishHostedSignIn(cfg, window.location.search)
        .then(() => start())
        .catch((e) => setState({ kind: 'signed-out', reason: String(e.message ?? e) }));
      return;
    }
    start();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  if (state.kind === 'loading') return <Loading what="Switchboard" />;
  if (state.kind === 'failed')
    return (
      <main id="main" className="sign-in">
        <div className="card">
          <h1>Switchboard could not start</h1>
          <ProblemMessage error={state.error} onRetry={start} />
        </div>
      </main>
    );
  if (state.kind === 'signed-out') {
    // Come back to the page asked for (an invitation link above all) after signing in.
    if (location !== '/' && location !== cfg.callbackPath) {
      auth.rememberReturn(location + window.location.search);
      const t = new URLSearchParams(window.location.search).get('token');
      if (location === '/invitations/accept' && t) sessionStorage.setItem(PENDING_INVITATION, t);
      if (location === '/portal/accept' && t) sessionStorage.setItem(PENDING_PORTAL_INVITATION, t);
    }
    return <SignIn cfg={cfg} reason={state.reason} onSignedIn={start} />;
  }
  const signOutHosted = () => {
    const out = auth.hostedSignOutURL(cfg);
    signOut();
    if (out) window.location.assign(out);
  };
  if (state.kind === 'portal') {
    if (!state.account) return <PortalAccept onAccepted={(account) => setState({ kind: 'portal', account })} />;
    return <PortalApp account={state.account} onSignOut={signOutHosted} />;
  }
  return (
    <SessionProvider me={state.me}>
      <Layout onSignOut={signOutHosted}>
        <Switch>
          <Route path="/invitations/accept" component={AcceptInvitation} />
          <Route path="/customers" component={Customers} />
          <Route path="/customers/:id" component={CustomerDetailPage} />
          <Route path="/platform-users" component={PlatformUsers} />
          <Route path="/sub-organizations" component={SubOrganizations} />
          <Route path="/settings" component={Settings} />
          <Route path="/audit-log" component={AuditLog} />
          <Route path="/approvals" component={Approvals} />
          <Route path="/license-orders" component={LicenseOrders} />
          <Route path="/billing" component={Billing} />
          <Route path="/connections" component={Connections} />
          <Route path="/onboarding" component={Onboarding} />
          <Route path="/msp-portal/license-orders/:id" component={LicenseOrders} />
          <Route path="/">
            <Redirect to="/customers" replace />
          </Route>
          <Route>
            <section>
              <h1>Page not found</h1>
              <p>This page does not exist. Pick a screen in the sidebar.</p>
            </section>
          </Route>
        </Switch>
      </Layout>
    </SessionProvider>
  );
}

auth
  .loadConfig()
  .then((cfg) => {
    createRoot(document.getElementById('root')!).render(
      <StrictMode>
        <Router>
          <App cfg={cfg} />
        </Router>
      </StrictMode>,
    );
  })
  .catch((e) => {
    document.getElementById('root')!.textContent = String(e.message ?? e);
  });
