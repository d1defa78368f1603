// `warren identity`: the 5-character identity of this profile or of a public key.
import { identityFromPublicKey } from '../../../src-shared/lib/identity.js';
import { KeyFormatError, parseKey } from '../../../src-shared/lib/keys.js';
import { loadProfile } from '../config/load.js';
import { stringFlag, UsageError, type Command } from './command.js';
import { resolvePath } from './paths.js';

/** identityCommand is `warren identity`. */
export const identityCommand: Command = {
  name: 'identity',
  summary: "print this system's identity, or a public key's",
  usage: 'warren identity [--public-key KEY] [--profile FILE]',
  details: `
Prints the identity (5 characters of Crockford base32, like G982V) of the given public key
(taken from SHA-256 of the key, as static profiles do), or else this profile's own: in a
coordinated profile the one the coordinator issued at enrolment, which no key determines.

  --public-key KEY   a peer's public key (base64)
  --profile FILE     profile to read (env WARREN_PROFILE, default /etc/warren/profiles/Universe.profile)`,
  options: {
    'public-key': { type: 'string' },
    profile: { type: 'string' },
  },
  async run(args, io) {
    const key = stringFlag(args, 'public-key');
    let identity: string;
    if (key !== undefined) {
      try {
        identity = identityFromPublicKey(parseKey(key));
      } catch (e) {
        if (e instanceof KeyFormatError) throw new UsageError(`--public-key ${e.message}`);
        throw e;
      }
    } else {
      identity = loadProfile(resolvePath('profile', args, io)).identity;
    }
    io.stdout.write(`${identity}\n`);
    return 0;
  },
};
