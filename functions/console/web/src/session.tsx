import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import * as api from './api';
import type { Me, OrganizationAccess, Role } from './types';
import { can, type Permission } from './permissions';

// Supporting is per tab and per request (X-Organization-Id names the sub-organization);
// it is never made the active organization (the API refuses that).
export interface Support {
  id: string;
  name: string;
  parentId: string;
  parentName: string;
  reason: string;
}

const SUPPORT = 'switchboard.support';

function loadSupport(): Support | null {
  try {
    return JSON.parse(sessionStorage.getItem(SUPPORT) ?? 'null');
  } catch {
    return null;
  }
}

export interface Session {
  me: Me;
  active: OrganizationAccess | null;
  // orgId is the organization requests act in: the supported one while supporting.
  orgId: string | null;
  role: Role | undefined;
  support: Support | null;
  can: (p: Permission) => boolean;
  reload: () => Promise<void>;
  switchOrganization: (id: string) => Promise<void>;
  startSupport: (s: Support) => void;
  stopSupport: () => void;
}

const SessionContext = createContext<Session | null>(null);

// useOptionalSession is the MSP session, or null in the client portal (which has none).
export function useOptionalSession(): Session | null {
  return useContext(SessionContext);
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

// current is read by the API client on every request.
let current: { orgId: string | null; reason: string | null } = { orgId: null, reason: null };
export const currentOrgId = () => current.orgId;
export const currentSupportReason = () => current.reason;

export function SessionProvider({ me: initial, children }: { me: Me; children: ReactNode }) {
  const [me, setMe] = useState(initial);
  const [support, setSupport] = useState<Support | null>(loadSupport);
  const active = me.activeOrganization;
  // A supported organization must still belong to the active one's family.
  const supporting = support && active && support.parentId === active.id ? support : null;
  const orgId = supporting ? supporting.id : active?.id ?? null;
  current = { orgId, reason: supporting ? supporting.reason || null : null };

  const reload = useCallback(async () => {
    setMe(await api.get<Me>('/api/me', { orgId: null }));
  }, []);

  const switchOrganization = useCallback(async (id: string) => {
    await api.put('/api/me/active-organization', { organizationId: id }, { orgId: null });
    sessionStorage.removeItem(SUPPORT);
    setSupport(null);
    setMe(await api.get<Me>('/api/me', { orgId: null }));
  }, []);

  const startSupport = useCallback((s: Support) => {
    sessionStorage.setItem(SUPPORT, JSON.stringify(s));
    setSupport(s);
  }, []);
  const stopSupport = useCallback(() => {
    sessionStorage.removeItem(SUPPORT);
    setSupport(null);
  }, []);

  useEffect(() => {
    if (support && !supporting) {
      sessionStorage.removeItem(SUPPORT);
      setSupport(null);
    }
  }, [support, supporting]);

  const value = useMemo<Session>(
    () => ({
      me,
      active,
      orgId,
      // While supporting, the caller acts with their role in the parent.
      role: active?.role,
      support: supporting,
      can: (p: Permission) => can(active?.role, p),
      reload,
      switchOrganization,
      startSupport,
      stopSupport,
    }),
    [me, active, orgId, supporting, reload, switchOrganization, startSupport, stopSupport],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}
