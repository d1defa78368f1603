// What keeps the browser fallback private to the person who started it: a random token per
// launch in the path of every request (so no cookie, no storage, and every asset request
// carries it too), an exact Host check against DNS rebinding, and an Origin check against
// other sites' pages. The token never leaves as a Referer: every response says no-referrer
// and the page loads nothing from elsewhere (CSP).
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** newToken is 32 random bytes as base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** isToken says whether s has the form of a token (so a test or caller can pass its own). */
export function isToken(s: string): boolean {
  return /^[A-Za-z0-9_-]{22,128}$/.test(s);
}

/** tokenMatches compares in constant time for equal lengths. */
export function tokenMatches(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** splitPath takes "/TOKEN/rest?query" apart; null when the path has no token segment. */
export function splitPath(url: string): { token: string; rest: string } | null {
  const path = url.split('?', 1)[0] ?? '';
  const m = /^\/([^/]{1,128})(?:\/(.*))?$/.exec(path);
  if (!m) return null;
  return { token: m[1]!, rest: m[2] ?? '' };
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
