// Test support for the exit node's unit tests: a host that answers `ip` and `nft` like a small
// dual-stack machine, and a temporary /proc/sys stand-in. Nothing here needs root.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src-shared/lib/log.js';
import type { CommandResult, CommandRunner } from './index.js';
import { DROP_COMMENT, exitTableName } from './nft.js';

export const TABLE = exitTableName('warren0');

const ok = (stdout = ''): CommandResult => ({ ok: true, stdout, stderr: '', missing: false });
const fail = (stderr: string): CommandResult => ({ ok: false, stdout: '', stderr, missing: false });

// eth0's IPv6 addresses as `ip -j -6 addr show dev eth0 scope global` lists them: a temporary
// address, a ULA, a deprecated one and the stable global one the exit node must choose.
const ETH0_ADDRS6 = JSON.stringify([
  {
    ifindex: 2,
    ifname: 'eth0',
    addr_info: [
      { family: 'inet6', local: '2001:db8:1::beef', prefixlen: 64, scope: 'global', temporary: true, dynamic: true },
      { family: 'inet6', local: 'fd00:1::10', prefixlen: 64, scope: 'global' },
      { family: 'inet6', local: '2001:db8:1::dead', prefixlen: 64, scope: 'global', deprecated: true },
      { family: 'inet6', local: '2001:db8:1::10', prefixlen: 64, scope: 'global', dynamic: true, mngtmpaddr: true },
      {},
    ],
  },
]);

function routeGet(dst: string, dev: string, prefsrc: string): CommandResult {
  if (dst === prefsrc)
    return ok(`[{"type":"local","dst":"${dst}","dev":"lo","prefsrc":"${dst}","flags":[],"cache":["local"]}]`);
  return ok(`[{"dst":"${dst}","dev":"${dev}","prefsrc":"${prefsrc}","flags":[],"uid":0,"cache":[]}]`);
}

function answerIp(a: string): CommandResult {
  if (a === '-j -4 route show default')
    return ok('[{"dst":"default","gateway":"192.168.1.1","dev":"eth0","flags":[]}]');
  if (a === '-j -6 route show default')
    return ok('[{"dst":"default","gateway":"fe80::1","dev":"eth0","protocol":"ra","metric":100,"flags":[]}]');
  if (a === '-j -6 addr show dev eth0 scope global') return ok(ETH0_ADDRS6);
  const m = /^-j (-6 )?route get (\S+)$/.exec(a);
  if (!m) return fail('unexpected');
  const dst = m[2]!;
  if (m[1] !== undefined) {
    if (dst.startsWith('fd00:77:')) return routeGet(dst, 'lan1', 'fd00:77::5');
    if (dst.startsWith('fd12:3456:789a:')) return routeGet(dst, 'warren0', 'fd12:3456:789a::1');
    return fail('RTNETLINK answers: Network is unreachable');
  }
  if (dst.startsWith('192.168.1.')) return routeGet(dst, 'eth0', '192.168.1.10');
  if (dst.startsWith('10.20.')) return routeGet(dst, 'lan1', '10.20.0.5');
  if (dst.startsWith('100.')) return routeGet(dst, 'warren0', '100.64.0.1');
  return fail('RTNETLINK answers: Network is unreachable');
}

/** FakeHost answers `ip` and `nft` like a machine with eth0 (192.168.1.10/24, default via .1;
 * IPv6 default via fe80::1, stable address 2001:db8:1::10) and lan1 (10.20.0.5/16 and
 * fd00:77::5/64), and keeps which of our nft tables exist, by family. */
export class FakeHost {
  calls: Array<{ cmd: string; args: string[]; input?: string }> = [];
  /** tables holds "family name" of the tables that exist. */
  readonly tables = new Set<string>();
  nftFails = '';
  forwardDropChain = false;
  /** dropped is what the drop rules' counters say, one entry per rule. */
  dropped = [7];
  readonly run: CommandRunner = (cmd, args, input) => {
    this.calls.push({ cmd, args, input });
    return Promise.resolve(this.answer(cmd, args));
  };

  get table(): boolean {
    return this.tables.has(`inet ${TABLE}`);
  }

  private answer(cmd: string, args: string[]): CommandResult {
    const a = args.join(' ');
    if (cmd === 'ip') return answerIp(a);
    if (cmd === 'nft') return this.answerNft(a);
    if (cmd === 'iptables') return fail('not here');
    return fail('unexpected command');
  }

  private answerNft(a: string): CommandResult {
    if (a === '--version') return ok('nftables v1.0.9');
    if (a === '-f -') {
      if (this.nftFails) return fail(this.nftFails);
      this.tables.add(`inet ${TABLE}`);
      return ok();
    }
    let m = /^list table (\S+ \S+)$/.exec(a);
    if (m) return this.tables.has(m[1]!) ? ok('table ...') : fail('No such file or directory');
    m = /^delete table (\S+ \S+)$/.exec(a);
    if (m) return this.tables.delete(m[1]!) ? ok() : fail('No such file or directory');
    if (a === '-j list chains') {
      const chain = { family: 'ip', table: 'filter', name: 'FORWARD', hook: 'forward', policy: 'drop' };
      return ok(JSON.stringify({ nftables: this.forwardDropChain ? [{ chain }] : [] }));
    }
    if (a === `-j list table inet ${TABLE}`) {
      const rule = (packets: number): unknown => ({
        rule: { chain: 'forward', comment: DROP_COMMENT, expr: [{ counter: { packets, bytes: 84 } }, { drop: null }] },
      });
      return ok(JSON.stringify({ nftables: this.dropped.map(rule) }));
    }
    return fail('unexpected nft command');
  }
}

/** Sandbox is a temporary state directory and /proc/sys stand-in. */
export interface Sandbox {
  state: string;
  sysctl: string;
  forward(): string;
  forward6(): string;
  acceptRa(ifname: string): string;
  cleanup(): void;
}

/** sandbox makes a /proc/sys with ip_forward, IPv6 forwarding and accept_ra for eth0 (1),
 * lan1 (0) and warren0 (1), besides 'all' and 'default' (1). */
export function sandbox(forward = '0', forward6 = '0'): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'warren-exit-'));
  const sysctl = join(dir, 'sys');
  mkdirSync(join(sysctl, 'net', 'ipv4'), { recursive: true });
  const f = join(sysctl, 'net', 'ipv4', 'ip_forward');
  writeFileSync(f, `${forward}\n`);
  const conf = join(sysctl, 'net', 'ipv6', 'conf');
  for (const [name, ra] of [
    ['all', '1'],
    ['default', '1'],
    ['eth0', '1'],
    ['lan1', '0'],
    ['warren0', '1'],
  ] as const) {
    mkdirSync(join(conf, name), { recursive: true });
    writeFileSync(join(conf, name, 'accept_ra'), `${ra}\n`);
    writeFileSync(join(conf, name, 'forwarding'), `${forward6}\n`);
  }
  const read = (...p: string[]): string => readFileSync(join(...p), 'utf8').trim();
  return {
    state: join(dir, 'state'),
    sysctl,
    forward: () => read(f),
    forward6: () => read(conf, 'all', 'forwarding'),
    acceptRa: (ifname) => read(conf, ifname, 'accept_ra'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** collectLog is a logger whose lines the test can read. */
export function collectLog(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, log: createLogger(1, { write: (l: string) => lines.push(l) }) };
}
