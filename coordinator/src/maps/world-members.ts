// The half of a World (world.ts) that the systems decide and the policy does not: the active
// systems by identity, the systems each tag, user and group selector names, and the member
// lists selectors expand to. A policy file changes none of it, so a World built for a new
// policy file reuses the last World's Members: the file's policies are resolved against the
// kept index and their member lists (sorted, serialised, as Sets) come from the kept
// expansions, where a rebuild would walk, sort and serialise every system again. Equal member
// lists are then the same objects in both Worlds, which lets the map builder keep its peer
// classes (peer-classes.ts) across the change.
import { GROUP_PREFIX, tagSelector, USER_PREFIX, type Selector } from '../../../src-shared/wire/policy.js';
import type { LiveSystem, Registry } from '../store/registry.js';
import { usersOf, type UserDirectory, type UserRow } from '../store/users.js';

/** Expansion is a selector list expanded to the identities of active systems, ascending. */
export interface Expansion {
  ids: readonly string[];
  json: string;
  set: ReadonlySet<string>;
}

/** Members is the active systems and what selectors name, at one membership epoch. */
export class Members {
  readonly byIdentity = new Map<string, LiveSystem>();
  /** bySelector holds the systems of each tag, user and group selector ("tag:dev"). */
  readonly bySelector = new Map<string, string[]>();
  readonly users: UserDirectory;
  /** owners are the user rows the selectors were taken from (the directory replaces a row
   * when it changes, so the same objects mean the same users). */
  private readonly owners = new Map<string, UserRow>();
  /** expansions are those the World being built asked for; earlier ones those the World
   * before it did (startWorld). Only they are kept: a series of policy files, each naming
   * other lists, holds no more than the World in force does. */
  private expansions = new Map<string, Expansion>();
  private earlier = new Map<string, Expansion>();

  constructor(
    readonly epoch: number,
    readonly active: readonly LiveSystem[],
    users: UserDirectory,
  ) {
    this.users = users;
    for (const s of active) {
      this.byIdentity.set(s.identity, s);
      const u = users.get(s.ownerId ?? null);
      if (u) this.owners.set(u.id, u);
      for (const sel of selectorsOf(s, u)) {
        const list = this.bySelector.get(sel);
        if (list) list.push(s.identity);
        else this.bySelector.set(sel, [s.identity]);
      }
    }
  }

  /** current tells whether these Members still hold for the registry: no change but policy
   * files since (membersEpoch) and the systems' owners unchanged. */
  current(registry: Registry): boolean {
    if (this.epoch !== membersEpoch(registry)) return false;
    const users = usersOf(registry);
    if (users !== this.users) return false;
    for (const [id, row] of this.owners) if (users.get(id) !== row) return false;
    return true;
  }

  /** startWorld begins a World's build: what it expands is kept, what only earlier Worlds did
   * is dropped when the next build begins. */
  startWorld(): void {
    this.earlier = this.expansions;
    this.expansions = new Map();
  }

  /** expand turns selectors into the identities of active systems, in a stable order (the
   * same object for the same selectors while these Members hold). */
  expand(selectors: readonly Selector[]): Expansion {
    // JSON, not a join: no selector text can make two lists share a key.
    const key = JSON.stringify(selectors);
    let e = this.expansions.get(key) ?? this.earlier.get(key);
    if (e) {
      this.expansions.set(key, e);
      return e;
    }
    const out = new Set<string>();
    for (const sel of selectors) {
      if (this.byIdentity.has(sel)) out.add(sel);
      else for (const id of this.bySelector.get(sel) ?? []) out.add(id);
    }
    const ids = [...out].sort();
    e = { ids, json: JSON.stringify(ids), set: new Set(ids) };
    this.expansions.set(key, e);
    return e;
  }
}

/** membersEpoch counts the changes that can change Members: every World change but policy
 * files. A policy file is the only change that bumps policyEpoch, and it bumps worldEpoch with
 * it (registry.ts inForce), so the difference moves exactly when something else changed the
 * World (a system joining, leaving or re-tagged, an observed address, a user's change). */
export function membersEpoch(registry: Registry): number {
  return registry.worldEpoch - registry.policyEpoch;
}

/** membersOf returns prev when it still holds for the registry, else new Members. */
export function membersOf(registry: Registry, prev: Members | null): Members {
  if (prev && prev.current(registry)) return prev;
  return new Members(membersEpoch(registry), registry.active(), usersOf(registry));
}

/** selectorsOf lists the tag, user and group selectors that name s. A disabled user's systems
 * are named by none of theirs: the user no longer vouches for them. */
function selectorsOf(s: LiveSystem, u: UserRow | undefined): string[] {
  const out = s.tags.map(tagSelector);
  if (u && !u.disabled) out.push(USER_PREFIX + u.email, ...u.groups.map((g) => GROUP_PREFIX + g));
  return out;
}
