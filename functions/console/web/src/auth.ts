// Signing in: the development sign-in of `make run`, or Cognito's hosted UI (Entra ID)
// with the authorization code flow and PKCE. The ID token lives in sessionStorage:
// it ends with the tab, and the API checks every request against the store anyway.

export interface ConsoleConfig {
  signIn: 'cognito' | 'development';
  authDomain?: string;
  clientId?: string;
  callbackPath: string;
}

const TOKEN = 'switchboard.token';
const REASON = 'switchboard.signedOutReason';
const PKCE = 'switchboard.pkce';
const RETURN_TO = 'switchboard.returnTo';
const DEV_IDENTITY = 'switchboard.devIdentity';

export async function loadConfig(): Promise<ConsoleConfig> {
  const res = await fetch('/config.json', { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`The console's configuration could not be read (${res.status}).`);
  return res.json();
}

export const token = () => sessionStorage.getItem(TOKEN);

export function setToken(t: string) {
  sessionStorage.setItem(TOKEN, t);
  sessionStorage.removeItem(REASON);
}

// signOut forgets the token; reason, when given, is shown on the sign-in page.
export function signOut(reason?: string) {
  sessionStorage.removeItem(TOKEN);
  if (reason) sessionStorage.setItem(REASON, reason);
}

export function takeSignedOutReason(): string | null {
  const r = sessionStorage.getItem(REASON);
  sessionStorage.removeItem(REASON);
  return r;
}

export function rememberReturn(path: string) {
  sessionStorage.setItem(RETURN_TO, path);
}

export function takeReturn(): string {
  const p = sessionStorage.getItem(RETURN_TO) || '/';
  sessionStorage.removeItem(RETURN_TO);
  return p.startsWith('/') && !p.startsWith('//') ? p : '/';
}

export interface DevIdentity {
  email: string;
  name: string;
  mfa: boolean;
}

// devSignIn asks the local server for a token (POST /dev/sign-in).
export async function devSignIn(id: DevIdentity): Promise<void> {
  const res = await fetch('/dev/sign-in', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: id.email, name: id.name || undefined, mfa: id.mfa }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok || !body.token) throw new Error(body.detail || body.title || `Sign-in failed (${res.status}).`);
  sessionStorage.setItem(DEV_IDENTITY, JSON.stringify(id));
  setToken(body.token);
}

export function lastDevIdentity(): DevIdentity | null {
  try {
    return JSON.parse(sessionStorage.getItem(DEV_IDENTITY) ?? 'null');
  } catch {
    return null;
  }
}

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// startHostedSignIn sends the browser to the hosted UI. prompt=login asks for the
// password again even with a live Cognito session: a fresh auth_time for the routes
// that need re-confirmation.
export async function startHostedSignIn(cfg: ConsoleConfig, opts: { fresh?: boolean } = {}) {
  if (!cfg.authDomain || !cfg.clientId) throw new Error('Sign-in is not configured for this console.');
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state }));
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: cfg.clientId,
    redirect_uri: location.origin + cfg.callbackPath,
    scope: 'openid email profile',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  if (opts.fresh) q.set('prompt', 'login');
  location.assign(`${cfg.authDomain}/oauth2/authorize?${q}`);
}

// finishHostedSignIn exchanges the callback's code for tokens.
export async function finishHostedSignIn(cfg: ConsoleConfig, search: string): Promise<void> {
  const q = new URLSearchParams(search);
  const saved = JSON.parse(sessionStorage.getItem(PKCE) ?? 'null') as { verifier: string; state: string } | null;
  sessionStorage.removeItem(PKCE);
  if (q.get('error')) throw new Error(q.get('error_description') || q.get('error') || 'Sign-in was refused.');
  if (!saved || q.get('state') !== saved.state) throw new Error('This sign-in did not start here, or it was started twice. Sign in again.');
  const res = await fetch(`${cfg.authDomain}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: cfg.clientId ?? '',
      code: q.get('code') ?? '',
      redirect_uri: location.origin + cfg.callbackPath,
      code_verifier: saved.verifier,
    }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok || !body.id_token) throw new Error(body.error_description || body.error || `Sign-in failed (${res.status}).`);
  // The API's audience is the app client, whose ID token it verifies.
  setToken(body.id_token);
}

// hostedSignOutURL ends the Cognito session too, then comes back to the console.
export function hostedSignOutURL(cfg: ConsoleConfig): string | null {
  if (cfg.signIn !== 'cognito' || !cfg.authDomain || !cfg.clientId) return null;
  return `${cfg.authDomain}/logout?${new URLSearchParams({ client_id: cfg.clientId, logout_uri: location.origin + '/' })}`;
}
