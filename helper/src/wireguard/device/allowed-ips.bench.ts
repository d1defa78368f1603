// Micro-benchmark: the cryptokey routing table at UAPI scale, one peer owning 65,280 IPv4 /16s
// and 65,280 IPv6 /128s (130,560 prefixes), through the Device as a UAPI server drives it: add
// the peer, list its prefixes back (`get`), replace them all (`replace_allowed_ips`), then
// lookups, watching the garbage collector to show that lookups allocate nothing. The lookups
// visit the 130,560 prefixes in a scattered order, so they measure a table far larger than
// the CPU caches (tens of MB of nodes), not a hot path through a few nodes.
// Run: node dist/helper/src/wireguard/device/allowed-ips.bench.js. runAllowedIpsBench() returns the figures.
import { PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { generatePrivateKey, publicKeyFromPrivate } from '../../../../src-shared/lib/keys.js';
import { createLogger } from '../../../../src-shared/lib/log.js';
import type { IpPrefix } from '../../../../src-shared/lib/ip/addr.js';
import { Device } from './device.js';
import { FakeNetwork, FakeTun } from './fake-io.js';

const PER_FAMILY = 65_280; // 255 × 256

/** AllowedIpsBenchResult holds milliseconds per bulk step and lookups per second. */
export interface AllowedIpsBenchResult {
  prefixes: number;
  addPeerMs: number;
  listMs: number;
  listAllMs: number;
  replaceMs: number;
  removePeerMs: number;
  lookup4PerSec: number;
  lookup6PerSec: number;
  /** gcDuringLookups counts collections while the lookups ran (0: they did not allocate). */
  gcDuringLookups: number;
}

/** prefixes builds PER_FAMILY IPv4 /16s (first octet 1-255) and as many IPv6 /128s; `salt` varies them. */
function prefixes(salt: number): IpPrefix[] {
  const out: IpPrefix[] = [];
  for (let i = 0; i < PER_FAMILY; i++) {
    out.push({ addr: { family: 4, v4: ((i + 256) << 16) >>> 0 }, bits: salt === 0 ? 16 : 24 });
  }
  for (let i = 0; i < PER_FAMILY; i++) {
    out.push({ addr: { family: 6, w0: 0xfd7a115c, w1: salt, w2: i >>> 8, w3: (i * 2654435761) >>> 0 }, bits: 128 });
  }
  return out;
}

function timed(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

/** packets builds n IPv6 headers whose destinations are the table's /128s, for lookup6. */
function destinations(table: IpPrefix[], n: number): Buffer {
  const buf = Buffer.alloc(n * 40);
  for (let i = 0; i < n; i++) {
    const a = table[PER_FAMILY + ((i * 7919) % PER_FAMILY)]!.addr;
    if (a.family !== 6) continue;
    [a.w0, a.w1, a.w2, a.w3].forEach((w, k) => buf.writeUInt32BE(w, i * 40 + 24 + 4 * k));
  }
  return buf;
}

/** runAllowedIpsBench times the bulk steps on a fresh Device and then the lookups. */
export function runAllowedIpsBench(): AllowedIpsBenchResult {
  const silent = createLogger(0, { write: () => true });
  const net = new FakeNetwork();
  const dev = new Device({
    privateKey: generatePrivateKey(),
    tun: new FakeTun('bench0', 1420),
    bind: net.bind(0xc0000201, 51820),
    mtu: 1420,
    log: silent,
  });
  const publicKey = publicKeyFromPrivate(generatePrivateKey());
  const first = prefixes(0);
  const second = prefixes(1);
  let peer = dev.addPeer({ publicKey, allowedIps: [], persistentKeepalive: 0 });
  dev.removePeer(publicKey);
  const addPeerMs = timed(() => {
    peer = dev.addPeer({ publicKey, allowedIps: first, persistentKeepalive: 0 });
  });
  let listed = 0;
  const listMs = timed(() => {
    listed = dev.routes.prefixesOf(peer).length;
  });
  const listAllMs = timed(() => {
    listed = dev.routes.byValue().get(peer)?.length ?? 0;
  });
  if (listed !== first.length) throw new Error(`listed ${listed} of ${first.length} prefixes`);
  const replaceMs = timed(() => dev.replaceAllowedIps(peer, second));
  if (dev.routes.size !== second.length) throw new Error(`${dev.routes.size} prefixes after the replacement`);
  const v6 = destinations(second, 4096);
  const lookups = lookupRates(dev, v6);
  const removePeerMs = timed(() => dev.removePeer(publicKey));
  return { prefixes: first.length, addPeerMs, listMs, listAllMs, replaceMs, removePeerMs, ...lookups };
}

function lookupRates(
  dev: Device,
  v6: Buffer,
): Pick<AllowedIpsBenchResult, 'lookup4PerSec' | 'lookup6PerSec' | 'gcDuringLookups'> {
  const n = 5_000_000;
  let hits = 0;
  const run4 = (): void => {
    // x.y.0.z: inside x.y.0.0/16 and x.y.0.0/24, so every lookup hits in either table; the
    // prefixes are visited in the same scattered order as the IPv6 ones, for a fair comparison.
    for (let i = 0; i < n; i++) {
      if (dev.routes.lookup4(((((i * 7919) % PER_FAMILY) + 256) << 16) | (i & 0xff)) !== undefined) hits++;
    }
  };
  const run6 = (): void => {
    for (let i = 0; i < n; i++) if (dev.routes.lookup6(v6, (i & 4095) * 40 + 24) !== undefined) hits++;
  };
  run4(); // warm-up, so that optimisation is not timed
  run6();
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  const t4 = timed(run4);
  const t6 = timed(run6);
  obs.disconnect();
  if (hits === 0) throw new Error('no lookup hit');
  return { lookup4PerSec: n / (t4 / 1000), lookup6PerSec: n / (t6 / 1000), gcDuringLookups: gcs };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = runAllowedIpsBench();
  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  console.log(`allowed IPs: one peer with ${r.prefixes} prefixes (65,280 IPv4 + 65,280 IPv6)`);
  console.log(
    `  add peer ${ms(r.addPeerMs)}, list its prefixes ${ms(r.listMs)} (all peers ${ms(r.listAllMs)}), ` +
      `replace them all ${ms(r.replaceMs)}, remove peer ${ms(r.removePeerMs)}`,
  );
  const m = (x: number): string => `${(x / 1e6).toFixed(1)} M/s`;
  console.log(
    `  lookup4 ${m(r.lookup4PerSec)}, lookup6 ${m(r.lookup6PerSec)}, collections during lookups: ${r.gcDuringLookups}`,
  );
}
