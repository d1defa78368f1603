// The admin API's wire types (/v1/admin/..., Bearer token). Only warren-coordinator's own
// admin commands and tests use them; the agent contract is src-shared/wire/control.ts.
import type { SystemState } from '../../../src-shared/wire/control.js';
import type { Approval, EnrolmentKey } from '../auth/enrolment-keys.js';
import type { NatStats } from '../nat/services.js';

/** AdminKey is an enrolment key as listed: the stored record without its hash (never the key
 * itself), and whether it is usable. */
export interface AdminKey extends Omit<EnrolmentKey, 'hash'> {
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
  lastSeen: number | null;
  observedIp: string | null;
  /** observedUdp is where its last discovery request came from ("ip:port"), if any. */
  observedUdp: string | null;
  endpoints: string[];
  createdAt: number;
  keyId: string | null;
}

/** TagsRequest is POST /v1/admin/systems/ID/tags: either set, or add and/or remove. */
export interface TagsRequest {
  set?: string[];
  add?: string[];
  remove?: string[];
}

/** PolicyInfo is GET /v1/admin/policy and the answer to PUT. */
export interface PolicyInfo {
  text: string | null;
  appliedAt: number | null;
  mapVersion: number;
  counts: { tags: number; policies: number; dnsRecords: number; routes: number };
}

/** PolicyIssueWire is one problem of a refused policy file (in the 422 error body as `issues`). */
export interface PolicyIssueWire {
  line: number;
  column: number;
  key: string | null;
  problem: string;
}

/** CoordinatorStats is GET /v1/admin/stats. */
export interface CoordinatorStats {
  mapVersion: number;
  /** network is the IPv4 virtual network; network6 the network's unique local /48 (RFC 4193). */
  network: string;
  network6: string;
  systems: { total: number; active: number; pending: number; revoked: number; online: number };
  watchers: number;
  lastPass: { ms: number; changed: number; version: number; passes: number };
  rssBytes: number;
  heapUsedBytes: number;
  /** nat: the UDP port's counters (discovery answers and drops by reason, the embedded relay). */
  nat: NatStats;
}
