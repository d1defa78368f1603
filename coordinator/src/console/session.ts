// Web console sessions: the admin token is exchanged once (POST /v1/admin/session) for a random
// session id held in an HttpOnly cookie, so the token never sits in the page's reach. Sessions
// live in memory only (a restart logs everyone out), are bounded in number (the oldest is
// evicted), end 12 h after login whatever happens and after 1 h without use. A request that
// rides on the cookie and changes something must also prove it came from the console's own
// page (csrfProblem): the browser sends cookies with cross-site requests of some kinds, and
// SameSite=Strict alone leaves same-site sibling hosts able to forge them (RFC 6265bis 8.8).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** SESSION_LIMITS are the defaults (docs/coordinator.md "Web console"). */
export const SESSION_LIMITS = {
  maxSessions: 256,
  lifetimeMs: 12 * 3600_000,
  idleMs: 3600_000,
  /** login failures allowed per source address per window before logins from it are refused. */
  failuresPerSource: 5,
  failureWindowMs: 60_000,
  /** sources: how many source addresses the failure counter remembers. */
  sources: 4096,
} as const;
export type SessionLimits = Record<keyof typeof SESSION_LIMITS, number>;

/** SESSION_COOKIE is the cookie's name; its Path keeps it off every route but the admin API. */
export const SESSION_COOKIE = 'warren_session';
/** CONSOLE_HEADER must come with every changing request made with the cookie. */
export const CONSOLE_HEADER = 'x-warren-console';

const ID = /^[A-Za-z0-9_-]{43}$/;

interface Session {
  createdAt: number;
  lastUsed: number;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** tokenMatches compares a presented admin token with the real one in constant time: both are
 * hashed first so that neither the length nor the content leaks through timing. */
export function tokenMatches(presented: string, real: string): boolean {
  return timingSafeEqual(digest(presented), digest(real));
}

/** SessionStore holds the console's sessions, keyed by a digest of the id (a heap dump shows
 * no usable cookie). */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly now: () => number,
    private readonly limits: Pick<SessionLimits, 'maxSessions' | 'lifetimeMs' | 'idleMs'> = SESSION_LIMITS,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /** create starts a session and returns its id: 256 random bits, base64url. */
  create(): { id: string; expiresAt: number } {
    const id = randomBytes(32).toString('base64url');
    const t = this.now();
    this.sweep(t);
    // Map keeps insertion order: the first entry is the oldest session.
    while (this.sessions.size >= this.limits.maxSessions) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    this.sessions.set(this.key(id), { createdAt: t, lastUsed: t });
    return { id, expiresAt: t + this.limits.lifetimeMs };
  }

  /** use returns when a valid session id expires (and marks it used), or null. */
  use(id: string): { expiresAt: number } | null {
    if (!ID.test(id)) return null;
    const k = this.key(id);
    const s = this.sessions.get(k);
    if (!s) return null;
    const t = this.now();
    if (this.expired(s, t)) {
      this.sessions.delete(k);
      return null;
    }
    s.lastUsed = t;
    return { expiresAt: Math.min(s.createdAt + this.limits.lifetimeMs, t + this.limits.idleMs) };
  }

  /** end forgets a session (logout). */
  end(id: string): void {
    if (ID.test(id)) this.sessions.delete(this.key(id));
  }

  private key(id: string): string {
    return digest(id).toString('base64');
  }

  private expired(s: Session, t: number): boolean {
    return t - s.createdAt >= this.limits.lifetimeMs || t - s.lastUsed >= this.limits.idleMs;
  }

  private sweep(t: number): void {
    for (const [k, s] of this.sessions) if (this.expired(s, t)) this.sessions.delete(k);
  }
}

/** LoginLimiter counts failed logins per source address in fixed windows, so that guessing the
 * token is refused before the body is even read. Bounded: when it remembers too many sources,
 * a new window starts early (an attacker with many addresses resets counts, but each address
 * still gets at most failuresPerSource tries per window). */
export class LoginLimiter {
  private windowStart = 0;
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly limits: Pick<SessionLimits, 'failuresPerSource' | 'failureWindowMs' | 'sources'> = SESSION_LIMITS,
  ) {}

  /** blocked tells whether source has used up its failed logins in this window. */
  blocked(source: string): boolean {
    this.roll();
    return (this.failures.get(source) ?? 0) >= this.limits.failuresPerSource;
  }

  /** failed counts one failed login of source. */
  failed(source: string): void {
    this.roll();
    if (!this.failures.has(source) && this.failures.size >= this.limits.sources) this.failures.clear();
    this.failures.set(source, (this.failures.get(source) ?? 0) + 1);
  }

  /** retryAfterS is how long until the window ends, in whole seconds. */
  retryAfterS(): number {
    return Math.max(1, Math.ceil((this.windowStart + this.limits.failureWindowMs - this.now()) / 1000));
  }

  private roll(): void {
    const t = this.now();
    if (t - this.windowStart >= this.limits.failureWindowMs) {
      this.windowStart = t;
      this.failures.clear();
    }
  }
}

/** cookieValue finds one cookie in a Cookie header (RFC 6265 5.4 syntax), or null. A header
 * longer than any real one is not looked at. */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (header === undefined || header.length > 8192) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** CsrfRequest is what the CSRF rules look at. */
export interface CsrfRequest {
  method: string;
  consoleHeader: string | undefined;
  origin: string | undefined;
  host: string | undefined;
  tls: boolean;
}

/** csrfProblem says why a request made with the session cookie is refused as a possible
 * cross-site forgery, or null. GET and HEAD change nothing and pass. Any other method needs
 * the X-Warren-Console: 1 header (a cross-site form cannot set headers, and a cross-site fetch
 * with one needs a CORS preflight the coordinator never grants) and, when the browser sends
 * Origin, the coordinator's own origin (RFC 6454 7.3). */
export function csrfProblem(r: CsrfRequest): string | null {
  if (r.method === 'GET' || r.method === 'HEAD') return null;
  if (r.consoleHeader !== '1')
    return 'a console request that changes something must carry the header "X-Warren-Console: 1"';
  if (r.origin === undefined) return null;
  const own = r.host === undefined ? null : `${r.tls ? 'https' : 'http'}://${r.host.toLowerCase()}`;
  if (own === null || r.origin.toLowerCase() !== own)
    return `the request's Origin ${JSON.stringify(r.origin.slice(0, 100))} is not the coordinator's own (${own ?? 'no Host header'})`;
  return null;
}

/** sessionCookie is the Set-Cookie value for id; Secure only over TLS (a plain-http console is
 * for loopback and tests: browsers drop Secure cookies from http). maxAgeS 0 clears it. */
export function sessionCookie(id: string, tls: boolean, maxAgeS: number): string {
  return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/v1/admin; Max-Age=${maxAgeS}${tls ? '; Secure' : ''}`;
}
