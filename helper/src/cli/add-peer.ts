// `warren add-peer`: append a static peer to a profile as one validated, atomic edit.
import { identityFromPublicKey } from '../../../src-shared/lib/identity.js';
import { readProfile, saveProfile } from '../config/load.js';
import type { PeerJson } from '../config/schema.js';
import { intFlag, requiredFlag, stringFlag, UsageError, type Command } from './command.js';
import { resolvePath } from './paths.js';

/** addPeerCommand is `warren add-peer`. */
export const addPeerCommand: Command = {
  name: 'add-peer',
  summary: 'add a static peer to a profile',
  usage:
    'warren add-peer --profile FILE --public-key KEY --allowed-ips CIDR[,CIDR...] [--endpoint IP:PORT] [--keepalive N] [--name NAME]',
  details: `
Adds one peer to the profile's Peers. The whole profile is checked again before the file is
replaced (atomically), so a mistake leaves the file as it was.

  --profile FILE         profile to edit (env WARREN_PROFILE, default /etc/warren/profiles/Universe.profile)
  --public-key KEY       the peer's public key (base64, from \`warren pubkey\` on the peer)
  --allowed-ips CIDRS    comma-separated addresses the peer may use, e.g. 100.64.0.2/32
  --endpoint IP:PORT     where to reach the peer first (optional; it then follows the peer)
  --keepalive N          persistent keepalive in seconds (0-65535; 0 = off)
  --name NAME            a label shown by \`warren status\``,
  options: {
    profile: { type: 'string' },
    'public-key': { type: 'string' },
    'allowed-ips': { type: 'string' },
    endpoint: { type: 'string' },
    keepalive: { type: 'string' },
    name: { type: 'string' },
  },
  async run(args, io) {
    const path = resolvePath('profile', args, io);
    const publicKey = requiredFlag(args, 'public-key', 'KEY');
    const allowed = requiredFlag(args, 'allowed-ips', 'CIDR[,CIDR...]')
      .split(',')
      .map((s) => s.trim());
    if (allowed.some((s) => s === '')) throw new UsageError('--allowed-ips has an empty entry');
    const name = stringFlag(args, 'name');
    const endpoint = stringFlag(args, 'endpoint');
    const keepalive = intFlag(args, 'keepalive', 0, 65535);
    // Key order as in docs/profile.md, so the edited file reads like a hand-written one.
    const peer: PeerJson = {
      ...(name !== undefined ? { Name: name } : {}),
      PublicKey: publicKey,
      ...(endpoint !== undefined ? { Endpoint: endpoint } : {}),
      AllowedIPs: allowed,
      ...(keepalive !== undefined ? { PersistentKeepalive: keepalive } : {}),
    };

    const { json } = readProfile(path);
    const peers = Array.isArray(json.Peers) ? json.Peers : [];
    const saved = saveProfile(path, { ...json, Peers: [...peers, peer] });
    const added = saved.peers[saved.peers.length - 1]!;
    const label = name !== undefined ? ` (${name})` : '';
    io.stdout.write(`Added peer ${identityFromPublicKey(added.publicKey)}${label} to ${path}\n`);
    return 0;
  },
};
