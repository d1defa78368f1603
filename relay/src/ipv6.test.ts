// The relay on "::": one native dual-stack socket serves IPv4 and IPv6 clients alike, and
// forwards between them both ways (IPv4 to IPv4 stays on the in-place batched path).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { NatKind } from '../../src-shared/wire/nat-wire.js';
import { parseRelayRegistered } from '../../src-shared/wire/nat-relay.js';
import { startRelay } from './sockets.js';
import {
  recvOf,
  registerMessage,
  sendMessage,
  testCoordinator,
  testLog,
  testSystem,
  TcpClient,
  UdpClient,
} from './test-support.js';

const coord = testCoordinator();

test('a relay on [::] registers an IPv4 and an IPv6 client and relays between them both ways', async () => {
  const r = await startRelay({
    coordinatorKey: coord.publicKey,
    relayKey: coord.relayKey,
    log: testLog().log,
    udp: '[::]:0',
    tcp: '127.0.0.1:0',
  });
  const clients: UdpClient[] = [];
  try {
    const v4 = await UdpClient.open(r.udpPort!, '127.0.0.1');
    const v6 = await UdpClient.open(r.udpPort!, '::1');
    clients.push(v4, v6);
    const [s4, s6] = [testSystem(coord, 'four'), testSystem(coord, 'six')];
    for (const [c, s] of [
      [v4, s4],
      [v6, s6],
    ] as const) {
      const reply = parseRelayRegistered(await c.request(registerMessage(s), NatKind.relayRegistered));
      assert.ok(reply, `the ${s === s4 ? 'IPv4' : 'IPv6'} client is registered`);
    }
    for (const [from, sfrom, to, sto] of [
      [v4, s4, v6, s6],
      [v6, s6, v4, s4],
    ] as const) {
      const payload = randomBytes(300);
      from.send(sendMessage(sto.id, payload));
      const got = recvOf(await to.inbox.next((m) => m[3] === NatKind.relayRecv, 2_000, 'a relayed payload'));
      assert.equal(got?.from, sfrom.id.toString('hex'));
      assert.deepEqual(got?.payload, payload);
    }
    const s = r.relay.stats();
    assert.equal(s.sessions, 2);
    assert.equal(s.forwarded, 2);
    assert.deepEqual(s.dropped, {});
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await r.close();
  }
});

test('a relay TCP listener on [::] registers a client over IPv6 and relays to a UDP client over IPv4', async () => {
  const r = await startRelay({
    coordinatorKey: coord.publicKey,
    relayKey: coord.relayKey,
    log: testLog().log,
    udp: '[::]:0',
    tcp: '[::]:0',
  });
  const udp = await UdpClient.open(r.udpPort!, '127.0.0.1');
  const tcp = await TcpClient.connect(r.tcpPort!, '::1');
  try {
    const [su, st] = [testSystem(coord, 'udp4'), testSystem(coord, 'tcp6')];
    assert.ok(parseRelayRegistered(await udp.request(registerMessage(su), NatKind.relayRegistered)));
    assert.ok(parseRelayRegistered(await tcp.request(registerMessage(st), NatKind.relayRegistered)), 'TCP over IPv6');
    const payload = randomBytes(200);
    tcp.send(sendMessage(su.id, payload));
    const got = recvOf(await udp.inbox.next((m) => m[3] === NatKind.relayRecv, 2_000, 'a relayed payload'));
    assert.equal(got?.from, st.id.toString('hex'));
    assert.deepEqual(got?.payload, payload);
  } finally {
    tcp.socket.destroy();
    await udp.close();
    await r.close();
  }
});
