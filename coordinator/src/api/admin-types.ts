// The admin API's types that only warren-coordinator's own commands and tests use; those the
// web console reads too are in src-shared/wire/admin.ts, re-exported here.
import type { NatStats } from '../nat/services.js';

export type {
  AdminKey,
  AdminSystem,
  AdminUser,
  AdminUserSystem,
  CreateKeyRequest,
  CreatedKey,
  PolicyInfo,
  PolicyIssueWire,
  TagsRequest,
  TaggedSystem,
  PolicyTestResult,
  PolicyWarning,
} from '../../../src-shared/wire/admin.js';

/** CoordinatorStats is GET /v1/admin/stats. */
export interface CoordinatorStats {
  mapVersion: number;
  /** network is the IPv4 virtual network; network6 the network's unique local /48 (RFC 4193). */
  network: string;
  network6: string;
  systems: { total: number; active: number; pending: number; revoked: number; online: number };
  watchers: number;
  /** lastPass: the last map pass; due, whether another is scheduled or under way. */
  lastPass: { ms: number; changed: number; version: number; passes: number; due: boolean };
  /** push: the last change that alters maps (a policy file, a system enrolling or changing; not
   * an online flag), from its being recorded to the last map or delta frame written to a watch
   * stream since (null before one), and how many such frames were written; backlog: the
   * streams whose readers have not yet taken all that was sent or is due them (a frame held back,
   * a full map due, bytes in the socket's buffer) and those bytes, now. */
  push: { lastWriteMs: number | null; frames: number; backlog: { streams: number; bytes: number } };
  /** rssBytes and the heap's figures are process.memoryUsage(): externalBytes is memory V8
   * objects hold outside the heap (Buffers among it, arrayBuffersBytes). */
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  /** nat: the UDP port's counters (discovery answers and drops by reason, the embedded relay). */
  nat: NatStats;
}
