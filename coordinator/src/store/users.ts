// People who sign in with an identity provider (coordinator/src/oidc, docs/coordinator.md
// "Signing in"): one row per issuer and subject (OpenID Connect Core 1.0 §2: `sub` is unique
// only within its issuer), with the email and groups the provider last asserted and when the
// user last authenticated, which the UserAuthentication trust requirement is to build on. The
// directory keeps them in memory for map computation and writes through to the store.
import type { Registry } from './registry.js';
import type { Store } from './store.js';

/** UserRow is a user as stored. */
export interface UserRow {
  id: string;
  /** issuer and subject identify the user at the identity provider (its `iss` and `sub`). */
  issuer: string;
  subject: string;
  /** provider is the configured provider's Name the user last signed in with. */
  provider: string;
  /** email is lower case, as the claim mapping checked it. */
  email: string;
  /** name is the person's name as the provider gives it (its `name` claim), or ''. */
  name: string;
  /** groups are bare names ("eng"), lower case, as the claim mapping checked them. */
  groups: string[];
  createdAt: number;
  /** lastAuthAt is when the user last authenticated at the provider (its `auth_time`, or the
   * time the ID token was checked when the provider sends none), Unix ms. */
  lastAuthAt: number;
  disabled: boolean;
  /** checkedAt is when the groups were last checked with the refresh token (oidc/recheck.ts),
   * or null: never since the sign-in. */
  checkedAt: number | null;
  /** lapsedAt is when the provider refused the refresh token (the sign-in no longer counts for
   * UserAuthentication, and the groups are gone), or null. A new sign-in clears it. */
  lapsedAt: number | null;
}

/** RawUser is a users row as both backends return it. */
export interface RawUser {
  id: string;
  issuer: string;
  subject: string;
  provider: string;
  email: string;
  name: string;
  groups: string;
  created_at: number | string;
  last_auth_at: number | string;
  disabled: number;
  checked_at: number | string | null;
  lapsed_at: number | string | null;
}

export function toUser(r: RawUser): UserRow {
  return {
    id: r.id,
    issuer: r.issuer,
    subject: r.subject,
    provider: r.provider,
    email: r.email,
    name: r.name,
    groups: JSON.parse(r.groups) as string[],
    createdAt: Number(r.created_at),
    lastAuthAt: Number(r.last_auth_at),
    disabled: r.disabled === 1,
    checkedAt: r.checked_at === null ? null : Number(r.checked_at),
    lapsedAt: r.lapsed_at === null ? null : Number(r.lapsed_at),
  };
}

/** COLUMNS are what a UserRow is read from: never refresh_token, which only the token check
 * reads (Store.userRefreshToken), so it is not held in memory with the rows. */
const COLUMNS = [
  ...['id', 'issuer', 'subject', 'provider', 'email', 'name', 'groups'],
  ...['created_at', 'last_auth_at', 'disabled', 'checked_at', 'lapsed_at'],
].join(', ');

/** USERS_SQL is the same in both dialects but for the placeholders ($n for PostgreSQL). A
 * sign-in replaces the refresh token (the new grant's, or none) and clears checked_at. */
export const USERS_SQL = {
  save: `INSERT INTO users (id, issuer, subject, provider, email, name, groups, created_at, last_auth_at, disabled,
      refresh_token, checked_at, lapsed_at, next_check_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, NULL, NULL, NULL)
    ON CONFLICT (issuer, subject) DO UPDATE SET provider = excluded.provider, email = excluded.email,
      name = excluded.name, groups = excluded.groups, last_auth_at = excluded.last_auth_at,
      refresh_token = excluded.refresh_token, checked_at = NULL, lapsed_at = NULL, next_check_at = NULL
    RETURNING ${COLUMNS}`,
  list: `SELECT ${COLUMNS} FROM users ORDER BY created_at, id`,
  setDisabled: 'UPDATE users SET disabled = $1 WHERE id = $2',
  refreshToken: 'SELECT refresh_token FROM users WHERE id = $1',
  checked: `UPDATE users SET groups = $1, checked_at = $2, refresh_token = $3, lapsed_at = $4
    WHERE id = $5 AND last_auth_at = $6 AND disabled = 0`,
  // One statement: PostgreSQL re-evaluates the condition on the row a concurrent claim has just
  // updated (READ COMMITTED), and SQLite has one writer, so two claims never both match.
  claim: `UPDATE users SET next_check_at = $1 WHERE id = $2 AND last_auth_at = $3 AND disabled = 0
    AND lapsed_at IS NULL AND COALESCE(next_check_at, COALESCE(checked_at, last_auth_at) + $4) <= $5`,
  due: 'SELECT COALESCE(next_check_at, COALESCE(checked_at, last_auth_at) + $1) AS due FROM users WHERE id = $2',
} as const;

/** claimParams are USERS_SQL.claim's parameters in order. */
export function claimParams(id: string, signIn: number, now: number, intervalMs: number): unknown[] {
  return [now + intervalMs, id, signIn, intervalMs, now];
}

/** checkedParams are USERS_SQL.checked's parameters in order. */
export function checkedParams(id: string, c: TokenCheck): unknown[] {
  return [JSON.stringify(c.groups), c.checkedAt, c.refreshToken, c.lapsedAt, id, c.signIn];
}

/** saveParams are USERS_SQL.save's parameters in order; refreshToken is sealed (or null). */
export function saveParams(u: UserRow, refreshToken: string | null): unknown[] {
  return [
    u.id,
    u.issuer,
    u.subject,
    u.provider,
    u.email,
    u.name,
    JSON.stringify(u.groups),
    u.createdAt,
    u.lastAuthAt,
    refreshToken,
  ];
}

/** TokenCheck is the outcome of one token check to store: the groups the provider says now,
 * the refresh token to keep (a rotated one, or null once refused) and, when it was refused,
 * since when the sign-in has lapsed. */
export interface TokenCheck {
  /** signIn is the last_auth_at of the sign-in that was checked. */
  signIn: number;
  groups: string[];
  checkedAt: number;
  refreshToken: string | null;
  lapsedAt: number | null;
}

/** UserDirectory holds the users in memory, by id. */
export class UserDirectory {
  private readonly byId = new Map<string, UserRow>();

  constructor(private readonly store: Store) {
    for (const u of store.listUsers()) this.byId.set(u.id, u);
  }

  get(id: string | null): UserRow | undefined {
    return id === null ? undefined : this.byId.get(id);
  }

  /** refresh reads the users again (another coordinator on the same database may have seen a
   * sign-in or disabled someone) and says whether any differs from memory. */
  refresh(): boolean {
    const stored = this.store.listUsers();
    let changed = stored.length !== this.byId.size;
    for (const u of stored) {
      const had = this.byId.get(u.id);
      if (!had || JSON.stringify(had) !== JSON.stringify(u)) changed = true;
    }
    if (!changed) return false;
    this.byId.clear();
    for (const u of stored) this.byId.set(u.id, u);
    return true;
  }

  all(): UserRow[] {
    return [...this.byId.values()];
  }

  /** save stores u (saveUser: a known issuer and subject keeps its id) and returns the row in
   * force; call it inside the transaction that enrols the user's system. */
  save(u: UserRow, refreshToken: string | null = null): UserRow {
    const stored = this.store.saveUser(u, refreshToken);
    this.byId.set(stored.id, stored);
    return stored;
  }

  /** checked stores a token check (oidc/recheck.ts); when the groups changed, every map is
   * computed again, as for setDisabled. It returns the row in force, or null when the store
   * refused the check as stale (the user signed in again or was disabled meanwhile, perhaps at
   * another coordinator): memory is read again then. */
  checked(registry: Registry, u: UserRow, c: TokenCheck): UserRow | null {
    const next = { ...u, groups: c.groups, checkedAt: c.checkedAt, lapsedAt: c.lapsedAt };
    const same =
      c.lapsedAt === u.lapsedAt && c.groups.length === u.groups.length && c.groups.every((g, i) => g === u.groups[i]);
    let written = false;
    const write = (): void => void (written = this.store.userChecked(u.id, c));
    if (same) write();
    else registry.worldChanged(write);
    if (!written) {
      this.refresh();
      return null;
    }
    this.byId.set(u.id, next);
    return next;
  }

  /** find returns the user with this email (any case) or id. */
  find(nameOrEmail: string): UserRow | undefined {
    const key = nameOrEmail.trim().toLowerCase();
    return this.byId.get(nameOrEmail) ?? this.all().find((u) => u.email === key);
  }

  /** setDisabled disables or enables u and makes every map be computed again (a disabled user's
   * systems lose what their user vouched for: user:/group: selectors, UserAuthentication). */
  setDisabled(registry: Registry, u: UserRow, disabled: boolean, extra: () => void = () => {}): void {
    registry.worldChanged(() => {
      this.store.setUserDisabled(u.id, disabled);
      extra();
    });
    this.byId.set(u.id, { ...u, disabled });
  }
}

const directories = new WeakMap<Store, UserDirectory>();

/** usersOf is the directory of a registry's store, loaded on first use; the registry, map
 * computation and the sign-in routes share it. */
export function usersOf(registry: Registry): UserDirectory {
  let d = directories.get(registry.store);
  if (!d) directories.set(registry.store, (d = new UserDirectory(registry.store)));
  return d;
}
