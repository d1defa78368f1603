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
  maxConnections: 64,
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
  /** POST {coordinator, key}: enrol with a coordinator (root or operator group). */
  enrol: '/v1/enrol',
  /** GET: server-sent events, a status snapshot first, then a status after every change. */
  events: '/v1/events',
} as const;
