// Who a company user is in the client portal. The API has no "portal me" route, so the
// portal asks the routes themselves (docs/decisions.md, "Console: the client portal"):
// training answers every company role, so a 404 there means no portal access; the
// dashboard answers Admin and Manager, tickets every role but Training Only; an Admin is
// told from a Manager by their own row in the company's user list.
import * as api from '../api';
import { ApiError } from '../api';
import type { CompanyRole, CompanyUser, Me } from '../types';

export interface PortalAccount {
  email: string;
  name: string;
  role: CompanyRole;
  companyName: string;
}

export interface PortalDashboard {
  companyName: string;
  tenants: { id: string; displayName: string; primaryDomain: string; health: string; licensedUsers: number }[];
  userCount: number;
  openTicketCount: number;
  ticketCount: number;
}

// Portal requests name no organization: the API finds the company from the caller.
export const portalGet = <T>(path: string, o: api.RequestOptions = {}) => api.get<T>(path, { ...o, orgId: null });

const settle = <T>(p: Promise<T>) => p.then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e }));

const refused = (r: { ok: boolean; e?: unknown }) => !r.ok && r.e instanceof ApiError && (r.e.status === 403 || r.e.status === 404);

// findPortalAccount answers null for a person without client portal access.
export async function findPortalAccount(me: Me): Promise<PortalAccount | null> {
  const [training, dashboard, tickets] = await Promise.all([
    settle(portalGet('/api/portal/training')),
    settle(portalGet<PortalDashboard>('/api/portal/dashboard')),
    settle(portalGet('/api/portal/tickets', { query: { limit: 1 } })),
  ]);
  if (!training.ok) {
    if (training.e instanceof ApiError && training.e.status === 404) return null;
    throw training.e;
  }
  const base = { email: me.user.email, name: me.user.name, companyName: '' };
  if (dashboard.ok) {
    const users = await portalGet<api.Page<CompanyUser>>('/api/portal/users', { query: { limit: 100 } });
    const own = users.items.find((u) => u.email.toLowerCase() === me.user.email.toLowerCase());
    return { ...base, companyName: dashboard.v.companyName, role: own?.role === 'Admin' ? 'Admin' : 'Manager' };
  }
  if (!refused(dashboard)) throw dashboard.e;
  if (tickets.ok) return { ...base, role: 'User' };
  if (!refused(tickets)) throw tickets.e;
  return { ...base, role: 'Training Only' };
}

export const PENDING_PORTAL_INVITATION = 'switchboard.portalInvitation';
