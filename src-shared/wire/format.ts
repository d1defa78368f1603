// Formatting for people, shared by the renderer and the tray (no Node or DOM imports): byte
// counts, ages ("12 s ago"), the tunnel state's words and a peer's path.
import type { PeerPath, TunnelState } from './status.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** formatBytes renders a byte count with binary units and three significant digits. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${Math.round(v)} B`;
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${UNITS[u]}`;
}

/** formatAge renders how long ago t was, coarsening as it grows; null is "never". */
export function formatAge(t: number | null, now: number): string {
  if (t === null) return 'never';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} days ago`;
}

/** STATE_WORDS is how each tunnel state reads in the header and the tray. */
export const STATE_WORDS: Record<TunnelState, string> = {
  connected: 'Connected',
  connecting: 'Connecting…',
  disconnected: 'Disconnected',
  error: 'Error',
};

/** formatPath says how packets reach a peer: direct (where) or relayed (through which relay),
 * with the path's round-trip time when it was measured. */
export function formatPath(path: PeerPath): string {
  const rtt =
    typeof path.rttMs === 'number' && Number.isFinite(path.rttMs) ? `, round trip ${Math.round(path.rttMs)} ms` : '';
  if (path.type === 'direct') return `direct to ${path.endpoint ?? '?'}${rtt}`;
  if (path.type === 'relay') return `relayed through ${path.relay ?? '?'}${rtt}`;
  const n = Number.isFinite(path.candidates) ? path.candidates : 0;
  return `no working path yet (trying ${n} address${n === 1 ? '' : 'es'})`;
}
