// When a peer counts as online: the one definition the window, the tray and `warren status`
// share, so they never disagree ("0 of 2 online" beside a 4 ms round trip). An idle WireGuard
// peer sends nothing, so its last handshake ages past the 180 s session limit while the peer is
// still there; a direct path the NAT layer keeps alive with disco pings proves it is reachable.
import type { PeerPath } from './status.js';

/** ONLINE_WINDOW_MS: a peer with a handshake this recent counts as online (WireGuard rejects
 * a session after 180 s, so an older handshake means no live session). */
export const ONLINE_WINDOW_MS = 180_000;

/** OnlineReason says what showed the peer to be online, or 'none'. */
export type OnlineReason = 'handshake' | 'path' | 'none';

/** OnlineInput is what is known of a peer: its last handshake and its path (coordinated mode). */
export interface OnlineInput {
  lastHandshake: number | null;
  path?: PeerPath | null;
}

/**
 * peerOnline says why a peer counts as online, or 'none'. Online means something recent was
 * heard from it: a WireGuard handshake within ONLINE_WINDOW_MS, or a direct path with a measured
 * round trip. The NAT layer keeps a direct path only while disco pongs arrive within its direct
 * timeout (helper/src/nat/paths.ts), so such a path is fresh by construction; a relay's RTT is
 * the relay's, kept after the peer goes quiet, so it proves nothing about the peer. A tunnel
 * that is not connected forgets its sessions: nobody is online through it.
 */
export function onlineReason(p: OnlineInput, tunnelUp: boolean, now: number): OnlineReason {
  if (!tunnelUp) return 'none';
  const hs = p.lastHandshake;
  if (typeof hs === 'number' && Number.isFinite(hs) && hs > 0 && now - hs < ONLINE_WINDOW_MS) return 'handshake';
  const path = p.path;
  if (path && path.type === 'direct' && typeof path.rttMs === 'number' && Number.isFinite(path.rttMs)) return 'path';
  return 'none';
}

/** peerOnline is onlineReason as a yes or no. */
export function peerOnline(p: OnlineInput, tunnelUp: boolean, now: number): boolean {
  return onlineReason(p, tunnelUp, now) !== 'none';
}

/** onlineSummary is the "N of M online" phrase of the window, the tray and `warren status`. */
export function onlineSummary(online: number, total: number): string {
  return `${online} of ${total} online`;
}
