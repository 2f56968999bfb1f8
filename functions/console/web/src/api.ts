// The console's only way to the server: the public API, with the signed-in user's
// token, the organization the page acts in and, while supporting a sub-organization,
// the support reason. Errors come back as ApiError, built from problem+json.

export interface FieldError {
  field: string;
  message: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: FieldError[];
  // Members a problem adds of its own, e.g. plan-limit's "over".
  [extra: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly fields: FieldError[];
  readonly problem: Problem;
  constructor(status: number, p: Problem) {
    super(p.detail || p.title || `The server answered ${status}.`);
    this.status = status;
    this.code = p.code ?? '';
    this.title = p.title ?? 'Something went wrong';
    this.detail = p.detail ?? '';
    this.fields = p.errors ?? [];
    this.problem = p;
  }
}

// Problems that end the session: the page goes back to sign-in and says why.
export const signInAgainCodes = new Set(['session-expired', 'mfa-required', 'email-not-verified', 'unauthenticated']);

// What the user can do about a problem, in words; the API's own title and detail are
// kept, and a few codes get advice the API cannot give (it does not know the page).
export function advice(e: ApiError): string {
  switch (e.code) {
    case 'session-expired':
      return 'Your session ended after a period of inactivity. Sign in again to continue.';
    case 'mfa-required':
      return 'This organization requires multi-factor authentication. Sign in again with MFA.';
    case 'reauthentication-required':
      return 'For this change, confirm who you are: sign in again, then repeat it.';
    case 'stale-version':
      return 'Someone else changed this in the meantime. Reload to see their change, then try again.';
    case 'plan-limit':
      return "Your plan's limit is reached. An Owner or Administrator can upgrade the plan under Usage and billing, or remove what is no longer needed.";
    case 'api-calls-exhausted':
      return "This month's API calls are used up. An Owner or Administrator can upgrade the plan under Usage and billing.";
    case 'temporarily-unavailable':
    case 'job-not-queued':
      return 'The service is busy. Wait a moment and try again.';
  }
  if (e.status === 403) return 'Your role in this organization does not allow this. Ask an Administrator.';
  if (e.status === 404) return 'It may have been removed, or it is not in this organization.';
  if (e.status === 0) return 'Check your connection and try again.';
  return '';
}

export interface Context {
  token: () => string | null;
  orgId: () => string | null;
  supportReason: () => string | null;
  onSignedOut: (reason: string) => void;
}

let ctx: Context = {
  token: () => null,
  orgId: () => null,
  supportReason: () => null,
  onSignedOut: () => {},
};

export function configure(c: Context) {
  ctx = c;
}

export interface RequestOptions {
  body?: unknown;
  rawBody?: BodyInit;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined | null>;
  // orgId overrides the organization the page acts in; null sends none.
  orgId?: string | null;
  idempotent?: boolean;
  signal?: AbortSignal;
}

function url(path: string, query?: RequestOptions['query']): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

async function send(method: string, path: string, o: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = ctx.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  const org = o.orgId === undefined ? ctx.orgId() : o.orgId;
  if (org) {
    headers['X-Organization-Id'] = org;
    const reason = ctx.supportReason();
    if (reason) headers['X-Support-Reason'] = reason;
  }
  let body: BodyInit | undefined;
  if (o.rawBody !== undefined) {
    body = o.rawBody;
    headers['Content-Type'] = o.contentType ?? 'application/octet-stream';
  } else if (o.body !== undefined) {
    body = JSON.stringify(o.body);
    headers['Content-Type'] = 'application/json';
  }
  // A retried create must not create twice (DESIGN.md: mutating POSTs take the key).
  if (method === 'POST' && o.idempotent !== false) headers['Idempotency-Key'] = crypto.randomUUID();
  let res: Response;
  try {
    res = await fetch(url(path, o.query), { method, headers, body, signal: o.signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, { title: 'The server could not be reached', detail: String((err as Error).message ?? err) });
  }
  if (!res.ok) {
    let p: Problem = {};
    const ct = res.headers.get('Content-Type') ?? '';
    if (ct.includes('json')) {
      try {
        p = await res.json();
      } catch {
        p = {};
      }
    }
    if (!p.title) p.title = res.status >= 500 ? 'The server had a problem' : `Request refused (${res.status})`;
    const e = new ApiError(res.status, p);
    if (res.status === 401 && (signInAgainCodes.has(e.code) || !e.code)) {
      ctx.onSignedOut(advice(e) || e.detail || 'Sign in again to continue.');
    }
    throw e;
  }
  return res;
}

export async function api<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
  const res = await send(method, path, o);
  if (res.status === 204) return undefined as T;
  const ct = res.headers.get('Content-Type') ?? '';
  if (!ct.includes('json')) return (await res.text()) as T;
  return (await res.json()) as T;
}

export const get = <T>(path: string, o?: RequestOptions) => api<T>('GET', path, o);
export const post = <T>(path: string, body?: unknown, o?: RequestOptions) => api<T>('POST', path, { ...o, body });
export const put = <T>(path: string, body?: unknown, o?: RequestOptions) => api<T>('PUT', path, { ...o, body });
export const del = (path: string, o?: RequestOptions) => api<void>('DELETE', path, o);

// download fetches a file with the caller's token (a plain link could not send it)
// and hands it to the browser as a download.
export async function download(path: string, query: RequestOptions['query'], fallbackName: string) {
  const res = await send('GET', path, { query });
  const blob = await res.blob();
  const cd = res.headers.get('Content-Disposition') ?? '';
  const m = /filename="?([^";]+)"?/.exec(cd);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = m ? m[1] : fallbackName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}
