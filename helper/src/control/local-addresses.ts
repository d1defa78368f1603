// The interface addresses a helper reports to its coordinator as candidates (control.ts
// CONTROL_PATHS.endpoints): where a peer on the same network, or anywhere for a global IPv6
// address, may reach this system's WireGuard port without any NAT in the way.
//
// IPv4: every non-loopback address, as always. IPv6: global unicast (2000::/3) and unique local
// (fc00::/7, RFC 4193) addresses, which a peer can send to as they are. Not link-local ones
// (fe80::/10 needs a zone, RFC 4007 §6, that only the receiver could name), nor loopback, nor the
// overlay's own (the adapter is left out by name: a path into the tunnel through the tunnel
// cannot work). Nor, where the kernel says so (Linux /proc/net/if_inet6), addresses that are
// deprecated (RFC 4862 §5.5.4: not to be used for new communication), temporary (RFC 8981: they
// rotate, so a map would soon name an address that is gone), or not yet through duplicate
// address detection (tentative, or failed it).
import { readFileSync } from 'node:fs';
import type { NetworkInterfaceInfo } from 'node:os';
import { formatIp, isUniqueLocal, parseIp, parseIpPrefix, prefixContains } from '../../../src-shared/lib/ip/addr.js';
import { ipv6FromBytes } from '../../../src-shared/lib/ip/ipv6.js';
import { ipv6Address } from '../../../src-shared/lib/ip/addr.js';

/** IFA_F_* flags of linux/if_addr.h that make an IPv6 address no candidate. */
export const IFA_F = { temporary: 0x01, dadFailed: 0x08, deprecated: 0x20, tentative: 0x40 } as const;
const UNUSABLE = IFA_F.temporary | IFA_F.dadFailed | IFA_F.deprecated | IFA_F.tentative;
const GLOBAL_UNICAST = parseIpPrefix('2000::/3')!;

/** parseIfInet6 reads /proc/net/if_inet6 ("<32 hex> <index> <prefix> <scope> <flags> <name>")
 * into canonical address → flags; lines that do not parse are skipped. */
export function parseIfInet6(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n').slice(0, 4096)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !/^[0-9a-f]{32}$/i.test(f[0]!) || !/^[0-9a-f]{1,8}$/i.test(f[4]!)) continue;
    const a = ipv6FromBytes(Buffer.from(f[0]!, 'hex'));
    if (a !== null) out.set(formatIp(ipv6Address(a)), parseInt(f[4]!, 16));
  }
  return out;
}

/** readIfInet6 returns the kernel's IPv6 address flags, or null where there are none to read. */
export function readIfInet6(): Map<string, number> | null {
  try {
    return parseIfInet6(readFileSync('/proc/net/if_inet6', 'utf8'));
  } catch {
    return null;
  }
}

/** ipv6Candidate tells whether an interface's IPv6 address may be reported (see the top). */
export function ipv6Candidate(info: NetworkInterfaceInfo, flags: Map<string, number> | null): string | null {
  if (info.family !== 'IPv6' || info.internal || (info.scopeid ?? 0) !== 0) return null;
  const a = parseIp(info.address);
  if (a === null || a.family !== 6) return null;
  if (!prefixContains(GLOBAL_UNICAST, a) && !isUniqueLocal(a)) return null;
  const text = formatIp(a);
  if (((flags?.get(text) ?? 0) & UNUSABLE) !== 0) return null;
  return text;
}

/** localCandidates lists the addresses to report, at most max of them: IPv4 first as before,
 * but IPv6 keeps at least half the places when it has that many, so a host with many IPv4
 * addresses still reports its IPv6 ones. */
export function localCandidates(
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
  adapter: string,
  flags: Map<string, number> | null,
  max: number,
): string[] {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const [name, list] of Object.entries(interfaces)) {
    if (name === adapter) continue;
    for (const info of list ?? []) {
      if (info.family === 'IPv4' && !info.internal) v4.push(info.address);
      const six = ipv6Candidate(info, flags);
      if (six !== null) v6.push(six);
    }
  }
  const u4 = [...new Set(v4)];
  const u6 = [...new Set(v6)];
  const four = u4.slice(0, max - Math.min(u6.length, Math.floor(max / 2)));
  return [...four, ...u6.slice(0, max - four.length)];
}
