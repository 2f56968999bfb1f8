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

export interface PostalAddress {
  line1: string;
  line2: string;
  city: string;
  state: string;
  postalCode: string;
  country: string;
}

export interface Customer {
  id: string;
  name: string;
  primaryContactName: string;
  primaryContactEmail: string;
  phone: string;
  address: string;
  // postalAddress is the address in parts (synced with a linked PSA); address, the
  // one line, is their rendering unless written otherwise.
  postalAddress: PostalAddress;
  website: string;
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

export type Plan = 'free' | 'professional';

export interface LimitUsage {
  // null: unlimited.
  limit: number | null;
  used: number;
}

export interface Billing {
  organizationId: string;
  plan: Plan;
  billedTo?: string;
  plans: Plan[];
  limits: {
    customers: LimitUsage;
    managedTenants: LimitUsage;
    connections: LimitUsage;
    subOrganizations: LimitUsage;
    apiCallsPerMonth: LimitUsage;
  };
  periodStart: string;
  periodEnd: string;
  billingContact: { name: string; email: string; phone: string };
}

export interface UsageSummary {
  organizationId: string;
  plan: Plan;
  managedUsers: number;
  managedTenants: number;
  customers: number;
  apiCalls: { thisMonth: number; limit: number | null; months: { month: string; calls: number }[] };
  subOrganizations?: { id: string; name: string; managedUsers: number; managedTenants: number; customers: number; apiCallsThisMonth: number }[];
  nextCursor?: string;
}

export type ConnectionType = 'm365' | 'connectwise' | 'autotask' | 'halopsa';

export interface ConnectionProblem {
  code: string;
  message: string;
  at: string;
}

// Connection never carries a credential: the API has none to send.
export interface Connection {
  id: string;
  type: ConnectionType;
  label: string;
  tenantId?: string;
  status?: 'untested' | 'connected' | 'failed';
  lastError?: ConnectionProblem;
  lastTestedAt?: string;
  lastUsedAt?: string;
  hint?: string;
  rotatedAt?: string;
  version?: number;
}

export interface ConnectionTestResult {
  ok: boolean;
  checked: boolean;
  error?: ConnectionProblem;
  message: string;
  connection: Connection;
}

export interface OnboardingStep {
  step: string;
  title: string;
  status: 'not-started' | 'in-progress' | 'complete';
  completion: 'derived' | 'manual';
  marked?: { completedAt: string; completedBy: string };
  description: string;
}

export interface Onboarding {
  steps: OnboardingStep[];
  completed: number;
  total: number;
}

export type CompanyRole = 'Admin' | 'Manager' | 'User' | 'Training Only';
export const companyRoles: CompanyRole[] = ['Admin', 'Manager', 'User', 'Training Only'];

export interface TrainingAssignment {
  id: string;
  course: string;
  url?: string;
  dueAt?: string;
  assignedBy: string;
  assignedAt: string;
}

export interface CompanyUser {
  id: string;
  customerId: string;
  email: string;
  name: string;
  jobTitle: string;
  role: CompanyRole;
  portalAccess: boolean;
  portalStatus: 'off' | 'invited' | 'email-failed' | 'active';
  source: 'manual' | 'm365' | 'psa' | 'csv';
  externalId: string;
  inviteExpiresAt?: string;
  emailError?: string;
  training: TrainingAssignment[];
  version: number;
}

export interface Ticket {
  id: string;
  subject: string;
  description: string;
  version: number;
  status: string;
  priority: string;
  tenantId: string;
  createdAt: string;
  updatedAt?: string;
}
