// Inserting a new system under a newly issued identity, when another coordinator on the same
// database may be enrolling at the same moment (docs/coordinator.md "Several coordinators").
// Memory knows only what this coordinator has seen, so the database's constraints decide:
// an identity issued before (issued_identities), an address or a name held by a live system
// (the partial unique indexes of migration 1). A refusal is answered with the next candidate in
// the same transaction; the refused statement ran in a savepoint of its own (postgres-store.ts
// insertSystem), so the transaction goes on.
import { isIdentity } from '../../../src-shared/lib/identity.js';
import { ControlError } from '../http/errors.js';
import { identityCandidates } from './allocate.js';
import { isIdentityClash, StoreConstraintError, type Store, type SystemRow } from './store.js';

/** NewSystem is a system to insert; the registry issues its identity. */
export type NewSystem = Omit<SystemRow, 'identity'>;

/** CLASH_RETRIES bounds how often an address or a name is drawn again after the database
 * refused one: each refusal is another coordinator's system committed meanwhile. */
const CLASH_RETRIES = 32;

/** InsertSeams are the registry's answers the insertion needs. */
export interface InsertSeams {
  store: Store;
  /** issued holds every identity known to be issued; refused ones are added. */
  issued: Set<string>;
  newIdentity: () => string;
  /** freeAddress and freeName draw another address or name, avoiding also. */
  freeAddress(also: ReadonlySet<number>): number;
  freeName(hostname: string, also: ReadonlySet<string>): string;
}

/** clashOn tells whether e is a unique index refusing column of a live system. */
export function clashOn(e: unknown, column: 'address' | 'name'): boolean {
  if (e instanceof StoreConstraintError && e.constraint !== null) return e.constraint === `systems_${column}`;
  return e instanceof Error && new RegExp(`UNIQUE constraint failed: systems\\.${column}\\b`).test(e.message);
}

/** insertUnderNewIdentity inserts row under the first candidate identity never issued,
 * drawing another address or name when the database says one is taken. Identities are issued
 * at random, not derived from the WireGuard key, and never reused, so no key can be ground to
 * land on one that policies name (docs/coordinator.md "Identities"). */
export function insertUnderNewIdentity(first: NewSystem, x: InsertSeams): SystemRow {
  let row = first;
  const addresses = new Set<number>();
  const names = new Set<string>();
  for (const identity of identityCandidates(x.newIdentity)) {
    if (!isIdentity(identity) || x.issued.has(identity)) continue;
    for (;;) {
      const full: SystemRow = { ...row, identity, autoTags: row.autoTags ?? [] };
      try {
        x.store.insertSystem(full);
        return full;
      } catch (e) {
        if (isIdentityClash(e)) {
          x.issued.add(identity);
          break;
        }
        if (clashOn(e, 'address') && addresses.size < CLASH_RETRIES) {
          addresses.add(row.address);
          row = { ...row, address: x.freeAddress(addresses) };
        } else if (clashOn(e, 'name') && names.size < CLASH_RETRIES) {
          names.add(row.name);
          row = { ...row, name: x.freeName(row.hostname, names) };
        } else throw e;
      }
    }
  }
  throw new ControlError(
    'address-space-full',
    'every identity (32^5) has been issued in this network; no further system can enrol',
  );
}
