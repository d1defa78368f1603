// A relayed path end to end in one process: two real devices (real WireGuard, real native UDP
// sockets on 127.0.0.1, in-memory adapters) with no direct path to each other, a real relay
// (relay/src) with real tokens, and the NAT runtime in between. Over UDP with either family
// outside (the sealed datagrams' relay headers written in the room the device leaves before
// them), and over TCP for a helper that only has the relay's TCP port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, randomBytes } from 'node:crypto';
import type { NetworkMap, RelayInfo } from '../../../src-shared/wire/control.js';
import { privateKeyFromSeed } from '../../../src-shared/lib/ed25519.js';
import { startRelay } from '../../../relay/src/sockets.js';
import { issueRelayToken } from '../../../src-shared/lib/relay-token.js';
import { NatKeys } from '../../../src-shared/lib/nat-keys.js';
import { signingKeyFromSeed } from '../../../coordinator/src/auth/signing.js';
import { generatePrivateKey, publicKeyFromPrivate } from '../../../src-shared/lib/keys.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { openNativeBind } from '../wireguard/device/bind.js';
import { Device } from '../wireguard/device/device.js';
import { FakeTun, icmpEcho, prefix } from '../wireguard/device/fake-io.js';
import { PathBind } from './path-bind.js';
import { NatRuntime } from './runtime.js';

const icmp = (src: string, dst: string, seq: number): Buffer => icmpEcho(src, dst, seq, 84);
const silent = createLogger(0, { write: () => true });

async function until(what: string, cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** stream is `count` packets of the given sizes, each with its own random payload after the
 * ICMP header, so that a packet that arrives shifted, cut or mixed with another shows. */
function stream(src: string, dst: string, sizes: number[]): Buffer[] {
  return sizes.map((size, seq) => {
    const p = icmp(src, dst, seq + 1);
    const full = Buffer.concat([p.subarray(0, 28), randomBytes(size - 28)]);
    full.writeUInt16BE(size, 2);
    return full;
  });
}

async function scenario(
  relayFor: (udpPort: number, tcpPort: number, node: 0 | 1) => RelayInfo,
  host = '127.0.0.1',
  sizes: number[] = [],
): Promise<void> {
  const coordinator = signingKeyFromSeed(randomBytes(32));
  const natKeys = new NatKeys(randomBytes(32));
  const relay = await startRelay({
    coordinatorKey: Buffer.from(coordinator.publicKey, 'base64'),
    relayKey: natKeys.relayKey('r'),
    log: silent,
    udp: host.includes(':') ? `[${host}]:0` : `${host}:0`,
    tcp: host.includes(':') ? `[${host}]:0` : `${host}:0`,
    name: 'r',
  });
  const keys = [generatePrivateKey(), generatePrivateKey()];
  const pubs = keys.map((k) => publicKeyFromPrivate(k));
  const vips = ['100.64.0.1', '100.64.0.2'];
  const nodes = [0, 1].map((i) => {
    const seed = randomBytes(32);
    const machinePublic = Buffer.from(
      createPublicKey(privateKeyFromSeed(seed)).export({ format: 'der', type: 'spki' }),
    ).subarray(-32);
    const tun = new FakeTun(`fake${i}`, 1420);
    const bind = new PathBind(openNativeBind(host, 0));
    const dev = new Device({ privateKey: keys[i]!, tun, bind, mtu: 1420, log: silent });
    dev.addPeer({
      publicKey: pubs[1 - i]!,
      allowedIps: [prefix(`${vips[1 - i]!}/32`)],
      persistentKeepalive: 0,
      name: `n${1 - i}`,
    });
    const nat = new NatRuntime({
      device: dev,
      bind,
      privateKey: keys[i]!,
      publicKey: pubs[i]!,
      systemId: `sys-${i}`,
      machineSeed: seed,
      coordinatorKey: Buffer.from(coordinator.publicKey, 'base64'),
      log: silent,
      changed: () => undefined,
      punch: async () => undefined,
      discoveryKey: () => Promise.resolve(natKeys.discoveryKey(`sys-${i}`)),
      relayToken: async (name) => {
        const expires = Date.now() + 3600_000 * 24;
        return {
          token: issueRelayToken(coordinator, natKeys.relayKey(name), {
            systemId: `sys-${i}`,
            wireguardKey: pubs[i]!,
            machineKey: machinePublic,
            expires,
          }),
          expires,
        };
      },
    });
    dev.start();
    nat.start();
    const map = {
      peers: [
        {
          publicKey: pubs[1 - i]!.toString('base64'),
          identity: i === 0 ? 'BBBBB' : 'AAAAA',
          name: `n${1 - i}`,
          endpoints: [],
        },
      ],
      relays: [relayFor(relay.udpPort!, relay.tcpPort!, i as 0 | 1)],
    } as unknown as NetworkMap;
    nat.onMap(map);
    return { dev, tun, bind, nat };
  });
  try {
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    const bKey = pubs[1]!.toString('base64');
    await until('a relayed path', () => a.nat.pathOf(bKey)?.type === 'relay');
    for (let seq = 1; seq <= 20; seq++) a.tun.inject(icmp(vips[0]!, vips[1]!, seq));
    await until('the packets through the relay', () => b.tun.written.length >= 20).catch((e: Error) => {
      throw new Error(
        `${e.message}: got ${b.tun.written.map((p) => p.readUInt16BE(26)).join(',')}; drops a ${JSON.stringify(a.dev.drops.snapshot())} b ${JSON.stringify(b.dev.drops.snapshot())}; relay ${JSON.stringify(relay.relay.stats())}`,
      );
    });
    const seqs = b.tun.written.map((p) => p.readUInt16BE(26));
    assert.deepEqual(
      seqs.sort((x, y) => x - y),
      Array.from({ length: 20 }, (_, k) => k + 1),
      'every packet arrived intact',
    );
    assert.ok(b.tun.written.every((p) => p.length === 84 && p[40] === (p.readUInt16BE(26) & 0xff)));
    b.tun.inject(icmp(vips[1]!, vips[0]!, 99));
    await until('the answer back', () => a.tun.written.length >= 1);
    await until('a measured relayed RTT', () => typeof a.nat.pathOf(bKey)?.rttMs === 'number');
    assert.ok(relay.relay.stats().forwarded >= 21);
    if (sizes.length > 0) await bulk(a, b, stream(vips[0]!, vips[1]!, sizes));
  } finally {
    for (const n of nodes) {
      n.nat.stop();
      n.dev.stop();
      n.bind.close();
    }
    await relay.close();
  }
}

// bulk sends the packets in batches of up to 64 (one adapter read each) and checks that each
// arrives byte for byte, in order: equal-sized frames to the relay go as GSO groups.
async function bulk(a: { tun: FakeTun }, b: { tun: FakeTun; dev: Device }, packets: Buffer[]): Promise<void> {
  const start = b.tun.written.length;
  for (let i = 0; i < packets.length; i += 64) a.tun.inject(...packets.slice(i, i + 64));
  await until('the stream through the relay', () => b.tun.written.length >= start + packets.length).catch(
    (e: Error) => {
      throw new Error(
        `${e.message}: ${b.tun.written.length - start} of ${packets.length}; ${JSON.stringify(b.dev.drops.snapshot())}`,
      );
    },
  );
  const got = b.tun.written.slice(start);
  assert.equal(got.length, packets.length);
  for (let i = 0; i < packets.length; i++) assert.deepEqual(got[i], packets[i], `packet ${i + 1} arrived intact`);
}

const SIZES = [...Array<number>(100).fill(1420), ...Array<number>(30).fill(1000), 1419, 84, 600, 1420, 29];

test('two devices with no direct path talk through the relay over UDP', async () => {
  await scenario((udp) => ({ name: 'r', udp: `127.0.0.1:${udp}` }), '127.0.0.1', SIZES);
});

test('a relayed stream with IPv6 outside arrives intact', async () => {
  await scenario((udp) => ({ name: 'r', udp: `[::1]:${udp}` }), '::1', SIZES);
});

test('a device that only reaches the relay over TCP talks to one on UDP', async () => {
  await scenario((udp, tcp, node) =>
    node === 0 ? { name: 'r', tcp: `127.0.0.1:${tcp}` } : { name: 'r', udp: `127.0.0.1:${udp}` },
  );
});
