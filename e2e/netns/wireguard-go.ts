// wireguard-go peers for interop tests, the harness self-test and the benchmark's reference
// pair: `wireguard-go -f IFNAME` in a namespace, configured with `wg set` and `ip`.
import { existsSync } from 'node:fs';
import { publicKeyOf } from './keys.js';
import type { TrackedProcess } from './process.js';
import type { Namespace } from './topology.js';
import { sleep } from './wait.js';

/** WgPeerConfig is one `wg set ... peer` clause. */
export interface WgPeerConfig {
  publicKey: string;
  endpoint?: string;
  allowedIps: string[];
  keepalive?: number;
}

/** WireguardGoOptions configure one wireguard-go interface. */
export interface WireguardGoOptions {
  /** ifname must be unique per run (its control socket is global); default topo.ifname('g'). */
  ifname?: string;
  privateKey: string;
  listenPort: number;
  /** address is the overlay CIDR, e.g. '100.64.0.2/10'. */
  address: string;
  peers: WgPeerConfig[];
  mtu?: number;
  /** command starts the implementation in the foreground, given the interface name after it:
   * default wireguard-go (`wireguard-go -f IFNAME`); warren-wg has the same command line. */
  command?: string[];
  /** logLevel is wireguard-go's LOG_LEVEL: 'error' (default), 'verbose' or 'silent'. */
  logLevel?: 'error' | 'verbose' | 'silent';
}

/** WgPeerState is one peer line of `wg show IF dump`. */
export interface WgPeerState {
  publicKey: string;
  endpoint: string | null;
  allowedIps: string[];
  lastHandshake: number | null;
  rxBytes: number;
  txBytes: number;
}

/** WireguardGo is a running wireguard-go interface. */
export interface WireguardGo {
  ns: Namespace;
  ifname: string;
  publicKey: string;
  listenPort: number;
  proc: TrackedProcess;
  pid: number;
  /** peers reads `wg show IF dump`. */
  peers(): Promise<WgPeerState[]>;
  /** stop sends SIGTERM (SIGKILL after 3 s) and waits for exit. */
  stop(): Promise<void>;
}

const SOCK_DIR = '/var/run/wireguard';

/** startWireguardGo starts wireguard-go in ns and configures key, port, peers, address, MTU. */
export async function startWireguardGo(ns: Namespace, opts: WireguardGoOptions): Promise<WireguardGo> {
  const ifname = opts.ifname ?? ns.topo.ifname('g');
  const command = opts.command ?? ['wireguard-go'];
  const proc = ns.spawn([...command, '-f', ifname], {
    name: `wireguard-go-${ifname}`,
    env: { ...process.env, LOG_LEVEL: opts.logLevel ?? 'error' },
  });
  const sock = `${SOCK_DIR}/${ifname}.sock`;
  const deadline = Date.now() + 10_000;
  while (!existsSync(sock)) {
    if (!proc.running) throw new Error(`wireguard-go ${ifname} exited early:\n${proc.output()}`);
    if (Date.now() > deadline)
      throw new Error(`wireguard-go ${ifname}: no control socket after 10 s:\n${proc.output()}`);
    await sleep(20);
  }
  const keyFile = ns.topo.writeFile(`${ifname}.key`, `${opts.privateKey}\n`);
  const argv = ['wg', 'set', ifname, 'private-key', keyFile, 'listen-port', String(opts.listenPort)];
  for (const p of opts.peers) {
    argv.push('peer', p.publicKey, 'allowed-ips', p.allowedIps.join(','));
    if (p.endpoint !== undefined) argv.push('endpoint', p.endpoint);
    if (p.keepalive !== undefined) argv.push('persistent-keepalive', String(p.keepalive));
  }
  await ns.exec(argv);
  await ns.exec(['ip', 'addr', 'add', opts.address, 'dev', ifname]);
  await ns.exec(['ip', 'link', 'set', ifname, 'mtu', String(opts.mtu ?? 1420), 'up']);
  return {
    ns,
    ifname,
    proc,
    pid: proc.pid,
    listenPort: opts.listenPort,
    publicKey: publicKeyOf(opts.privateKey),
    peers: async () => parseWgDump((await ns.exec(['wg', 'show', ifname, 'dump'])).stdout),
    stop: () => proc.stop(3000),
  };
}

/** parseWgDump parses the peer lines of `wg show IF dump` (the first line is the interface). */
export function parseWgDump(text: string): WgPeerState[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.slice(1).map((line) => {
    const f = line.split('\t');
    const num = (i: number): number => Number(f[i] ?? 0);
    const endpoint = f[2] === undefined || f[2] === '(none)' ? null : f[2];
    const hs = num(4);
    return {
      publicKey: f[0] ?? '',
      endpoint,
      allowedIps: f[3] === undefined || f[3] === '(none)' ? [] : f[3].split(','),
      lastHandshake: hs > 0 ? hs * 1000 : null,
      rxBytes: num(5),
      txBytes: num(6),
    };
  });
}
