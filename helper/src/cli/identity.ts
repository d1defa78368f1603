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
Prints the identity (5 characters of Crockford base32 from SHA-256 of the public key, like
G982V) of the given public key, or else of the profile's own key.

  --public-key KEY   a peer's public key (base64)
  --profile FILE     profile to read (env WARREN_PROFILE, default /etc/warren/profiles/Universe.profile)`,
  options: {
    'public-key': { type: 'string' },
    profile: { type: 'string' },
  },
  async run(args, io) {
    const key = stringFlag(args, 'public-key');
    let pub: Buffer;
    if (key !== undefined) {
      try {
        pub = parseKey(key);
      } catch (e) {
        if (e instanceof KeyFormatError) throw new UsageError(`--public-key ${e.message}`);
        throw e;
      }
    } else {
      pub = loadProfile(resolvePath('profile', args, io)).publicKey;
    }
    io.stdout.write(`${identityFromPublicKey(pub)}\n`);
    return 0;
  },
};
