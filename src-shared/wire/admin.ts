// The admin API's wire types (/v1/admin/..., Bearer token or a console session cookie): what
// warren-coordinator's admin commands and the web console (src-console) send and receive. The
// agent contract is control.ts. No Node or DOM imports here.
import type { ControlErrorBody, SystemState } from './control.js';

/** ADMIN_PATHS are the admin routes beyond CONTROL_PATHS' adminKeys/adminSystems/adminPolicy. */
export const ADMIN_PATHS = {
  /** POST PolicyTestRequest (the policy file's text as the body) → PolicyTestResult. Never
   * changes anything: validation problems, warnings and which system pairs would change. */
  policyTest: '/v1/admin/policy/test',
  /** POST { token } → 204 with an HttpOnly session cookie (the web console's login);
   * DELETE → 204, the session ends; GET → ConsoleSessionInfo or 401. */
  session: '/v1/admin/session',
  /** GET → { users: AdminUser[] }; POST users/ID/disable and users/ID/enable → AdminUser (ID: a
   * user id or email). */
  users: '/v1/admin/users',
} as const;

/** Approval: an enrolment key's systems are active at once, or wait for `systems approve`. */
export type Approval = 'automatic' | 'gated';

/** AdminKey is an enrolment key as listed (never the key itself), and whether it is usable. */
export interface AdminKey {
  id: string;
  tags: string[];
  approval: Approval;
  usesAllowed: number;
  uses: number;
  ephemeral: boolean;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  /** status: usable, or why not. */
  status: 'usable' | 'expired' | 'used-up' | 'revoked';
}

/** CreateKeyRequest is POST /v1/admin/keys. */
export interface CreateKeyRequest {
  tags: string[];
  approval: Approval;
  uses: number;
  expiresInMs: number;
  ephemeral: boolean;
}

/** CreatedKey is the answer: the only time the key text is ever shown. */
export interface CreatedKey extends AdminKey {
  key: string;
  /** warnings: tags no policy names (a likely typo); the key was created all the same. */
  warnings?: string[];
}

/** AdminSystem is a system as listed. */
export interface AdminSystem {
  systemId: string;
  identity: string;
  name: string;
  hostname: string;
  virtualAddress: string;
  /** virtualAddress6 is its IPv6 address in the network's /48 (derived from virtualAddress). */
  virtualAddress6: string;
  state: SystemState;
  tags: string[];
  /** dnsNames are the names set with `systems dns` (the name and policy records come on top). */
  dnsNames: string[];
  ephemeral: boolean;
  online: boolean;
  /** lastSeen (Unix ms) is the time of the answer while the system is online (its watch stream
   * is open), else when it was last seen: its stream closing or its last request. */
  lastSeen: number | null;
  observedIp: string | null;
  /** observedUdp is where its last discovery request came from ("ip:port"), if any. */
  observedUdp: string | null;
  endpoints: string[];
  createdAt: number;
  keyId: string | null;
  /** owner is the email of the user who enrolled it by signing in, or null (an enrolment key). */
  owner?: string | null;
}

/** AdminUserSystem is one of a user's systems as the users page shows it. */
export interface AdminUserSystem {
  identity: string;
  name: string;
  state: SystemState;
  online: boolean;
}

/** AdminUser is a user who signed in (GET /v1/admin/users → { users }). */
export interface AdminUser {
  userId: string;
  email: string;
  /** name is the person's name as the provider gave it, or ''. */
  name: string;
  groups: string[];
  provider: string;
  issuer: string;
  subject: string;
  createdAt: number;
  /** lastAuthAt is when the user last authenticated at the provider (Unix ms). */
  lastAuthAt: number;
  disabled: boolean;
  /** checkedAt is when the groups were last checked with the sign-in's refresh token, or null. */
  checkedAt: number | null;
  /** lapsedAt is when the provider refused that refresh token (the sign-in no longer counts
   * until the person signs in again), or null. */
  lapsedAt: number | null;
  /** systems are the identities of the user's systems (not revoked). */
  systems: string[];
  /** ownedSystems are the same systems with their names and whether they are online. */
  ownedSystems: AdminUserSystem[];
}

/** TagsRequest is POST /v1/admin/systems/ID/tags: either set, or add and/or remove. */
export interface TagsRequest {
  set?: string[];
  add?: string[];
  remove?: string[];
}

/** TaggedSystem is the answer to TagsRequest: the system, and warnings for its tags that no
 * policy names (a likely typo); the tags were set all the same. */
export interface TaggedSystem extends AdminSystem {
  warnings?: string[];
}

/** PolicyInfo is GET /v1/admin/policy and the answer to PUT. */
export interface PolicyInfo {
  text: string | null;
  appliedAt: number | null;
  mapVersion: number;
  counts: { tags: number; policies: number; dnsRecords: number; routes: number };
  /** warnings of the file just applied (PUT only): names and tags that match nothing. */
  warnings?: PolicyWarning[];
}

/** PolicyIssueWire is one problem of a refused policy file (in the 422 error body as `issues`). */
export interface PolicyIssueWire {
  line: number;
  column: number;
  key: string | null;
  problem: string;
}

/** PolicyWarning is something legal but probably wrong, where it is written: an identity no
 * system has, a tag no system or key carries. `policy apply --strict` refuses on any. */
export interface PolicyWarning extends PolicyIssueWire {
  /** kind: what matched nothing. */
  kind: 'unknown-identity' | 'unknown-tag' | 'unknown-name' | 'unknown-user' | 'unknown-group' | 'unknown-authority';
}

/** AccessChange is one ordered pair of systems whose access changes, and the ports. */
export interface AccessChange {
  /** from/to are system identities; fromName/toName their names, for reading. */
  from: string;
  fromName: string;
  to: string;
  toName: string;
  /** ports: what `from` may reach on `to` before and after, e.g. ["tcp/22", "icmp"] or ["all"];
   * [] when it could reach nothing. */
  before: string[];
  after: string[];
}

/** RouteChange is one sender and exit-node route whose grant changes. */
export interface RouteChange {
  sender: string;
  senderName: string;
  exitNode: string;
  subnet: string;
  change: 'granted' | 'withdrawn';
}

/** PolicyTestResult is the dry run's answer. ok false: `issues` say why the file would be
 * refused, and the changes are empty. */
export interface PolicyTestResult {
  ok: boolean;
  issues: PolicyIssueWire[];
  warnings: PolicyWarning[];
  /** changes: pairs whose access differs, sorted by from then to (at most `limit`). */
  changes: AccessChange[];
  routes: RouteChange[];
  /** truncated: more pairs (or route changes) changed than are listed. */
  truncated: boolean;
  /** changedPairs counts every pair whose access changes, listed or not. */
  changedPairs?: number;
  /** mapVersion the comparison was made against (the policy in force then). */
  mapVersion: number;
}

/** AuditEntry is one entry of the audit log (GET /v1/admin/audit → { entries }). */
export interface AuditEntry {
  id: number;
  /** at is Unix milliseconds. */
  at: number;
  /** actor is "admin" (the admin token or a console session), a system identity, or "anonymous". */
  actor: string;
  source: string | null;
  /** action is "keys.create", "systems.approve", "enrol", ... */
  action: string;
  target: string;
  outcome: 'ok' | 'refused';
  reason: string | null;
  detail: string | null;
}

/** ConsoleSessionInfo is GET /v1/admin/session for a logged-in console. */
export interface ConsoleSessionInfo {
  expiresAt: number;
}

/** PolicyRefusedBody is the 422 answer to a refused policy file: ControlErrorBody plus every
 * issue where it is written. */
export interface PolicyRefusedBody extends ControlErrorBody {
  issues: PolicyIssueWire[];
}
