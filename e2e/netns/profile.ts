// warrenProfile builds a static-mode profile object (docs/profile.md) from camelCase options,
// so scenarios read like their intent and the PascalCase keys live in one place.
import type { KeyPair } from './keys.js';

/** ProfilePeer is one static peer. */
export interface ProfilePeer {
  publicKey: string;
  allowedIps: string[];
  endpoint?: string;
  keepalive?: number;
  name?: string;
}

/** ProfileOptions describe one helper. */
export interface ProfileOptions {
  keys: KeyPair;
  listenPort: number;
  virtualAddress: string;
  adapter: string;
  mtu?: number;
  peers: ProfilePeer[];
}

/** warrenProfile returns the JSON object of a profile. */
export function warrenProfile(o: ProfileOptions): Record<string, unknown> {
  return {
    PrivateKey: o.keys.privateKey,
    ListenPort: o.listenPort,
    VirtualAddress: o.virtualAddress,
    Adapter: { Name: o.adapter, ...(o.mtu !== undefined ? { Mtu: o.mtu } : {}) },
    Peers: o.peers.map((p) => ({
      ...(p.name !== undefined ? { Name: p.name } : {}),
      PublicKey: p.publicKey,
      ...(p.endpoint !== undefined ? { Endpoint: p.endpoint } : {}),
      AllowedIPs: p.allowedIps,
      ...(p.keepalive !== undefined ? { PersistentKeepalive: p.keepalive } : {}),
    })),
  };
}
