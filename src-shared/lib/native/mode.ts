// Which reader mode the data plane uses for each kind of descriptor, and the environment
// override that benchmarks use to compare them without rebuilding.
import type { ReaderKind, ReaderMode } from './types.js';

/**
 * DEFAULT_READER_MODES are the modes the data plane runs with (see ReaderMode). 'poll' for both
 * won on every count on the 2-core test machine (two helpers in namespaces over veth, runs
 * interleaved): ping through the tunnel 0.82 ms mean / 0.72 ms median against 1.06 / 0.89 ms
 * with threads (wireguard-go 0.73 / 0.69 ms), and TCP 880-920 Mbit/s against 790-800, since a
 * reader thread and the JS thread contend for two cores anyway. Mixed modes fell in between.
 */
export const DEFAULT_READER_MODES: Readonly<Record<ReaderKind, ReaderMode>> = { tun: 'poll', udp: 'poll' };

/** READER_MODE_ENV names the environment variable that overrides DEFAULT_READER_MODES. */
export const READER_MODE_ENV = 'WARREN_READER_MODE';

const MODES: readonly string[] = ['thread', 'poll'];
const KINDS: readonly string[] = ['tun', 'udp'];

/**
 * readerMode returns the mode for a reader of `kind`. WARREN_READER_MODE overrides the default:
 * either one mode for both kinds ('poll', 'thread') or a comma-separated list per kind
 * ('tun=poll,udp=thread'; a kind left out keeps its default). It is meant for benchmarks and
 * diagnosis. A value it cannot parse throws, so that a typo cannot silently measure the default.
 */
export function readerMode(kind: ReaderKind, env: NodeJS.ProcessEnv = process.env): ReaderMode {
  const value = env[READER_MODE_ENV]?.trim();
  if (value === undefined || value === '') return DEFAULT_READER_MODES[kind];
  const bad = () =>
    new Error(
      `${READER_MODE_ENV}=${JSON.stringify(value)}: expected 'thread', 'poll' ` +
        `or a list like 'tun=poll,udp=thread'`,
    );
  if (MODES.includes(value)) return value as ReaderMode;
  let mode = DEFAULT_READER_MODES[kind];
  for (const part of value.split(',')) {
    const [k, m, ...rest] = part.split('=').map((x) => x.trim());
    if (k === undefined || m === undefined || rest.length > 0 || !KINDS.includes(k) || !MODES.includes(m)) throw bad();
    if (k === kind) mode = m as ReaderMode;
  }
  return mode;
}
