// applyProfile brings a running helper from one profile to the next without a restart: peers
// are added, changed in place (sessions kept) or removed, then the policy is recompiled (which
// re-checks every flow and rebuilds the DNS zone) and the exit-node routes follow. A reload
// (SIGHUP, POST /v1/reload) and a new network map from the coordinator both come through here.
import { formatIpEndpoint } from '../../../src-shared/lib/ip/endpoint.js';
import { formatKey } from '../../../src-shared/lib/keys.js';
import { formatIpPrefix, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { PeerConfig, Profile } from '../config/schema.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import type { Device, DevicePeerConfig } from '../wireguard/device/device.js';
import type { DevicePeer } from '../wireguard/device/peer.js';
import type { ExitRuntime } from './exit-runtime.js';
import type { PolicyRuntime } from './policy-runtime.js';

/** devicePeerConfig converts a profile peer to the device's form. */
export function devicePeerConfig(p: PeerConfig): DevicePeerConfig {
  return {
    publicKey: p.publicKey,
    presharedKey: p.presharedKey ?? undefined,
    endpoint: p.endpoint ?? undefined,
    // The device routes either family; the profile keeps IPv4 and IPv6 prefixes apart (schema.ts).
    allowedIps: [
      ...p.allowedIps.map((c): IpPrefix => ({ addr: { family: 4, v4: c.addr }, bits: c.bits })),
      ...p.allowedIps6,
    ],
    persistentKeepalive: p.persistentKeepalive,
    name: p.name,
  };
}

/** devicePeerByIdentity finds the running peer a profile names by identity (undefined if the
 * profile has no such peer or the device does not run it). */
export function devicePeerByIdentity(device: Device, profile: Profile, identity: string): DevicePeer | undefined {
  const pc = profile.peers.find((p) => p.identity === identity);
  return pc ? device.peersByKey.get(formatKey(pc.publicKey)) : undefined;
}

/** PeerChanges counts what applyPeers did, for the log and the reload message. */
export interface PeerChanges {
  added: number;
  changed: number;
  removed: number;
}

/** applyPeers makes the device's peers those of next. A changed peer, its preshared key
 * included, is updated in place (Device.updatePeer): removing and adding it again would forget
 * the greatest handshake timestamp it sent, and so accept a captured initiation once more
 * (§5.1); a new preshared key erases only the sessions keyed with the old one. */
export function applyPeers(device: Device, prev: Profile, next: Profile): PeerChanges {
  const out: PeerChanges = { added: 0, changed: 0, removed: 0 };
  const before = new Map(prev.peers.map((p) => [formatKey(p.publicKey), p]));
  const after = new Set(next.peers.map((p) => formatKey(p.publicKey)));
  for (const [key, p] of before) {
    if (!after.has(key)) {
      device.removePeer(p.publicKey);
      out.removed++;
    }
  }
  for (const p of next.peers) {
    const key = formatKey(p.publicKey);
    const old = before.get(key);
    if (!old) {
      device.addPeer(devicePeerConfig(p));
      out.added++;
      continue;
    }
    const psk = (x: PeerConfig): string => (x.presharedKey ? formatKey(x.presharedKey) : '');
    if (psk(old) !== psk(p) || JSON.stringify(shape(old)) !== JSON.stringify(shape(p))) {
      device.updatePeer(devicePeerConfig(p), old.endpoint ?? undefined);
      out.changed++;
    }
  }
  return out;
}

// shape is what of a peer the device cares about.
function shape(p: PeerConfig): unknown {
  return [
    p.name,
    p.allowedIps.map((c) => `${c.addr}/${c.bits}`),
    p.allowedIps6.map(formatIpPrefix),
    p.endpoint ? formatIpEndpoint(p.endpoint) : null,
    p.persistentKeepalive,
  ];
}

/** ApplyContext is the running part of the helper a new profile is applied to. */
export interface ApplyContext {
  device: Device;
  policy: PolicyRuntime;
  exit: ExitRuntime | null;
  log: Logger;
}

/** applyProfile applies next over prev and returns what changed among the peers. */
export async function applyProfile(ctx: ApplyContext, prev: Profile, next: Profile): Promise<PeerChanges> {
  const changes = applyPeers(ctx.device, prev, next);
  if (changes.added + changes.changed + changes.removed > 0) {
    ctx.log.info(`peers: ${changes.added} added, ${changes.changed} changed, ${changes.removed} removed`);
  }
  ctx.policy.setLocal(next);
  ctx.policy.update(next);
  await ctx.exit?.reconfigure(next);
  return changes;
}
