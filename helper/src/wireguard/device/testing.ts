// Two real devices (real protocol core, real native AEAD) joined by the in-memory network of
// fake-io.ts, for the device tests: a pair on underlay addresses of either family, IPv4 packets
// for the adapters, a poll for what the fake network delivers on later turns, and a child node
// for the tests that read V8's own view of the packet path.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, publicKeyFromPrivate } from '../../../../src-shared/lib/keys.js';
import { createLogger } from '../../../../src-shared/lib/log.js';
import { parseIp } from '../../../../src-shared/lib/ip/addr.js';
import { formatIpEndpoint } from '../../../../src-shared/lib/ip/endpoint.js';
import { Device } from './device.js';
import { FakeNetwork, FakeTun, prefix, type FakeBind } from './fake-io.js';
import type { DevicePeer } from './peer.js';

export const ip = (s: string): number => s.split('.').reduce((a, o) => (a * 256 + Number(o)) >>> 0, 0);
/** endpointOf is a peer's endpoint as status shows it: a.b.c.d:port, [v6]:port, or null. */
export const endpointOf = (p: DevicePeer): string | null => (p.endpoint ? formatIpEndpoint(p.endpoint) : null);
export const silent = createLogger(0, { write: () => true });

/** udpPacket builds an IPv4/UDP packet (checksums are not checked by the device). */
export function udpPacket(src: string, dst: string, payload: Buffer): Buffer {
  const p = Buffer.alloc(28 + payload.length);
  p[0] = 0x45;
  p.writeUInt16BE(p.length, 2);
  p[8] = 64;
  p[9] = 17;
  p.writeUInt32BE(ip(src), 12);
  p.writeUInt32BE(ip(dst), 16);
  p.writeUInt16BE(4000, 20);
  p.writeUInt16BE(5000, 22);
  p.writeUInt16BE(8 + payload.length, 24);
  payload.copy(p, 28);
  return p;
}

export interface Node {
  dev: Device;
  tun: FakeTun;
  bind: FakeBind;
  pub: Buffer;
}

/** pair starts devices a and b on the underlay addresses given (IPv4 or IPv6 text); a knows
 * b's endpoint. */
export function pair(opts: { keepalive?: number; addrs?: [string, string] } = {}) {
  const [addrA, addrB] = opts.addrs ?? ['192.0.2.1', '192.0.2.2'];
  let now = 1_000_000;
  const clock = (): number => now;
  const net = new FakeNetwork();
  const keys = [generatePrivateKey(), generatePrivateKey()];
  const make = (i: number, addr: string): Node => {
    const tun = new FakeTun(`fake${i}`, 1420);
    const bind = net.bind(parseIp(addr)!, 51820);
    const dev = new Device({ privateKey: keys[i]!, tun, bind, mtu: 1420, log: silent, clock });
    return { dev, tun, bind, pub: publicKeyFromPrivate(keys[i]!) };
  };
  const a = make(0, addrA);
  const b = make(1, addrB);
  a.dev.addPeer({
    publicKey: b.pub,
    endpoint: { addr: parseIp(addrB)!, port: 51820 },
    allowedIps: [prefix('100.64.0.2/32')],
    persistentKeepalive: opts.keepalive ?? 0,
    name: 'b',
  });
  b.dev.addPeer({
    publicKey: a.pub,
    allowedIps: [prefix('100.64.0.1/32')],
    persistentKeepalive: 0,
    name: 'a',
  });
  a.dev.start();
  b.dev.start();
  const stop = (): void => {
    a.dev.stop();
    b.dev.stop();
  };
  return {
    a,
    b,
    net,
    stop,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

export const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

/** until polls a condition (the fake network delivers on later event-loop turns). */
export async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await settle();
}

/** TURBOFANNED is V8's OptimizationStatus bit for TurboFan code (runtime-test.cc). */
export const TURBOFANNED = 1 << 6;

/** runV8Script runs body as a module in a child node started with flags, V8's test functions
 * (%GetOptimizationStatus, %HaveSameMap) and synchronous recompilation (a compile still running
 * on V8's background thread would otherwise read as not optimized), and returns the JSON its
 * last line prints. url(p) in body names module p relative to base (the caller's
 * import.meta.url). */
export function runV8Script<T>(
  base: string,
  flags: readonly string[],
  body: (url: (p: string) => string) => string,
): T {
  const url = (p: string): string => JSON.stringify(new URL(p, base).href);
  const dir = mkdtempSync(join(tmpdir(), 'warren-v8-script-'));
  try {
    const file = join(dir, 'script.mjs');
    writeFileSync(file, body(url));
    const args = [...flags, '--allow-natives-syntax', '--no-concurrent-recompilation', file];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `the script failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
