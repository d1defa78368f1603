// `warren init`: write a new profile with a fresh key.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { identityFromPublicKey } from '../../../src-shared/lib/identity.js';
import { formatKey, generatePrivateKey, publicKeyFromPrivate } from '../../../src-shared/lib/keys.js';
import { saveProfile } from '../config/load.js';
import type { ProfileJson } from '../config/schema.js';
import { booleanFlag, intFlag, requiredFlag, type Command } from './command.js';
import { resolvePath } from './paths.js';

/** initCommand is `warren init`. */
export const initCommand: Command = {
  name: 'init',
  summary: 'write a new profile with a fresh private key',
  usage: 'warren init --profile FILE --address 100.64.X.Y [--port N] [--force]',
  details: `
Writes a new static-mode profile with a new private key and prints its public key and identity,
which peers need. An existing file is never replaced without --force.

  --profile FILE    where to write (env WARREN_PROFILE, default /etc/warren/profiles/Universe.profile)
  --address A.B.C.D this system's virtual address, inside 100.64.0.0/10
  --port N          UDP listen port (default 51820; 0 picks a free port)
  --force           replace an existing profile (its private key is lost)`,
  options: {
    profile: { type: 'string' },
    address: { type: 'string' },
    port: { type: 'string' },
    force: { type: 'boolean' },
  },
  async run(args, io) {
    const path = resolvePath('profile', args, io);
    const address = requiredFlag(args, 'address', "A.B.C.D (this system's virtual address)");
    const port = intFlag(args, 'port', 0, 65535) ?? 51820;
    const priv = generatePrivateKey();
    const json: ProfileJson = { PrivateKey: formatKey(priv), ListenPort: port, VirtualAddress: address, Peers: [] };
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    saveProfile(path, json, { overwrite: booleanFlag(args, 'force') });
    const pub = publicKeyFromPrivate(priv);
    io.stdout.write(`Wrote ${path}\nPublic key: ${formatKey(pub)}\nIdentity:   ${identityFromPublicKey(pub)}\n`);
    return 0;
  },
};
