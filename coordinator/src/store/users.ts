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
  /** groups are bare names ("eng"), lower case, as the claim mapping checked them. */
  groups: string[];
  createdAt: number;
  /** lastAuthAt is when the user last authenticated at the provider (its `auth_time`, or the
   * time the ID token was checked when the provider sends none), Unix ms. */
  lastAuthAt: number;
  disabled: boolean;
}

/** RawUser is a users row as both backends return it. */
export interface RawUser {
  id: string;
  issuer: string;
  subject: string;
  provider: string;
  email: string;
  groups: string;
  created_at: number | string;
  last_auth_at: number | string;
  disabled: number;
}

export function toUser(r: RawUser): UserRow {
  return {
    id: r.id,
    issuer: r.issuer,
    subject: r.subject,
    provider: r.provider,
    email: r.email,
    groups: JSON.parse(r.groups) as string[],
    createdAt: Number(r.created_at),
    lastAuthAt: Number(r.last_auth_at),
    disabled: r.disabled === 1,
  };
}

/** USERS_SQL is the same in both dialects but for the placeholders ($n for PostgreSQL). */
export const USERS_SQL = {
  save: `INSERT INTO users (id, issuer, subject, provider, email, groups, created_at, last_auth_at, disabled)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)
    ON CONFLICT (issuer, subject) DO UPDATE SET provider = excluded.provider, email = excluded.email,
      groups = excluded.groups, last_auth_at = excluded.last_auth_at
    RETURNING *`,
  list: 'SELECT * FROM users ORDER BY created_at, id',
  setDisabled: 'UPDATE users SET disabled = $1 WHERE id = $2',
} as const;

/** saveParams are USERS_SQL.save's parameters in order. */
export function saveParams(u: UserRow): unknown[] {
  return [u.id, u.issuer, u.subject, u.provider, u.email, JSON.stringify(u.groups), u.createdAt, u.lastAuthAt];
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
  save(u: UserRow): UserRow {
    const stored = this.store.saveUser(u);
    this.byId.set(stored.id, stored);
    return stored;
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
