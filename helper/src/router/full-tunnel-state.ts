// The full tunnel's record in STATE_DIR: written before its rules go in, removed after they are
// gone, so that the next start (or `warren cleanup`) removes a crashed helper's rules, and
// `warren status` can say what they do to the machine meanwhile.
import { join } from 'node:path';
import { readJsonState, writeFileAtomic } from '../../../src-shared/lib/atomic-file.js';
import { IFNAME_RE } from './full-tunnel-nft.js';

const STATE_FILE = 'fulltunnel.json';

/** FullTunnelState is what a crash leaves to clean up. killSwitch and pid say what it does to
 * the machine meanwhile and whose it is (`warren status`); ipv6 says whether IPv6 went through
 * the tunnel too. Records from before them lack them (null); recovery removes the rules of both
 * families in any case, so older records are cleaned up fully as well. */
export interface FullTunnelState {
  adapter: string;
  table: string;
  srcValidMark: '0' | '1';
  killSwitch: boolean | null;
  pid: number | null;
  ipv6: boolean | null;
}

/** fullTunnelStatePath is where the full tunnel records what a crash would leave behind. */
export function fullTunnelStatePath(stateDir: string): string {
  return join(stateDir, STATE_FILE);
}

/** readFullTunnelState returns the recorded full tunnel, or null when there is none or it is not
 * trustworthy: the table name is checked so a tampered file cannot make us touch another table. */
export function readFullTunnelState(stateDir: string): FullTunnelState | null {
  return parseFullTunnelState(readJsonState(fullTunnelStatePath(stateDir)));
}

/** writeFullTunnelState records the full tunnel atomically, before its rules go in. Fields
 * added later are optional here so that writers of the older form keep working. */
export function writeFullTunnelState(
  stateDir: string,
  state: Omit<FullTunnelState, 'ipv6'> & { ipv6?: boolean | null },
): void {
  writeFileAtomic(fullTunnelStatePath(stateDir), JSON.stringify(state));
}

/** parseFullTunnelState checks a record read from disk field by field. */
export function parseFullTunnelState(raw: unknown): FullTunnelState | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const st = raw as Record<string, unknown>;
  if (typeof st.table !== 'string' || !/^warren_ft_[A-Za-z0-9_]{1,15}$/.test(st.table)) return null;
  return {
    adapter: typeof st.adapter === 'string' && IFNAME_RE.test(st.adapter) ? st.adapter : '',
    table: st.table,
    srcValidMark: st.srcValidMark === '1' ? '1' : '0',
    killSwitch: typeof st.killSwitch === 'boolean' ? st.killSwitch : null,
    pid: typeof st.pid === 'number' && Number.isInteger(st.pid) && st.pid > 0 ? st.pid : null,
    ipv6: typeof st.ipv6 === 'boolean' ? st.ipv6 : null,
  };
}
