// Who a policy names through people (user: and group: selectors), for `warren why`: each map's
// policy carries `via`, by identity, the selector and user that put a system in the policy when
// no tag or identity selector did (src-shared/wire/policy.ts Policy.via).
import { GROUP_PREFIX, USER_PREFIX, type Policy, type Selector } from '../../../src-shared/wire/policy.js';
import type { LiveSystem } from '../store/registry.js';
import type { UserDirectory } from '../store/users.js';

const isPerson = (s: Selector): boolean => s.startsWith(USER_PREFIX) || s.startsWith(GROUP_PREFIX);

/** peopleVia lists, by identity, why a person selector of p names each system that only a
 * person selector names. */
export function peopleVia(
  p: Policy,
  bySelector: Map<string, string[]>,
  byIdentity: Map<string, LiveSystem>,
  users: UserDirectory,
): Map<string, string> {
  const via = new Map<string, string>();
  for (const side of [p.senders, p.receivers]) {
    if (!side.some(isPerson)) continue;
    const direct = new Set<string>();
    for (const sel of side) {
      if (isPerson(sel)) continue;
      if (byIdentity.has(sel)) direct.add(sel);
      else for (const id of bySelector.get(sel) ?? []) direct.add(id);
    }
    for (const sel of side.filter(isPerson)) {
      for (const id of bySelector.get(sel) ?? []) {
        if (direct.has(id) || via.has(id)) continue;
        const email = users.get(byIdentity.get(id)?.ownerId ?? null)?.email;
        via.set(id, sel.startsWith(GROUP_PREFIX) && email ? `${sel} (${email})` : sel);
      }
    }
  }
  return via;
}

/** viaJson renders `,"via":{...}` for the identities a map shows, or '' when none has one. */
export function viaJson(via: Map<string, string>, shown: Iterable<string>): string {
  if (via.size === 0) return '';
  const parts: string[] = [];
  for (const id of shown) {
    const v = via.get(id);
    if (v !== undefined) parts.push(`${JSON.stringify(id)}:${JSON.stringify(v)}`);
  }
  return parts.length === 0 ? '' : `,"via":{${parts.join(',')}}`;
}
