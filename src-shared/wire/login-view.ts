// The app's view of signing in (the Enrol tab's "Sign in", docs/app.md): how the sign-in the
// helper runs goes (Status.login), and whether this system's own sign-in has lapsed
// (Status.signIn, from the coordinator's map). Read from the helper's status, another process:
// every field is checked and bounded here. No Node or DOM imports.
import type { LoginProgress, SignInState } from './status.js';

/** LoginView is Status.login as the Enrol tab shows it. */
export type LoginView = Pick<
  LoginProgress,
  'state' | 'coordinator' | 'provider' | 'expiresAt' | 'user' | 'identity' | 'tags' | 'message'
>;

/** SignInView is this system's sign-in as the window shows it: lapsed turns the Enrol tab's
 * button into "Sign in again". */
export type SignInView = Pick<SignInState, 'user' | 'expiresAt' | 'lapsed'>;

/** SignInStarted is what the app's signIn call answers: the URL the person's browser was given
 * (opened says whether the app could open it) and the code the page shows after signing in. */
export interface SignInStarted {
  url: string;
  code: string;
  provider: string;
  expiresAt: number;
  opened: boolean;
}

const text = (v: unknown, max: number): string | null =>
  typeof v === 'string' ? v.replace(/[^\x20-\x7e]/g, '?').slice(0, max) : null;
const time = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);

/** loginViewOf reads Status.login, or null when there is none or it is malformed. */
export function loginViewOf(v: unknown): LoginView | null {
  if (typeof v !== 'object' || v === null) return null;
  const l = v as Record<string, unknown>;
  const state = l.state;
  if (state !== 'waiting' && state !== 'enrolled' && state !== 'refused' && state !== 'cancelled') return null;
  const message = text(l.message, 600);
  if (message === null) return null;
  return {
    state,
    coordinator: text(l.coordinator, 256) ?? '',
    provider: text(l.provider, 64) ?? '',
    expiresAt: time(l.expiresAt) ?? 0,
    user: text(l.user, 254),
    identity: text(l.identity, 16),
    tags: Array.isArray(l.tags)
      ? l.tags
          .map((t) => text(t, 64))
          .filter((t): t is string => t !== null)
          .slice(0, 64)
      : [],
    message,
  };
}

/** signInViewOf reads Status.signIn, or null. */
export function signInViewOf(v: unknown): SignInView | null {
  if (typeof v !== 'object' || v === null) return null;
  const s = v as Record<string, unknown>;
  const user = text(s.user, 254);
  if (user === null || typeof s.lapsed !== 'boolean') return null;
  return { user, expiresAt: time(s.expiresAt), lapsed: s.lapsed };
}

/** isOpenableUrl says whether a URL from the helper may be handed to the person's browser:
 * http(s) only (no file:, javascript: or custom schemes that start programs), printable, bounded. */
export function isOpenableUrl(url: unknown): url is string {
  return typeof url === 'string' && url.length <= 4096 && /^https?:\/\/[\x21-\x7e]+$/.test(url);
}

/** sameCoordinator says whether two coordinator URLs are the same but for trailing slashes and
 * spaces: signing in again with the coordinator a system is enrolled with needs no coordinator
 * key, since the helper checks the one its profile pinned. */
export function sameCoordinator(a: string | undefined, b: string): boolean {
  return a !== undefined && a.trim().replace(/\/+$/, '') === b.trim().replace(/\/+$/, '');
}
