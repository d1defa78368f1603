// What keeps the browser fallback private to the person who started it. A browser gets in only
// by redeeming a one-time code (codes.ts) for a session cookie, whose value is a random secret
// per launch that only ever travels in Set-Cookie and Cookie headers: never on a command line,
// never in a URL. Cookies do not isolate ports (RFC 6265 §8.5): a cookie with Path=/ would go
// to every server on 127.0.0.1, another user's too. So the window lives under a random path
// per launch, /SCOPE/, and the cookie is scoped to it (the Path attribute, RFC 6265 §4.1.2.4,
// and path-match, §5.1.4): the browser sends it to no other path, on this port or any other.
// The scope is no secret (it shows in the address bar); without the cookie it opens nothing.
// On top: an exact Host check against DNS rebinding and an Origin check against other sites'
// pages. Nothing leaves as a Referer: every response says no-referrer and the page loads
// nothing from elsewhere (CSP).
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** newSecret is `bytes` random bytes as base64url (32 bytes: 43 characters). */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** secretMatches compares in constant time for equal lengths (a length is no secret). */
export function secretMatches(given: string, secret: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** splitPath takes "/SCOPE/rest?query" apart; null when the path has no first segment. */
export function splitPath(url: string): { scope: string; rest: string } | null {
  const path = url.split('?', 1)[0] ?? '';
  const m = /^\/([^/]{1,128})(?:\/(.*))?$/.exec(path);
  if (!m) return null;
  return { scope: m[1]!, rest: m[2] ?? '' };
}

/** SESSION_COOKIE is the name of the window's session cookie. */
export const SESSION_COOKIE = 'warren-ui';

/** cookieValues are the values of every cookie called name in a Cookie header (RFC 6265
 * §5.4: there may be several of one name, with different paths, set by different ports). */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (header === undefined) return [];
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) values.push(pair.slice(eq + 1).trim());
  }
  return values;
}

/** sessionCookie is the Set-Cookie value that gives a browser the session (RFC 6265, with
 * SameSite from RFC 6265bis): no Expires or Max-Age, so it ends with the browser session; no
 * Domain, so only this host gets it; Path, so only the window's own requests carry it;
 * HttpOnly, so no script reads it; SameSite=Strict, so no request another site starts carries
 * it. No Secure: this is plain http on the loopback. */
export function sessionCookie(secret: string, scope: string): string {
  return `${SESSION_COOKIE}=${secret}; Path=/${scope}/; HttpOnly; SameSite=Strict`;
}

/** allowedOrigins are the only origins the page itself can have. */
export function allowedOrigins(port: number): string[] {
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
}

/** hostAllowed: the Host header must name this server exactly (DNS rebinding sends the
 * attacker's name). */
export function hostAllowed(host: string | undefined, port: number): boolean {
  return host !== undefined && allowedOrigins(port).includes(`http://${host.toLowerCase()}`);
}

/** originAllowed: no Origin (a direct navigation or a non-browser client) or this server's. */
export function originAllowed(origin: string | undefined, port: number): boolean {
  return origin === undefined || allowedOrigins(port).includes(origin.toLowerCase());
}

/** openerOriginAllowed is originAllowed for redeeming a code, which also takes the opaque
 * origin "null": the opener page is a file:// page (opener.ts), and a file's origin is opaque
 * (HTML, "origin" of a document). The code itself is what authenticates that request. */
export function openerOriginAllowed(origin: string | undefined, port: number): boolean {
  return origin === 'null' || originAllowed(origin, port);
}

/** CSP is the Content-Security-Policy of every response: only this server's own files. */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** SECURITY_HEADERS go on every response. */
export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CSP,
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=(), hid=()',
  'Cache-Control': 'no-store',
};
