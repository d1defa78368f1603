// EarlyInitiators: the static keys that sent us a handshake initiation before we knew them as
// peers. When two systems are given to each other at the same moment (a policy change, a user
// enabled, a new sign-in), each hears of the other when its own map arrives. If the initiator's
// map comes first, its initiation reaches a responder that does not know it yet and is dropped
// (whitepaper §5.4.2 names no answer to an unknown key), and the initiator only tries again
// REKEY_TIMEOUT later (§6.4): five seconds without a path that policy already allows. A peer
// added within that time whose key is remembered here is sent an initiation by us at once.
//
// The key inside an initiation is not authenticated until the whole message is (anyone who
// knows our public key can name any key in one), so this remembers a claim only: the most it
// makes us do is send one initiation to a peer our own configuration just added, to the
// endpoint that configuration gives, never to the claim's source. The table is bounded, and a
// flood of claims only pushes older ones out.
import { BoundedMap } from './bounded-map.js';
import { REKEY_TIMEOUT } from './constants.js';

/** EARLY_INITIATORS_MAX bounds the table: well above the number of peers one map change adds
 * at once, and 64 bytes of hex key and a number each. */
export const EARLY_INITIATORS_MAX = 256;

/** EarlyInitiators remembers, per claimed static key (hex), when it last tried us unknown. */
export class EarlyInitiators extends BoundedMap<number> {
  constructor(max = EARLY_INITIATORS_MAX) {
    super(max);
  }

  /** triedRecently forgets the key and says whether it tried us within the last REKEY_TIMEOUT,
   * that is whether its own next attempt is still to come. */
  triedRecently(keyHex: string, now: number): boolean {
    const at = this.take(keyHex);
    return at !== undefined && now - at <= REKEY_TIMEOUT && now >= at;
  }
}
