// This system's own sign-in, as the coordinator's signed map tells it (NetworkMap.self.signIn):
// the helper turns it into Status.signIn and, once a UserAuthentication requirement stops
// accepting it (expiresAt passed, docs/coordinator.md "Requiring a recent sign-in"), into a
// problem that says how to sign in again. The coordinator enforces the requirement; this only
// tells the person, so the helper's own clock is good enough here.
import type { SelfSignIn } from '../../../src-shared/wire/control.js';
import type { SignInState } from '../../../src-shared/wire/status.js';

/** signInState is Status.signIn at now, or null for a system no person signed in for. */
export function signInState(s: SelfSignIn | null | undefined, now: number): SignInState | null {
  if (!s) return null;
  const expiresAt = s.expiresAt ?? null;
  return {
    user: s.user,
    authority: s.authority,
    authenticatedAt: s.authenticatedAt,
    expiresAt,
    // Met at exactly authenticatedAt + MaxAge, lapsed one millisecond later (maps/user-auth.ts).
    lapsed: expiresAt !== null && now > expiresAt,
  };
}

/** clockTime is a moment for people in the machine's own time zone: HH:MM the same day, the
 * date too otherwise. */
export function clockTime(at: number, now: number): string {
  const d = new Date(at);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const hhmm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (d.toDateString() === new Date(now).toDateString()) return hhmm;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hhmm}`;
}

/** lapsedSignInProblem says that the sign-in has lapsed, what that closes, and how to sign in
 * again (coordinatorUrl is the profile's). */
export function lapsedSignInProblem(s: SignInState, coordinatorUrl: string, now: number): string {
  return (
    `Your sign-in as ${s.user} expired at ${clockTime(s.expiresAt ?? now, now)}: sign in again ` +
    `(warren login --coordinator ${coordinatorUrl}, or Sign in again in the app) to reach what a policy keeps ` +
    'for a recent sign-in'
  );
}
