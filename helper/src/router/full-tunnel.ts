// FullTunnel: route all of this system's IPv4 internet traffic through one exit node (an
// AvailableRoutes entry of 0.0.0.0/0) without a routing loop, the way wg-quick does it:
//   - the WireGuard socket marks its datagrams (SO_MARK = FULL_TUNNEL_MARK);
//   - `ip rule not fwmark MARK table MARK` sends everything unmarked to a table whose default
//     route is the adapter, so the tunnel's own datagrams (marked) keep the main table and reach
//     the exit node's endpoint directly;
//   - `ip rule table main suppress_prefixlength 0` (earlier) keeps every more specific route of
//     the main table (the LAN, the overlay) in force: only the default route is overridden;
//   - a conntrack mark rule copies the mark onto replies, with src_valid_mark, so reverse-path
//     filtering accepts the exit node's answers (wg-quick's "preraw/mangle" rules).
// The optional kill switch drops (and counts) whatever would still leave around the tunnel: any
// output that is not on the adapter, not the tunnel's own datagrams, not loopback and not to a
// directly connected network. Exit nodes route IPv4 only, so IPv6 around the tunnel is refused
// whether or not the kill switch is on (full-tunnel-ipv6.ts).
// Everything lives in one nft table and two rules of ours, recorded in STATE_DIR so that a
// crashed helper's leftovers are removed on the next start; `disable` removes exactly them.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCidr, formatCidr, type Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { mustRunSync } from '../../../src-shared/lib/command.js';
import { readJsonState, writeFileAtomic } from '../../../src-shared/lib/atomic-file.js';
import { ip, ipQuiet } from '../tun/ip.js';
import type { IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { connectedNetworks6, ipv6GuardChain, killSwitchIpv6Rules } from './full-tunnel-ipv6.js';

/** FULL_TUNNEL_MARK is both the fwmark and the routing table number (wg-quick uses the port). */
export const FULL_TUNNEL_MARK = 51820;
/** Rule priorities: suppress first, then the tunnel table. Stable so recovery can find them. */
export const RULE_PREF_SUPPRESS = 5208;
export const RULE_PREF_TUNNEL = 5209;
export const KILL_SWITCH_COMMENT = 'warren kill switch';

const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const STATE_FILE = 'fulltunnel.json';

/** fullTunnelTableName is the nft table for an adapter. */
export function fullTunnelTableName(adapter: string): string {
  return `warren_ft_${adapter.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 15)}`;
}

/** FullTunnelState is what a crash leaves to clean up. killSwitch and pid say what it does to
 * the machine meanwhile and whose it is (`warren status`); records from before them lack them. */
export interface FullTunnelState {
  adapter: string;
  table: string;
  srcValidMark: '0' | '1';
  killSwitch: boolean | null;
  pid: number | null;
}

/** readFullTunnelState returns the recorded full tunnel, or null when there is none or it is not
 * trustworthy: the table name is checked so a tampered file cannot make us touch another table. */
export function readFullTunnelState(stateDir: string): FullTunnelState | null {
  return parseFullTunnelState(readJsonState(fullTunnelStatePath(stateDir)));
}

/** writeFullTunnelState records the full tunnel atomically, before its rules go in. */
export function writeFullTunnelState(stateDir: string, state: FullTunnelState): void {
  writeFileAtomic(fullTunnelStatePath(stateDir), JSON.stringify(state));
}

function parseFullTunnelState(raw: unknown): FullTunnelState | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const st = raw as Record<string, unknown>;
  if (typeof st.table !== 'string' || !/^warren_ft_[A-Za-z0-9_]{1,15}$/.test(st.table)) return null;
  return {
    adapter: typeof st.adapter === 'string' && IFNAME_RE.test(st.adapter) ? st.adapter : '',
    table: st.table,
    srcValidMark: st.srcValidMark === '1' ? '1' : '0',
    killSwitch: typeof st.killSwitch === 'boolean' ? st.killSwitch : null,
    pid: typeof st.pid === 'number' && Number.isInteger(st.pid) && st.pid > 0 ? st.pid : null,
  };
}

/** buildFullTunnelNft returns the `nft -f -` transaction for the table (replacing a stale one). */
export function buildFullTunnelNft(
  table: string,
  adapter: string,
  killSwitch: boolean,
  lan: Cidr[],
  lan6: IpPrefix[] = [],
): string {
  if (!IFNAME_RE.test(adapter))
    throw new Error(`refusing interface name ${JSON.stringify(adapter.slice(0, 32))} in an nft rule`);
  const lines = [
    `add table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    '  chain premangle {',
    '    type filter hook prerouting priority mangle; policy accept;',
    '    meta l4proto udp meta mark set ct mark',
    '  }',
    '  chain postmangle {',
    '    type filter hook postrouting priority mangle; policy accept;',
    `    meta l4proto udp meta mark ${FULL_TUNNEL_MARK} ct mark set meta mark`,
    '  }',
    ...ipv6GuardChain(adapter, FULL_TUNNEL_MARK, lan6),
  ];
  if (killSwitch) {
    lines.push(
      '  chain killswitch {',
      '    type filter hook output priority filter; policy accept;',
      '    oifname "lo" accept',
      `    oifname "${adapter}" accept`,
      `    meta mark ${FULL_TUNNEL_MARK} accept`,
      ...(lan.length ? [`    ip daddr { ${lan.map(formatCidr).join(', ')} } accept`] : []),
      ...killSwitchIpv6Rules(lan6),
      `    counter drop comment "${KILL_SWITCH_COMMENT}"`,
      '  }',
    );
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** connectedNetworks lists the main table's link-scope IPv4 routes (the LANs), not the adapter's. */
export function connectedNetworks(adapter: string): Cidr[] {
  let rows: Array<{ dst?: string; dev?: string; scope?: string }>;
  try {
    rows = JSON.parse(ip(['-j', '-4', 'route', 'show', 'table', 'main', 'scope', 'link'])) as typeof rows;
  } catch {
    return [];
  }
  return rows
    .flatMap((r) => {
      if (!r.dst || r.dst === 'default' || r.dev === adapter) return [];
      const c = parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`);
      return c ? [c] : [];
    })
    .slice(0, 256);
}

function nft(args: string[], input?: string): void {
  mustRunSync('nft', args, 'the `nft` command is required for the full tunnel: install the nftables package', input);
}

function nftQuiet(args: string[]): void {
  try {
    nft(args);
  } catch {
    // cleanup: already gone
  }
}

const SRC_VALID_MARK = '/proc/sys/net/ipv4/conf/all/src_valid_mark';

function readSrcValidMark(): '0' | '1' {
  try {
    return readFileSync(SRC_VALID_MARK, 'utf8').trim() === '1' ? '1' : '0';
  } catch {
    return '0';
  }
}

function writeSrcValidMark(v: '0' | '1'): void {
  try {
    writeFileSync(SRC_VALID_MARK, v);
  } catch {
    // Not fatal: only endpoints reached through a gateway need it with strict rp_filter.
  }
}

/** removeFullTunnel deletes our rules, table route and nft table (each may already be gone). */
function removeFullTunnel(table: string, srcValidMark: '0' | '1'): void {
  ipQuiet(['-4', 'rule', 'del', 'pref', String(RULE_PREF_TUNNEL)]);
  ipQuiet(['-4', 'rule', 'del', 'pref', String(RULE_PREF_SUPPRESS)]);
  ipQuiet(['-4', 'route', 'flush', 'table', String(FULL_TUNNEL_MARK)]);
  nftQuiet(['delete', 'table', 'inet', table]);
  writeSrcValidMark(srcValidMark);
}

/** fullTunnelStatePath is where the full tunnel records what a crash would leave behind. */
export function fullTunnelStatePath(stateDir: string): string {
  return join(stateDir, STATE_FILE);
}

/** recoverFullTunnel removes what a crashed helper's full tunnel left behind. */
export function recoverFullTunnel(stateDir: string, log: Logger): void {
  const path = fullTunnelStatePath(stateDir);
  const raw = readJsonState(path);
  if (raw === null) return;
  const st = parseFullTunnelState(raw);
  if (st !== null) {
    removeFullTunnel(st.table, st.srcValidMark);
    log.info(
      `removed the full-tunnel routing rules${st.killSwitch === true ? ' and kill switch' : ''} left by a previous helper`,
    );
  }
  rmSync(path, { force: true });
}

/** FullTunnel switches the full tunnel on and off for one adapter. */
export class FullTunnel {
  private on = false;
  private readonly table: string;
  private saved: '0' | '1' = '0';
  /** killSwitchActive says whether the kill switch's rules are in place now. */
  killSwitchActive = false;

  constructor(
    private readonly adapter: string,
    private readonly virtualAddress: string,
    private readonly setMark: (mark: number) => void,
    private readonly stateDir: string,
    private readonly killSwitch: boolean,
    private readonly log: Logger,
  ) {
    this.table = fullTunnelTableName(adapter);
  }

  get enabled(): boolean {
    return this.on;
  }

  /** enable puts the rules in place; on failure everything done so far is undone. */
  enable(): void {
    if (this.on) return;
    this.saved = readSrcValidMark();
    writeFullTunnelState(this.stateDir, {
      adapter: this.adapter,
      table: this.table,
      srcValidMark: this.saved,
      killSwitch: this.killSwitch,
      pid: process.pid,
    });
    try {
      this.setMark(FULL_TUNNEL_MARK);
      const lan = connectedNetworks(this.adapter);
      const lan6 = connectedNetworks6(this.adapter);
      nft(['-f', '-'], buildFullTunnelNft(this.table, this.adapter, this.killSwitch, lan, lan6));
      writeSrcValidMark('1');
      ip([
        '-4',
        'route',
        'replace',
        'default',
        'dev',
        this.adapter,
        'src',
        this.virtualAddress,
        'table',
        String(FULL_TUNNEL_MARK),
      ]);
      ipQuiet(['-4', 'rule', 'del', 'pref', String(RULE_PREF_TUNNEL)]);
      ipQuiet(['-4', 'rule', 'del', 'pref', String(RULE_PREF_SUPPRESS)]);
      ip(['-4', 'rule', 'add', 'pref', String(RULE_PREF_SUPPRESS), 'table', 'main', 'suppress_prefixlength', '0']);
      ip([
        '-4',
        'rule',
        'add',
        'pref',
        String(RULE_PREF_TUNNEL),
        'not',
        'fwmark',
        String(FULL_TUNNEL_MARK),
        'table',
        String(FULL_TUNNEL_MARK),
      ]);
    } catch (e) {
      this.teardown();
      throw e;
    }
    this.on = true;
    this.killSwitchActive = this.killSwitch;
    this.log.info(
      `full tunnel on: all IPv4 internet traffic goes through the exit node, IPv6 beyond the LAN is refused` +
        (this.killSwitch ? '; kill switch on' : ''),
    );
  }

  /** disable gives the machine its normal routing back. */
  disable(): void {
    if (!this.on) return;
    this.teardown();
    this.on = false;
    this.killSwitchActive = false;
    this.log.info('full tunnel off: normal routing restored');
  }

  private teardown(): void {
    removeFullTunnel(this.table, this.saved);
    try {
      this.setMark(0);
    } catch {
      // the socket may be closed already
    }
    rmSync(fullTunnelStatePath(this.stateDir), { force: true });
  }
}
