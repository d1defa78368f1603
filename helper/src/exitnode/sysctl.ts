// IPv4 forwarding through /proc/sys. Only the global net.ipv4.ip_forward is used: writing it
// sets net.ipv4.conf.*.forwarding on every interface at once (kernel ip-sysctl.rst,
// "ip_forward"), which is what routing between the adapter and the LAN needs; the per-interface
// knobs would add nothing for IPv4. Restoring 0 resets the per-interface values too, which is
// the state the machine had before we set 1.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** DEFAULT_SYSCTL_DIR is where the running kernel exposes sysctls for our network namespace. */
export const DEFAULT_SYSCTL_DIR = '/proc/sys';

function ipForwardPath(sysctlDir: string): string {
  return join(sysctlDir, 'net', 'ipv4', 'ip_forward');
}

/** readIpForward returns '0' or '1'; it throws if the value is unreadable or unexpected. */
export function readIpForward(sysctlDir: string): '0' | '1' {
  const v = readFileSync(ipForwardPath(sysctlDir), 'utf8').trim();
  if (v !== '0' && v !== '1')
    throw new Error(`net.ipv4.ip_forward has unexpected value ${JSON.stringify(v.slice(0, 16))}`);
  return v;
}

/** writeIpForward sets net.ipv4.ip_forward. */
export function writeIpForward(sysctlDir: string, value: '0' | '1'): void {
  writeFileSync(ipForwardPath(sysctlDir), `${value}\n`);
}
