// Forwarding through /proc/sys (kernel Documentation/networking/ip-sysctl.rst).
//
// IPv4: only the global net.ipv4.ip_forward is used: writing it sets net.ipv4.conf.*.forwarding
// on every interface at once ("ip_forward"), which is what routing between the adapter and the
// LAN needs. Restoring 0 resets the per-interface values too, the state the machine had before.
//
// IPv6: net.ipv6.conf.all.forwarding likewise sets every interface's forwarding ("conf/all/*":
// "Change all the interface-specific settings"). A forwarding interface is a router, and a router
// ignores Router Advertisements unless accept_ra is 2 ("accept_ra: 1 - Accept Router
// Advertisements if forwarding is disabled; 2 - Overrule forwarding behaviour"); the kernel also
// drops RA-learned default routes of interfaces whose accept_ra is not 2 when forwarding is
// switched on (net/ipv6/addrconf.c, addrconf_fixup_forwarding). An uplink configured by SLAAC
// would lose its IPv6 default route, so every interface whose accept_ra is 1 gets 2 first (see
// raiseAcceptRa), and 1 back on undo.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** DEFAULT_SYSCTL_DIR is where the running kernel exposes sysctls for our network namespace. */
export const DEFAULT_SYSCTL_DIR = '/proc/sys';

/** MAX_ACCEPT_RA_INTERFACES bounds how many interfaces' accept_ra we change (and record). */
export const MAX_ACCEPT_RA_INTERFACES = 256;

/** IFNAME_RE is an interface name we build /proc/sys paths from; '.' and '..' are refused apart. */
const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

/** isSafeIfname tells whether a name can be joined into a /proc/sys path without leaving conf/. */
export function isSafeIfname(name: unknown): name is string {
  return typeof name === 'string' && IFNAME_RE.test(name) && name !== '.' && name !== '..';
}

function ipForwardPath(sysctlDir: string): string {
  return join(sysctlDir, 'net', 'ipv4', 'ip_forward');
}

function ipv6ForwardPath(sysctlDir: string): string {
  return join(sysctlDir, 'net', 'ipv6', 'conf', 'all', 'forwarding');
}

function readFlag(path: string, name: string): '0' | '1' {
  const v = readFileSync(path, 'utf8').trim();
  if (v !== '0' && v !== '1') throw new Error(`${name} has unexpected value ${JSON.stringify(v.slice(0, 16))}`);
  return v;
}

/** readIpForward returns '0' or '1'; it throws if the value is unreadable or unexpected. */
export function readIpForward(sysctlDir: string): '0' | '1' {
  return readFlag(ipForwardPath(sysctlDir), 'net.ipv4.ip_forward');
}

/** writeIpForward sets net.ipv4.ip_forward. */
export function writeIpForward(sysctlDir: string, value: '0' | '1'): void {
  writeFileSync(ipForwardPath(sysctlDir), `${value}\n`);
}

/** readIpv6Forward returns net.ipv6.conf.all.forwarding; it throws with a clear message if the
 * kernel has no IPv6 (the directory is absent) or the value is unexpected. */
export function readIpv6Forward(sysctlDir: string): '0' | '1' {
  try {
    return readFlag(ipv6ForwardPath(sysctlDir), 'net.ipv6.conf.all.forwarding');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error('IPv6 exit routes need IPv6 in the kernel (net.ipv6.conf.all.forwarding is missing)');
    throw e;
  }
}

/** writeIpv6Forward sets net.ipv6.conf.all.forwarding. */
export function writeIpv6Forward(sysctlDir: string, value: '0' | '1'): void {
  writeFileSync(ipv6ForwardPath(sysctlDir), `${value}\n`);
}

function acceptRaPath(sysctlDir: string, ifname: string): string {
  return join(sysctlDir, 'net', 'ipv6', 'conf', ifname, 'accept_ra');
}

/**
 * interfacesAcceptingRa lists the interfaces whose accept_ra is 1, sorted. 'all' and 'default'
 * are not interfaces ('default' is only the template for interfaces created later), and no
 * Router Advertisement arrives on the loopback. Names that
 * are not safe to build a path from are left out; more than MAX_ACCEPT_RA_INTERFACES throws,
 * because what cannot be recorded cannot be restored.
 */
export function interfacesAcceptingRa(sysctlDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(sysctlDir, 'net', 'ipv6', 'conf'));
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const name of names.sort()) {
    if (name === 'all' || name === 'default' || name === 'lo' || !isSafeIfname(name)) continue;
    let v: string;
    try {
      v = readFileSync(acceptRaPath(sysctlDir, name), 'utf8').trim();
    } catch {
      continue; // the interface went away while we looked
    }
    if (v !== '1') continue;
    if (found.length >= MAX_ACCEPT_RA_INTERFACES)
      throw new Error(`more than ${MAX_ACCEPT_RA_INTERFACES} interfaces accept Router Advertisements`);
    found.push(name);
  }
  return found;
}

/** raiseAcceptRa sets accept_ra=2 on the listed interfaces that still have 1 (see the top). */
export function raiseAcceptRa(sysctlDir: string, ifnames: readonly string[]): void {
  for (const name of ifnames) {
    if (!isSafeIfname(name)) continue;
    const path = acceptRaPath(sysctlDir, name);
    let v: string;
    try {
      v = readFileSync(path, 'utf8').trim();
    } catch {
      continue;
    }
    if (v === '1') writeFileSync(path, '2\n');
  }
}

/**
 * restoreAcceptRa sets accept_ra back to 1 where it is still the 2 we set. Interfaces that are
 * gone are skipped quietly; one whose value someone else changed is left alone. It returns the
 * names it could not write.
 */
export function restoreAcceptRa(sysctlDir: string, ifnames: readonly string[]): string[] {
  const failed: string[] = [];
  for (const name of ifnames) {
    if (!isSafeIfname(name)) continue;
    const path = acceptRaPath(sysctlDir, name);
    let v: string;
    try {
      v = readFileSync(path, 'utf8').trim();
    } catch {
      continue;
    }
    if (v !== '2') continue;
    try {
      writeFileSync(path, '1\n');
    } catch {
      failed.push(name);
    }
  }
  return failed;
}

/** ForwardingRecord is what enableForwarding changes and restoreForwarding puts back: the
 * values found before, as the state file (state.ts) keeps them. */
export interface ForwardingRecord {
  ipForward: '0' | '1';
  /** ipv6Forward is absent when IPv6 forwarding is not ours to touch (no IPv6 routes). */
  ipv6Forward?: '0' | '1';
  acceptRa?: string[];
}

/**
 * captureForwarding reads what enableForwarding will change. accept_ra is only raised when IPv6
 * forwarding is off now: where it is on already, the machine is a router by its owner's choice
 * and its RA handling stays as configured.
 */
export function captureForwarding(sysctlDir: string, ipv6: boolean): ForwardingRecord {
  const rec: ForwardingRecord = { ipForward: readIpForward(sysctlDir) };
  if (!ipv6) return rec;
  rec.ipv6Forward = readIpv6Forward(sysctlDir);
  rec.acceptRa = rec.ipv6Forward === '0' ? interfacesAcceptingRa(sysctlDir) : [];
  return rec;
}

/** enableForwarding turns forwarding on for the recorded families; accept_ra goes to 2 before
 * IPv6 forwarding goes on, which would otherwise drop RA-learned default routes at once. */
export function enableForwarding(sysctlDir: string, rec: ForwardingRecord): void {
  writeIpForward(sysctlDir, '1');
  if (rec.ipv6Forward === undefined) return;
  raiseAcceptRa(sysctlDir, rec.acceptRa ?? []);
  // Even a write of 1 over 1 drops RA-learned default routes (addrconf_fixup_forwarding), so
  // the value is only written when it changes.
  if (readIpv6Forward(sysctlDir) !== '1') writeIpv6Forward(sysctlDir, '1');
}

/** restoreForwarding puts the recorded values back; it returns the problems (empty: all done). */
export function restoreForwarding(sysctlDir: string, rec: ForwardingRecord): string[] {
  const problems: string[] = [];
  const attempt = (what: string, f: () => void): void => {
    try {
      f();
    } catch (e) {
      problems.push(`could not restore ${what}: ${(e as Error).message}`);
    }
  };
  attempt(`net.ipv4.ip_forward=${rec.ipForward}`, () => {
    if (readIpForward(sysctlDir) !== rec.ipForward) writeIpForward(sysctlDir, rec.ipForward);
  });
  const v6 = rec.ipv6Forward;
  if (v6 !== undefined) {
    attempt(`net.ipv6.conf.all.forwarding=${v6}`, () => {
      if (readIpv6Forward(sysctlDir) !== v6) writeIpv6Forward(sysctlDir, v6);
    });
  }
  const failed = restoreAcceptRa(sysctlDir, rec.acceptRa ?? []);
  if (failed.length > 0) problems.push(`could not restore accept_ra=1 on ${failed.join(', ')}`);
  return problems;
}
