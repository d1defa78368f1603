// Test support for the daemon's unit tests: a DaemonEnv made of the in-memory fakes, all
// recording into one list of calls so a test sees the order across them, and profiles written
// to a temporary directory. Nothing here needs root, a TUN device or a network namespace: the
// local API and the DNS server are real, on a temporary socket and on 127.0.0.1.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIp } from '../../../src-shared/lib/ip/addr.js';
import { identityFromPublicKey } from '../../../src-shared/lib/identity.js';
import { formatKey, generatePrivateKey, publicKeyFromPrivate } from '../../../src-shared/lib/keys.js';
import { createLogger, type Logger } from '../../../src-shared/lib/log.js';
import { loadProfile } from '../config/load.js';
import { startDnsServer, type DnsServer } from '../dns/server.js';
import { FakeSplitDns } from '../dns/split/split-fake.js';
import { FakeExitNodes } from '../exitnode/exitnode-fake.js';
import { FakeRouter } from '../router/router-fake.js';
import { FakeTunDriver } from '../tun/tun-fake.js';
import type { Bind } from '../wireguard/device/bind.js';
import { FakeNetwork, type FakeBind } from '../wireguard/device/fake-io.js';
import type { DaemonEnv } from './env.js';
import type { DaemonOptions } from './index.js';

/** FakeEnv is a DaemonEnv whose parts a test can look into. */
export interface FakeEnv extends DaemonEnv {
  calls: string[];
  tun: FakeTunDriver;
  router: FakeRouter;
  splitDns: FakeSplitDns;
  exitNode: FakeExitNodes;
  signals: EventEmitter;
  /** binds are the UDP sockets opened, on a FakeNetwork. */
  binds: FakeBind[];
  /** exits are the codes exit() was called with. */
  exits: number[];
}

/** fakeEnv builds the fakes; the DNS server really listens, but on 127.0.0.1 and a free port. */
export function fakeEnv(): FakeEnv {
  const calls: string[] = [];
  const network = new FakeNetwork();
  const binds: FakeBind[] = [];
  const exits: number[] = [];
  return {
    calls,
    binds,
    exits,
    tun: new FakeTunDriver(calls),
    router: new FakeRouter(calls),
    splitDns: new FakeSplitDns(calls),
    exitNode: new FakeExitNodes(calls),
    signals: new EventEmitter(),
    openBind(address, port) {
      calls.push(`udp bind ${address.includes(':') ? `[${address}]` : address}:${port}`);
      const b = network.bind(parseIp(address)!, port);
      binds.push(b);
      return recorded(b, calls);
    },
    async startDnsServer(o) {
      calls.push(`dns server ${o.address}:${o.port}${o.address6 ? ` [${o.address6}]:${o.port}` : ''}`);
      return recordedDns(await startDnsServer({ ...o, address: '127.0.0.1', address6: null, port: 0 }), calls);
    },
    exit: (code) => {
      exits.push(code);
    },
    uapiDir: null,
  };
}

// recorded adds the socket's close to the calls.
function recorded(b: FakeBind, calls: string[]): Bind {
  return {
    port: b.port,
    startReader: (maxDatagram, onBatch) => b.startReader(maxDatagram, onBatch),
    sendBatch: (buf, offsets, lengths, addrWords, ports, count) =>
      b.sendBatch(buf, offsets, lengths, addrWords, ports, count),
    send: (buf, offset, length, addrWords, at, port) => b.send(buf, offset, length, addrWords, at, port),
    setMark: (mark) => b.setMark(mark),
    offloads: () => b.offloads(),
    close: () => {
      calls.push('udp close');
      b.close();
    },
  };
}

// recordedDns adds the server's close to the calls.
function recordedDns(s: DnsServer, calls: string[]): DnsServer {
  return {
    address: s.address,
    address6: s.address6,
    port: s.port,
    stats: () => s.stats(),
    close: () => {
      calls.push('dns server close');
      return s.close();
    },
  };
}

/** key makes a peer: its private and public key and identity. */
export function key(): { priv: Buffer; pub: string; identity: string } {
  const priv = generatePrivateKey();
  const pub = publicKeyFromPrivate(priv);
  return { priv, pub: formatKey(pub), identity: identityFromPublicKey(pub) };
}

/** SELF, BETA and GAMMA are the test's own system and two peers. */
export const SELF = key();
export const BETA = key();
export const GAMMA = key();

/** staticProfile is a static profile with one peer, beta, on adapter wtest0. */
export function staticProfile(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    PrivateKey: formatKey(SELF.priv),
    ListenPort: 51820,
    VirtualAddress: '100.64.0.1',
    Adapter: { Name: 'wtest0' },
    Peers: [{ Name: 'beta', PublicKey: BETA.pub, Endpoint: '192.0.2.2:51820', AllowedIPs: ['100.64.0.2/32'] }],
    ...extra,
  };
}

/** Sandbox is a temporary directory with the helper's paths and a log that tests can read. */
export class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'warren-daemon-'));
  readonly profilePath = join(this.dir, 'test.profile');
  readonly socketPath = join(this.dir, 'run', 'warren.sock');
  readonly stateDir = join(this.dir, 'state');
  readonly lines: string[] = [];
  readonly log: Logger = createLogger(1, { write: (s: string) => this.lines.push(s) });

  /** writeProfile replaces the profile file with json. */
  writeProfile(json: Record<string, unknown>): void {
    writeFileSync(this.profilePath, JSON.stringify(json, null, 2));
  }

  /** options writes json as the profile and returns what `warren run` would pass the daemon. */
  options(json: Record<string, unknown>): DaemonOptions {
    this.writeProfile(json);
    return {
      profilePath: this.profilePath,
      profile: loadProfile(this.profilePath),
      socketPath: this.socketPath,
      stateDir: this.stateDir,
      verbosity: 1,
      log: this.log,
    };
  }

  /** logged says whether some log line contains text. */
  logged(text: string): boolean {
    return this.lines.some((l) => l.includes(text));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** eventually retries check until it stops throwing, for up to ms. */
export async function eventually<T>(check: () => T | Promise<T>, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
