// The UserAuthentication trust requirement on the coordinator (docs/coordinator.md "Requiring a
// recent sign-in"). Only the coordinator knows when each user last authenticated, so, like
// PublicIp, it is evaluated while the World is built: a sender whose user's sign-in is too old,
// from another authority, outside the groups, or disabled is left out of the policy's senders,
// and the requirement is left out of maps. The earliest moment a requirement that is met now
// will lapse is kept with the World, and LapseTimer (lapse-timer.ts) runs a map pass then.
import type { SelfSignIn } from '../../../src-shared/wire/control.js';
import type { UserAuthenticationRequirement } from '../../../src-shared/wire/policy.js';
import type { UserRow } from '../store/users.js';

/** UserAuthState is one requirement evaluated for one user at one moment. */
export type UserAuthState =
  | { met: true; lapsesAt: number }
  | { met: false; why: 'no-user' | 'disabled' | 'lapsed' | 'authority' | 'groups' | 'expired' };

/** authorityMatches tells whether the user signed in at the requirement's authority: a
 * provider's Name (any case) or its issuer URL exactly (OpenID Connect Core 1.0 §2: `iss` is
 * compared as a case-sensitive string). */
export function authorityMatches(authority: string, u: Pick<UserRow, 'provider' | 'issuer'>): boolean {
  return authority === u.issuer || authority.toLowerCase() === u.provider.toLowerCase();
}

/** userAuthState evaluates r for user u (undefined: the system has no user) at now. The
 * authentication counts while it is no older than MaxAge: at exactly lastAuthAt + MaxAge it is
 * still met, one millisecond later it is not, so lapsesAt is that next millisecond. */
export function userAuthState(r: UserAuthenticationRequirement, u: UserRow | undefined, now: number): UserAuthState {
  if (!u) return { met: false, why: 'no-user' };
  if (u.disabled) return { met: false, why: 'disabled' };
  // The provider refused the sign-in's refresh token (oidc/recheck.ts): it no longer vouches
  // for this authentication, however recent; oidc/recheck.ts audits it.
  if (u.lapsedAt !== null) return { met: false, why: 'lapsed' };
  if (!authorityMatches(r.authority, u)) return { met: false, why: 'authority' };
  if (!r.groups.every((g) => u.groups.includes(g))) return { met: false, why: 'groups' };
  const lapsesAt = u.lastAuthAt + r.maxAgeMs + 1;
  if (now >= lapsesAt) return { met: false, why: 'expired' };
  return { met: true, lapsesAt };
}

/** Lapse is a user whose authentication is too old for a requirement of a policy. */
export interface Lapse {
  userId: string;
  email: string;
  policy: string;
  requirement: UserAuthenticationRequirement;
  /** since is when it lapsed; with userId, policy and the requirement it names the lapse once. */
  since: number;
}

/** UserAuthOutcome is what evaluating a policy's UserAuthentication requirements left. */
export interface UserAuthOutcome {
  senders: string[];
  /** nextLapseAt is the earliest moment a sender kept here stops meeting a requirement. */
  nextLapseAt: number | null;
  lapses: Lapse[];
}

/** filterByUserAuth keeps the senders whose users meet every requirement at now. */
export function filterByUserAuth(
  policy: string,
  reqs: readonly UserAuthenticationRequirement[],
  senders: readonly string[],
  userOf: (identity: string) => UserRow | undefined,
  now: number,
): UserAuthOutcome {
  if (reqs.length === 0) return { senders: [...senders], nextLapseAt: null, lapses: [] };
  const kept: string[] = [];
  const lapses = new Map<string, Lapse>();
  let next: number | null = null;
  for (const id of senders) {
    const u = userOf(id);
    let ok = true;
    for (const r of reqs) {
      const st = userAuthState(r, u, now);
      if (st.met) next = next === null ? st.lapsesAt : Math.min(next, st.lapsesAt);
      else {
        ok = false;
        // One entry per user, however many of their systems the policy names.
        if (st.why === 'expired' && u) {
          const since = u.lastAuthAt + r.maxAgeMs + 1;
          lapses.set(lapseKey(u.id, policy, r, since), { userId: u.id, email: u.email, policy, requirement: r, since });
        }
      }
    }
    if (ok) kept.push(id);
  }
  return { senders: kept, nextLapseAt: next, lapses: [...lapses.values()] };
}

/** lapseKey names one lapse: a new sign-in gives a new one. */
export function lapseKey(userId: string, policy: string, r: UserAuthenticationRequirement, since: number): string {
  return `${userId}|${policy}|${r.authority}|${r.groups.join(',')}|${r.maxAgeMs}|${since}`;
}

/** earliest is the smallest of the moments given, or null when there is none. */
export function earliest(list: readonly (number | null)[]): number | null {
  let m: number | null = null;
  for (const x of list) if (x !== null && (m === null || x < m)) m = x;
  return m;
}

/** noteSignInExpiries records, for each sender a policy's requirements apply to, when its
 * user's sign-in stops meeting them: lastAuthAt + MaxAge, the earliest over the requirements of
 * the user's own authority (a sign-in elsewhere would not help). Into expiries, by identity. */
export function noteSignInExpiries(
  reqs: readonly UserAuthenticationRequirement[],
  senders: readonly string[],
  userOf: (identity: string) => UserRow | undefined,
  expiries: Map<string, number>,
): void {
  if (reqs.length === 0) return;
  for (const id of senders) {
    const u = userOf(id);
    if (!u) continue;
    for (const r of reqs) {
      if (!authorityMatches(r.authority, u)) continue;
      const at = u.lastAuthAt + r.maxAgeMs;
      const known = expiries.get(id);
      if (known === undefined || at < known) expiries.set(id, at);
    }
  }
}

/** selfSignIn is the map's self.signIn for a system owned by u (wire/control.ts SelfSignIn). */
export function selfSignIn(u: UserRow, expiresAt: number | undefined): SelfSignIn {
  return {
    user: u.email,
    authority: u.provider,
    authenticatedAt: u.lastAuthAt,
    ...(expiresAt !== undefined ? { expiresAt } : {}),
  };
}
