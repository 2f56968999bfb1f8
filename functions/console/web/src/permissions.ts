import type { Role } from './types';

// The pinned permission table (DESIGN.md) for the built-in roles, so the page can
// disable what a role cannot do before anyone clicks. The API decides every request;
// a Custom role's picks are not known to the page, so nothing is disabled for it and
// the API's 403 explains.
export type Permission =
  | 'view-data'
  | 'manage-customers'
  | 'delete-customers'
  | 'manage-users'
  | 'run-automation'
  | 'order-licenses'
  | 'approve-requests'
  | 'platform-settings'
  | 'view-audit-log'
  | 'manage-billing'
  | 'manage-platform-users'
  | 'manage-sub-organizations'
  | 'rename-organization';

const table: Record<Exclude<Role, 'Custom'>, Permission[]> = {
  Owner: [
    'view-data', 'manage-customers', 'delete-customers', 'manage-users', 'run-automation', 'order-licenses', 'approve-requests',
    'platform-settings', 'view-audit-log', 'manage-billing', 'manage-platform-users', 'manage-sub-organizations',
    'rename-organization',
  ],
  Administrator: [
    'view-data', 'manage-customers', 'delete-customers', 'manage-users', 'run-automation', 'order-licenses', 'approve-requests',
    'platform-settings', 'view-audit-log', 'manage-billing', 'manage-platform-users', 'manage-sub-organizations',
    'rename-organization',
  ],
  Technician: ['view-data', 'manage-customers', 'manage-users', 'run-automation', 'order-licenses'],
  'Read-Only': ['view-data', 'view-audit-log'],
};

export function can(role: Role | undefined, p: Permission): boolean {
  if (!role) return false;
  if (role === 'Custom') return true;
  return table[role].includes(p);
}

// Every permission a Custom role can pick (the Owner-only ones cannot be).
export const customPermissions: { id: string; label: string }[] = [
  { id: 'view-data', label: 'View data, dashboards, reports and usage; export data' },
  { id: 'manage-customers', label: 'Manage customers and tenants' },
  { id: 'delete-customers', label: 'Delete, archive and merge customers' },
  { id: 'manage-users', label: 'Manage users' },
  { id: 'manage-devices', label: 'Manage devices' },
  { id: 'run-automation', label: 'Run automation (imports, syncs)' },
  { id: 'order-licenses', label: 'Order licenses' },
  { id: 'approve-requests', label: 'Approve requests' },
  { id: 'platform-settings', label: 'Platform settings' },
  { id: 'view-audit-log', label: 'View the audit log' },
  { id: 'manage-billing', label: 'Manage billing' },
  { id: 'manage-platform-users', label: 'Manage platform users' },
  { id: 'manage-sub-organizations', label: 'Manage and support sub-organizations' },
  { id: 'rename-organization', label: 'Rename the organization' },
];

export const roleDescriptions: Record<string, string> = {
  Administrator: 'Full platform access: all tenants, settings, billing, user management',
  Technician: 'Day-to-day operations: assigned tenants, user and device management, reports',
  'Read-Only': 'View-only access: view data, reports, dashboards, export data',
  Custom: 'Tailored permissions: granular per-feature and per-tenant control',
};
