// STATE_DIR/dns.json records the split-DNS change a running helper made, so that after a crash
// the next start undoes exactly that. It is written before the change and removed after undo.
import { isAbsolute, join } from 'node:path';
import { parseIPv4 } from '../../../../src-shared/lib/ip/ipv4.js';
import { readJsonState, removeQuietly, writeJsonState } from '../../../../src-shared/lib/atomic-file.js';

/** SplitDnsState is one applied integration. */
export type SplitDnsState =
  | { kind: 'resolv.conf'; path: string; address: string; pid: number }
  | { kind: 'systemd-resolved'; adapter: string; pid: number };

const FILE = 'dns.json';

/** dnsStatePath is the state file inside the state directory. */
export function dnsStatePath(stateDir: string): string {
  return join(stateDir, FILE);
}

/** readDnsState returns the recorded state, or null if absent or not trustworthy. */
export function readDnsState(stateDir: string): SplitDnsState | null {
  const v = readJsonState(dnsStatePath(stateDir)) as Record<string, unknown> | null;
  if (v === null || typeof v !== 'object') return null;
  const pid = typeof v.pid === 'number' ? v.pid : 0;
  if (
    v.kind === 'resolv.conf' &&
    typeof v.path === 'string' &&
    isAbsolute(v.path) &&
    typeof v.address === 'string' &&
    parseIPv4(v.address) !== null
  ) {
    return { kind: 'resolv.conf', path: v.path, address: v.address, pid };
  }
  if (v.kind === 'systemd-resolved' && typeof v.adapter === 'string' && /^[A-Za-z0-9_.-]{1,15}$/.test(v.adapter)) {
    return { kind: 'systemd-resolved', adapter: v.adapter, pid };
  }
  return null;
}

/** writeDnsState records the state atomically (temp file, fsync, rename). */
export function writeDnsState(stateDir: string, state: SplitDnsState): void {
  writeJsonState(stateDir, FILE, state);
}

/** clearDnsState removes the state file. */
export function clearDnsState(stateDir: string): void {
  removeQuietly(dnsStatePath(stateDir));
}
