// Shapes of the API's bodies (shared/openapi/openapi.json), as far as the console reads them.

export type Role = 'Owner' | 'Administrator' | 'Technician' | 'Read-Only' | 'Custom';
export type Health = 'healthy' | 'unknown' | 'warning' | 'critical';

export interface OrganizationAccess {
  id: string;
  name: string;
  plan: string;
  role: Role;
  owner: boolean;
  active: boolean;
  parentId?: string | null;
}

export interface SupportableOrganization {
  organizationId: string;
  organizationName: string;
  subOrganizations: { id: string; name: string }[];
  nextCursor?: string;
}

export interface Me {
  user: { id: string; email: string; name: string; createdAt: string };
  activeOrganization: OrganizationAccess | null;
  organizations: OrganizationAccess[];
  nextCursor?: string;
  supportable: SupportableOrganization[];
}

export interface Customer {
  id: string;
  name: string;
  primaryContactName: string;
  primaryContactEmail: string;
  phone: string;
  address: string;
  notes: string;
  psaLinks: { connectionId: string; type: string; externalId: string }[];
  externalId: string;
  archived: boolean;
  tenantCount: number;
  totalUsers: number;
  totalLicenses: number;
  securityScore: number;
  health: Health;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface Tenant {
  id: string;
  entraTenantId: string;
  primaryDomain: string;
  displayName: string;
  licensedUsers: number;
  licenses: { sku: string; assigned: number }[];
  assignedLicenses: number;
  securityScore: number;
  health: Health;
  customerId: string;
  version: number;
}

export interface CustomerDetail extends Customer {
  tenants: Tenant[];
}

export interface Warning {
  code: string;
  message: string;
}

export interface Job {
  id: string;
  kind: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  progress: { done: number; total: number };
  errors: { line?: number; field?: string; message: string }[];
  errorCount: number;
  result: Record<string, unknown>;
  failure?: string;
}

export interface TenantAccess {
  mode: 'all' | 'selected' | 'all-except';
  tenantIds?: string[];
}

export interface PlatformUser {
  id: string;
  kind: 'member' | 'invitation';
  email: string;
  displayName: string;
  role: Role;
  permissions: string[];
  tenantAccess: TenantAccess;
  status: 'active' | 'invited' | 'expired' | 'email-failed';
  joinedAt?: string | null;
  expiresAt?: string | null;
  emailError?: string;
  version: number;
}

export interface Usage {
  memberSeats: number;
  managedTenants: number;
  assignedLicenses: number;
}

export interface SubOrganization {
  id: string;
  companyName: string;
  phone: string;
  defaultAdminEmail: string;
  createdAt: string;
  licensesConsumed: Usage;
}

export interface AuditEvent {
  id: string;
  actor: { userId: string; email: string };
  category: string;
  action: string;
  summary: string;
  targets: { customerIds?: string[]; tenantIds?: string[]; userIds?: string[]; emails?: string[] };
  onBehalfOf?: { mspOrganizationId: string; subOrganizationId: string; reason?: string };
  sourceIp?: string;
  userAgent?: string;
  client?: { browser?: string; browserVersion?: string; os?: string; device?: string };
  at: string;
}

export interface Approval {
  id: string;
  status: 'pending' | 'approved' | 'rejected' | 'expired';
  requestedBy: { userId: string; email: string } | null;
  requestedAt: string;
  expiresAt?: string | null;
  decidedBy?: { userId: string; email: string } | null;
  reason?: string;
  summary?: string;
  action?: string;
  tenantId?: string;
  tenantName?: string;
  sku?: string;
  quantity?: number;
  note?: string;
  notifyError?: string;
}
