// The UDP socket's two families on loopback: an IPv6 literal binds a v6-only socket, "::" a
// dual-stack one that receives and sends both families, sources arrive as four words with IPv4
// always mapped (::ffff:a.b.c.d), and an AF_INET socket refuses a non-mapped IPv6 destination
// without throwing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { closeFd, startReader, udpOpen, udpOpenWithFallback, udpSend, udpSendBatch, type Reader } from './index.js';
import { copyBatch, MODES, waitFor, wordsOf, type Received } from './testing.js';

/** sink is a dgram socket of `type` on `ip` that records what it receives. */
async function sink(type: 'udp4' | 'udp6', ip: string) {
  const sock = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
  sock.bind(0, ip);
  await once(sock, 'listening');
  const got: Array<{ msg: string; address: string; port: number }> = [];
  sock.on('message', (msg, rinfo) => got.push({ msg: msg.toString(), address: rinfo.address, port: rinfo.port }));
  return { sock, got, port: sock.address().port };
}

/** sendFrom sends one datagram from a dgram socket of `type` bound on `ip` to ip:port. */
async function sendFrom(type: 'udp4' | 'udp6', ip: string, to: string, port: number, msg: string): Promise<number> {
  const s = await sink(type, ip);
  await new Promise<void>((resolve, reject) => s.sock.send(msg, port, to, (e) => (e ? reject(e) : resolve())));
  s.sock.close();
  return s.port;
}

test('udpOpen tells the family: IPv4 literal 4, IPv6 literal 6, "::" 6; an IPv6 port in use names [addr]:port', () => {
  const a = udpOpen('127.0.0.1', 0);
  const b = udpOpen('::1', 0);
  const c = udpOpen('::', 0);
  try {
    assert.equal(a.family, 4);
    assert.equal(b.family, 6);
    assert.equal(c.family, 6);
    assert.throws(
      () => udpOpen('::1', b.port),
      (e: NodeJS.ErrnoException) =>
        e.code === 'EADDRINUSE' && e.message === `bind [::1]:${b.port}: Address already in use`,
    );
  } finally {
    for (const h of [a, b, c]) closeFd(h.fd);
  }
});

for (const mode of MODES)
  test(`${mode}: a dual-stack socket receives from 127.0.0.1 and ::1 with the right words`, async () => {
    const rx = udpOpen('::', 0);
    const got: Received[] = [];
    let reader: Reader | undefined;
    try {
      reader = startReader(rx.fd, 'udp', { maxBatch: 8, slotSize: 256, headroom: 0, pool: 2, mode }, (b) =>
        got.push(...copyBatch(b)),
      );
      const p4 = await sendFrom('udp4', '127.0.0.1', '127.0.0.1', rx.port, 'from v4');
      const p6 = await sendFrom('udp6', '::1', '::1', rx.port, 'from v6');
      await waitFor(() => got.length === 2, 5000, 'two datagrams');
      const byMsg = new Map(got.map((g) => [g.data.toString(), g]));
      assert.deepEqual(byMsg.get('from v4')!.words, [0, 0, 0xffff, 0x7f000001], 'IPv4 arrives mapped');
      assert.equal(byMsg.get('from v4')!.addr, '127.0.0.1');
      assert.equal(byMsg.get('from v4')!.port, p4);
      assert.deepEqual(byMsg.get('from v6')!.words, [0, 0, 0, 1], '::1 arrives as itself');
      assert.equal(byMsg.get('from v6')!.addr, '::1');
      assert.equal(byMsg.get('from v6')!.port, p6);
    } finally {
      reader?.stop();
      closeFd(rx.fd);
    }
  });

test('a dual-stack socket sends to a mapped IPv4 address and to ::1, in one batch and one by one', async () => {
  const tx = udpOpen('::', 0);
  const s4 = await sink('udp4', '127.0.0.1');
  const s6 = await sink('udp6', '::1');
  try {
    const words = new Uint32Array(8);
    words.set(wordsOf('127.0.0.1'), 0);
    words.set(wordsOf('::1'), 4);
    const buf = Buffer.from('batch4batch6');
    const sent = udpSendBatch(
      tx.fd,
      buf,
      Uint32Array.of(0, 6),
      Uint32Array.of(6, 6),
      words,
      Uint16Array.of(s4.port, s6.port),
      2,
    );
    assert.equal(sent, 2);
    assert.equal(udpSend(tx.fd, Buffer.from('one6'), 0, 4, words, 4, s6.port), true);
    assert.equal(udpSend(tx.fd, Buffer.from('one4'), 0, 4, words, 0, s4.port), true);
    await waitFor(() => s4.got.length === 2 && s6.got.length === 2, 5000, 'two datagrams at each sink');
    assert.deepEqual(
      s4.got.map((g) => [g.msg, g.address, g.port]),
      [
        ['batch4', '127.0.0.1', tx.port],
        ['one4', '127.0.0.1', tx.port],
      ],
    );
    assert.deepEqual(
      s6.got.map((g) => [g.msg, g.address, g.port]),
      [
        ['batch6', '::1', tx.port],
        ['one6', '::1', tx.port],
      ],
    );
  } finally {
    closeFd(tx.fd);
    s4.sock.close();
    s6.sock.close();
  }
});

test('an AF_INET socket does not send to a non-mapped IPv6 address: counted as not sent, no throw', async () => {
  const tx = udpOpen('127.0.0.1', 0);
  const s4 = await sink('udp4', '127.0.0.1');
  try {
    const words = new Uint32Array(12);
    words.set(wordsOf('::1'), 0);
    words.set(wordsOf('127.0.0.1'), 4);
    words.set(wordsOf('::ffff:7f00:1'), 8); // 127.0.0.1 written as IPv6: mapped, so it goes
    const buf = Buffer.from('v6v4mm');
    const ports = Uint16Array.of(s4.port, s4.port, s4.port);
    assert.equal(udpSendBatch(tx.fd, buf, Uint32Array.of(0, 2, 4), Uint32Array.of(2, 2, 2), words, ports, 3), 2);
    assert.equal(udpSend(tx.fd, buf, 0, 2, words, 0, s4.port), false);
    await waitFor(() => s4.got.length === 2, 5000, 'the two IPv4 datagrams');
    assert.deepEqual(
      s4.got.map((g) => g.msg),
      ['v4', 'mm'],
    );
  } finally {
    closeFd(tx.fd);
    s4.sock.close();
  }
});

test('a socket bound to an IPv6 literal is v6-only: a mapped destination is not sent', async () => {
  const tx = udpOpen('::1', 0);
  const s4 = await sink('udp4', '127.0.0.1');
  try {
    assert.equal(udpSend(tx.fd, Buffer.from('x'), 0, 1, wordsOf('127.0.0.1'), 0, s4.port), false);
    const s6 = await sink('udp6', '::1');
    try {
      assert.equal(udpSend(tx.fd, Buffer.from('y'), 0, 1, wordsOf('::1'), 0, s6.port), true);
      await waitFor(() => s6.got.length === 1, 5000, 'the IPv6 datagram');
      assert.equal(s4.got.length, 0);
    } finally {
      s6.sock.close();
    }
  } finally {
    closeFd(tx.fd);
    s4.sock.close();
  }
});

test('udpOpenWithFallback opens "::" dual-stack where IPv6 exists, and never falls back on other errors', () => {
  const warned: string[] = [];
  const a = udpOpenWithFallback('::', 0, (m) => warned.push(m));
  try {
    assert.equal(a.family, 6);
    assert.equal(warned.length, 0, 'no fallback on a system with IPv6');
    // A port in use is not a missing IPv6: it throws, and 0.0.0.0 is not tried behind its back.
    assert.throws(() => udpOpenWithFallback('::', a.port, (m) => warned.push(m)), { code: 'EADDRINUSE' });
    assert.equal(warned.length, 0);
  } finally {
    closeFd(a.fd);
  }
});

test("udpSendBatch keeps the socket's family in gsoState[1] and sends by it; a wrong byte is the kernel's to judge", async () => {
  const v4 = udpOpen('127.0.0.1', 0);
  const dual = udpOpen('::', 0);
  const s = await sink('udp4', '127.0.0.1');
  const buf = Buffer.from('family');
  const send = (fd: number, state: Uint8Array): number =>
    udpSendBatch(
      fd,
      buf,
      Uint32Array.of(0),
      Uint32Array.of(buf.length),
      wordsOf('127.0.0.1'),
      Uint16Array.of(s.port),
      1,
      null,
      state,
    );
  try {
    const s4 = new Uint8Array(2);
    const s6 = new Uint8Array(2);
    assert.equal(send(v4.fd, s4), 1);
    assert.equal(send(dual.fd, s6), 1);
    assert.deepEqual([s4[1], s6[1]], [4, 6], 'the first send learns each family');
    assert.equal(send(v4.fd, s4), 1, 'later sends use the kept family');
    assert.equal(send(dual.fd, s6), 1);
    // A one-byte state keeps nothing and still sends.
    assert.equal(send(v4.fd, new Uint8Array(1)), 1);
    await waitFor(() => s.got.length === 5, 5000, 'five datagrams');
    // A byte that names the wrong family makes an address of that family, which the kernel
    // refuses on an AF_INET socket (an AF_INET6 dual-stack one takes an AF_INET address too).
    assert.throws(
      () => send(v4.fd, Uint8Array.of(0, 6)),
      (e: NodeJS.ErrnoException) => e.code === 'EAFNOSUPPORT',
    );
  } finally {
    for (const h of [v4, dual]) closeFd(h.fd);
    s.sock.close();
  }
});
