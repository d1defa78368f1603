// FullTunnel: route all of this system's internet traffic through one exit node (an
// AvailableRoutes entry of 0.0.0.0/0 for IPv4, ::/0 for IPv6) without a routing loop, the way
// wg-quick does it, with the same rules for each family the tunnel carries (`ip -4` / `ip -6`):
//   - the WireGuard socket marks its datagrams (SO_MARK = FULL_TUNNEL_MARK);
//   - `ip rule not fwmark MARK table MARK` sends everything unmarked to a table whose default
//     route is the adapter (from this system's overlay address of the family), so the tunnel's
//     own datagrams (marked) keep the main table and reach the exit node's endpoint directly;
//   - `ip rule table main suppress_prefixlength 0` (earlier) keeps every more specific route of
//     the main table (the LAN, the overlay, IPv6 link-local) in force: only the default route is
//     overridden;
//   - a conntrack mark rule copies the mark onto replies, with src_valid_mark, so IPv4
//     reverse-path filtering accepts the exit node's answers (full-tunnel-nft.ts). IPv6 has no
//     src_valid_mark (nor rp_filter) sysctl: its reverse-path filtering is only netfilter's `fib`
//     match, which Warren does not install, so there is nothing more to set for IPv6.
// The helper's own connections (to the coordinator, the relay) are not marked: like any other
// unmarked traffic they go through the tunnel of their family, unless a more specific main-table
// route (the LAN) keeps them direct.
// While IPv4 alone goes through the tunnel, IPv6 around it is refused whether or not the kill
// switch is on (full-tunnel-ipv6.ts). With only ::/0, IPv4 keeps the machine's normal routes.
// Everything lives in one nft table and two rules per family, recorded in STATE_DIR
// (full-tunnel-state.ts) so that a crashed helper's leftovers are removed on the next start;
// `disable` removes exactly them.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Logger } from '../../../src-shared/lib/log.js';
import { mustRunSync } from '../../../src-shared/lib/command.js';
import { readJsonState } from '../../../src-shared/lib/atomic-file.js';
import { ip, ipQuiet } from '../tun/ip.js';
import { connectedNetworks6 } from './full-tunnel-ipv6.js';
import { buildFullTunnelNft, connectedNetworks, FULL_TUNNEL_MARK, fullTunnelTableName } from './full-tunnel-nft.js';
import { fullTunnelStatePath, parseFullTunnelState, writeFullTunnelState } from './full-tunnel-state.js';
import type { FullTunnelOptions, FullTunnelSwitch, TunnelFamilies } from './index.js';

export { buildFullTunnelNft, FULL_TUNNEL_MARK, fullTunnelTableName, KILL_SWITCH_COMMENT } from './full-tunnel-nft.js';
export {
  fullTunnelStatePath,
  readFullTunnelState,
  writeFullTunnelState,
  type FullTunnelState,
} from './full-tunnel-state.js';

/** Rule priorities: suppress first, then the tunnel table; the same for both families. Stable
 * so that recovery can find them. */
export const RULE_PREF_SUPPRESS = 5208;
export const RULE_PREF_TUNNEL = 5209;

const OFF: TunnelFamilies = { ipv4: false, ipv6: false };
const FAMILY_FLAGS = ['-4', '-6'] as const;

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

/** addPolicyRouting puts one family's table route and two rules in place (replacing stale ones). */
function addPolicyRouting(family: '-4' | '-6', adapter: string, src: string): void {
  const mark = String(FULL_TUNNEL_MARK);
  ip([family, 'route', 'replace', 'default', 'dev', adapter, 'src', src, 'table', mark]);
  ipQuiet([family, 'rule', 'del', 'pref', String(RULE_PREF_TUNNEL)]);
  ipQuiet([family, 'rule', 'del', 'pref', String(RULE_PREF_SUPPRESS)]);
  ip([family, 'rule', 'add', 'pref', String(RULE_PREF_SUPPRESS), 'table', 'main', 'suppress_prefixlength', '0']);
  ip([family, 'rule', 'add', 'pref', String(RULE_PREF_TUNNEL), 'not', 'fwmark', mark, 'table', mark]);
}

/** removeFullTunnel deletes our rules and table routes of both families and the nft table (each
 * may already be gone, or never have existed: a record from before IPv6 had none for it). */
function removeFullTunnel(table: string, srcValidMark: '0' | '1'): void {
  for (const family of FAMILY_FLAGS) {
    ipQuiet([family, 'rule', 'del', 'pref', String(RULE_PREF_TUNNEL)]);
    ipQuiet([family, 'rule', 'del', 'pref', String(RULE_PREF_SUPPRESS)]);
    ipQuiet([family, 'route', 'flush', 'table', String(FULL_TUNNEL_MARK)]);
  }
  nftQuiet(['delete', 'table', 'inet', table]);
  writeSrcValidMark(srcValidMark);
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

/** describeFamilies says in a log line what the tunnel does to each family. */
function describeFamilies(f: TunnelFamilies): string {
  if (f.ipv4 && f.ipv6) return 'all IPv4 and IPv6 internet traffic goes through the exit node';
  if (f.ipv4) return 'all IPv4 internet traffic goes through the exit node, IPv6 beyond the LAN is refused';
  return 'all IPv6 internet traffic goes through the exit node, IPv4 keeps its normal routes';
}

/** FullTunnel switches the full tunnel on and off for one adapter. */
export class FullTunnel implements FullTunnelSwitch {
  private current: TunnelFamilies = OFF;
  private readonly table: string;
  private saved: '0' | '1' = '0';
  /** killSwitchActive says whether the kill switch's rules are in place now. */
  killSwitchActive = false;

  constructor(private readonly o: FullTunnelOptions) {
    this.table = fullTunnelTableName(o.adapter);
  }

  get enabled(): boolean {
    return this.current.ipv4 || this.current.ipv6;
  }

  get families(): TunnelFamilies {
    return { ...this.current };
  }

  /** enable puts the rules in place; on failure everything done so far is undone. */
  enable(families: TunnelFamilies): void {
    if (!families.ipv4 && !families.ipv6) throw new Error('the full tunnel needs 0.0.0.0/0 or ::/0');
    const v6 = this.o.virtualAddress6;
    if (families.ipv6 && v6 === null) throw new Error('::/0: this system has no IPv6 overlay address');
    if (this.enabled) {
      if (this.current.ipv4 === families.ipv4 && this.current.ipv6 === families.ipv6) return;
      this.teardown(); // another set of families: rebuilt from scratch below
      this.current = OFF;
    }
    this.saved = readSrcValidMark();
    writeFullTunnelState(this.o.stateDir, {
      adapter: this.o.adapter,
      table: this.table,
      srcValidMark: this.saved,
      killSwitch: this.o.killSwitch,
      pid: process.pid,
      ipv6: families.ipv6,
    });
    try {
      this.o.setMark(FULL_TUNNEL_MARK);
      const lan = connectedNetworks(this.o.adapter);
      const lan6 = connectedNetworks6(this.o.adapter);
      nft(
        ['-f', '-'],
        buildFullTunnelNft(this.table, this.o.adapter, { killSwitch: this.o.killSwitch, families, lan, lan6 }),
      );
      if (families.ipv4) {
        writeSrcValidMark('1');
        addPolicyRouting('-4', this.o.adapter, this.o.virtualAddress);
      }
      if (families.ipv6 && v6 !== null) addPolicyRouting('-6', this.o.adapter, v6);
    } catch (e) {
      this.teardown();
      throw e;
    }
    this.current = { ...families };
    this.killSwitchActive = this.o.killSwitch;
    this.o.log.info(`full tunnel on: ${describeFamilies(families)}${this.o.killSwitch ? '; kill switch on' : ''}`);
  }

  /** disable gives the machine its normal routing back. */
  disable(): void {
    if (!this.enabled) return;
    this.teardown();
    this.current = OFF;
    this.killSwitchActive = false;
    this.o.log.info('full tunnel off: normal routing restored');
  }

  private teardown(): void {
    removeFullTunnel(this.table, this.saved);
    try {
      this.o.setMark(0);
    } catch {
      // the socket may be closed already
    }
    rmSync(fullTunnelStatePath(this.o.stateDir), { force: true });
  }
}
