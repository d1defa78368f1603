// The local API's wire contract (DESIGN.md "Local API"): HTTP/1.1 over a Unix socket, JSON,
// versioned paths. Errors are `{ "error": { "code": "...", "message": "..." } }`.

/** DEFAULT_SOCKET_PATH is where the helper listens without --socket or WARREN_SOCKET. */
export const DEFAULT_SOCKET_PATH = '/run/warren/warren.sock';

/** API_LIMITS bound what either side accepts; the server runs as root. */
export const API_LIMITS = {
  headerBytes: 8 * 1024,
  bodyBytes: 64 * 1024,
  // A status with 10000 peers is a few MiB; leave room but stay bounded.
  responseBytes: 32 * 1024 * 1024,
  /**
   * maxConnections bounds open connections. The socket is open to every local user, so one
   * user (by SO_PEERCRED uid) holds at most maxConnectionsPerUser; callers outside root and the
   * operator group together hold at most maxUnprivilegedConnections, and callers other than
   * root at most maxNonRootConnections: the rest is always there for root and the operators.
   * Root is bounded by maxConnections alone.
   */
  maxConnections: 64,
  maxConnectionsPerUser: 8,
  maxNonRootConnections: 56,
  maxUnprivilegedConnections: 40,
  /** maxEventStreams bounds open GET /v1/events streams (they also count as connections), split
   * the same way as connections. */
  maxEventStreams: 16,
  maxEventStreamsPerUser: 4,
  maxNonRootEventStreams: 14,
  maxUnprivilegedEventStreams: 8,
  /** eventBacklogBytes: a stream whose unread output grows past this is closed (the client
   * reconnects and gets a fresh snapshot), so a stalled reader cannot pin the helper's memory. */
  eventBacklogBytes: 64 * 1024 * 1024,
  /** eventCoalesceMs: change notifications closer together than this make one event. */
  eventCoalesceMs: 100,
  /** eventTickMs: a status event at least this often while subscribed (counters move). */
  eventTickMs: 1000,
  /** eventHeartbeatMs: a comment line this often, for proxies and idle detection. */
  eventHeartbeatMs: 15_000,
} as const;

/** ApiErrorCode is every error code the server sends. */
export type ApiErrorCode =
  | 'forbidden-origin'
  | 'not-found'
  | 'method-not-allowed'
  | 'payload-too-large'
  | 'bad-request'
  | 'forbidden'
  | 'unavailable'
  | 'too-many-streams'
  | 'too-many-connections'
  | 'internal';

/** ApiErrorBody is the JSON body of every non-2xx response. */
export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string };
}

/** HttpMethod is a method a route may handle. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** PATHS are the routes, so that server and client spell them once. */
export const PATHS = {
  status: '/v1/status',
  why: '/v1/why',
  reload: '/v1/reload',
  exitNodes: '/v1/exit-nodes',
  /** POST: bring the tunnel up / down without stopping the helper (root or operator group). */
  connect: '/v1/connect',
  disconnect: '/v1/disconnect',
  /** POST {coordinator, key, coordinatorKey?, insecure?}: enrol with a coordinator (root or operator group). */
  enrol: '/v1/enrol',
  /** POST {coordinator, provider?, coordinatorKey?, insecure?} → LoginAnswer: start signing in with
   * the organisation's identity provider; GET → LoginAnswer of the sign-in under way, or 404
   * (root or operator group for both: the URL enrols this system as whoever completes it). */
  login: '/v1/login',
  /** GET: server-sent events, a status snapshot first, then a status after every change. */
  events: '/v1/events',
  /** GET: who the helper thinks the caller is and whether it may change things. */
  caller: '/v1/caller',
  /** GET: Prometheus metrics in the text exposition format (anyone who may read status). */
  metrics: '/v1/metrics',
} as const;

/** ApiEventName is the `event:` field of a /v1/events message. Both carry a whole Status:
 * 'snapshot' first on every stream, then 'status' after changes and at least every second. */
export type ApiEventName = 'snapshot' | 'status';

/** CallerInfo is the answer of GET /v1/caller. */
export interface CallerInfo {
  uid: number;
  gid: number;
  /** privileged: root or a member of the operator group (may connect, disconnect, enrol...). */
  privileged: boolean;
  operatorGroup: string;
  /** operatorGroupExists: false when the group is missing from /etc/group (only root may change things). */
  operatorGroupExists: boolean;
}

/** ExitNodeState is one exit node as GET/POST /v1/exit-nodes describe it. */
export interface ExitNodeState {
  identity: string;
  /** name is the exit node's name as the map (or profile) gives it; absent from older helpers. */
  name?: string | null;
  routes: string[];
  inUse: boolean;
  /** conflicts name the routes left out because they overlap a local network. */
  conflicts: string[];
  /** allowedBy says what lets this system's traffic into the routes past its own firewall: the
   * coordinator's route grant, a policy to the exit node or allow-all mode (static profiles), or
   * null when nothing does (a static profile without a policy to the exit node). Absent from
   * helpers that predate it. */
  allowedBy?: ExitRouteAllowance;
}

/** ExitRouteAllowance is what lets traffic into an exit node's routes, or null. */
export type ExitRouteAllowance = 'route-grant' | 'policy' | 'allow-all' | null;

/** WhyAnswer is GET /v1/why?peer=X: a text for people and the structured detail. */
export interface WhyAnswer {
  text: string;
  detail: unknown;
}

/** EnrolRequest is the body of POST /v1/enrol. */
export interface EnrolRequest {
  coordinator: string;
  key: string;
  /** coordinatorKey is the coordinator's public key (44 characters of base64) as its admin gives
   * it (`warren-coordinator key`): enrolment refuses a coordinator presenting another. Over plain
   * http:// it is required unless insecure is true. */
  coordinatorKey?: string;
  /** insecure: over plain http:// without coordinatorKey, pin whatever key answers. */
  insecure?: boolean;
}

/** EnrolAnswer is what POST /v1/enrol answers. */
export interface EnrolAnswer {
  identity: string;
  virtualAddress: string;
  /** virtualAddress6 is the IPv6 address the coordinator gave, or null (a coordinator without IPv6). */
  virtualAddress6: string | null;
  state: 'pending' | 'active' | 'revoked';
  restartRequired: true;
  /** coordinatorKey is the key now pinned, fingerprint its short form to compare by eye. */
  coordinatorKey: string;
  fingerprint: string;
  /** keyChecked: the pinned key is the coordinatorKey the request gave. */
  keyChecked: boolean;
  message: string;
}

/** ENROL_LIMITS bound POST /v1/enrol's fields (the helper runs as root): the URL as the
 * profile's Coordinator.Url allows it, an enrolment key as `warren enrol` accepts it, and room
 * for a 44-character key with stray spaces. */
export const ENROL_LIMITS = { coordinatorChars: 256, keyChars: 128, coordinatorKeyChars: 64 } as const;

/** LoginRequest is the body of POST /v1/login: as EnrolRequest without the key, plus the
 * provider to sign in with ("" or absent: the coordinator's first). */
export interface LoginRequest {
  coordinator: string;
  provider?: string;
  coordinatorKey?: string;
  insecure?: boolean;
}

/** LoginAnswer is what POST /v1/login answers once the coordinator has started the login: the
 * URL to open in the person's browser and the code its page shows after signing in. The helper
 * finishes in the background; Status.login tells how it goes. url and code go only to the
 * privileged caller, never into the status every local user may read: whoever completes the URL
 * enrols this system as theirs. */
export interface LoginAnswer {
  url: string;
  code: string;
  provider: string;
  expiresAt: number;
}

/** LOGIN_API_LIMITS bound POST /v1/login's fields, as ENROL_LIMITS. */
export const LOGIN_API_LIMITS = { providerChars: 32 } as const;
