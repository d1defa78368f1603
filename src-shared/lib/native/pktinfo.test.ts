// Local addresses on the UDP socket (native/src/pktinfo.c): every datagram reports the local
// address it arrived on (ip(7) IP_PKTINFO, ipv6(7) IPV6_PKTINFO), and sends leave from a chosen
// source, falling over to the kernel's choice when that source is not the host's any more.
// Loopback serves as a multi-homed host without privileges: all of 127.0.0.0/8 is local, and
// the kernel, left to itself, answers 127.0.0.1 from 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { closeFd, startReader, udpOpen, udpSend, udpSendBatch, type Reader, type UdpHandle } from './index.js';
import { copyBatch, MODES, waitFor, wordsOf, type Received } from './testing.js';

/** sink is a dgram socket on `ip` that records the source of what it receives. */
async function sink(type: 'udp4' | 'udp6', ip: string) {
  const sock = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
  sock.bind(0, ip);
  await once(sock, 'listening');
  const got: Array<{ msg: string; from: string }> = [];
  sock.on('message', (msg, r) => got.push({ msg: msg.toString(), from: r.address }));
  return { sock, got, port: sock.address().port };
}

/** sendTo sends one datagram from a fresh dgram socket to ip:port. */
async function sendTo(type: 'udp4' | 'udp6', ip: string, port: number, msg: string): Promise<void> {
  const s = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
  await new Promise<void>((resolve, reject) => s.send(msg, port, ip, (e) => (e ? reject(e) : resolve())));
  s.close();
}

/** packBatch lays out messages one after another for udpSendBatch. */
function packBatch(msgs: string[]) {
  const buf = Buffer.from(msgs.join(''));
  const offsets = new Uint32Array(msgs.length);
  const lengths = new Uint32Array(msgs.length);
  let at = 0;
  msgs.forEach((m, i) => {
    offsets[i] = at;
    lengths[i] = m.length;
    at += m.length;
  });
  return { buf, offsets, lengths };
}

/** concat joins address words (wordsOf) into one array. */
function concat(...parts: Uint32Array[]): Uint32Array {
  const out = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

for (const mode of MODES)
  for (const bindIp of ['0.0.0.0', '::'])
    test(`${mode}: a socket on ${bindIp} reports the local address each datagram arrived on`, async () => {
      const rx = udpOpen(bindIp, 0);
      const got: Received[] = [];
      let reader: Reader | undefined;
      try {
        reader = startReader(rx.fd, 'udp', { maxBatch: 8, slotSize: 256, headroom: 0, pool: 2, mode }, (b) =>
          got.push(...copyBatch(b)),
        );
        await sendTo('udp4', '127.0.0.2', rx.port, 'to .2');
        await sendTo('udp4', '127.0.0.1', rx.port, 'to .1');
        await sendTo('udp4', '127.0.0.3', rx.port, 'to .3');
        if (rx.family === 6) await sendTo('udp6', '::1', rx.port, 'to ::1');
        const want = rx.family === 6 ? 4 : 3;
        await waitFor(() => got.length === want, 5000, `${want} datagrams`);
        const local = new Map(got.map((g) => [g.data.toString(), g.local]));
        assert.equal(local.get('to .2'), '127.0.0.2');
        assert.equal(local.get('to .1'), '127.0.0.1');
        assert.equal(local.get('to .3'), '127.0.0.3');
        if (rx.family === 6) assert.equal(local.get('to ::1'), '::1');
        // Loopback is interface 1 on Linux.
        for (const g of got) assert.equal(g.ifindex, 1, `${g.data.toString()} arrived on lo`);
      } finally {
        reader?.stop();
        closeFd(rx.fd);
      }
    });

for (const bindIp of ['0.0.0.0', '::'])
  test(`a socket on ${bindIp} sends each datagram from the source asked for, or the kernel's when zero`, async () => {
    const tx = udpOpen(bindIp, 0);
    const s4 = await sink('udp4', '127.0.0.1');
    const s6 = rx6(tx) ? await sink('udp6', '::1') : null;
    try {
      const msgs = ['a', 'b', 'c'];
      const p = packBatch(msgs);
      const to = wordsOf('127.0.0.1', 3);
      const ports = new Uint16Array(3).fill(s4.port);
      const local = concat(wordsOf('127.0.0.2'), wordsOf('0.0.0.0').fill(0), wordsOf('127.0.0.3'));
      assert.equal(udpSendBatch(tx.fd, p.buf, p.offsets, p.lengths, to, ports, 3, local), 3);
      assert.equal(udpSend(tx.fd, Buffer.from('d'), 0, 1, to, 0, s4.port, wordsOf('127.0.0.4')), true);
      assert.equal(udpSend(tx.fd, Buffer.from('e'), 0, 1, to, 0, s4.port), true);
      await waitFor(() => s4.got.length === 5, 5000, 'five datagrams');
      const from = new Map(s4.got.map((g) => [g.msg, g.from]));
      assert.deepEqual(Object.fromEntries(from), {
        a: '127.0.0.2',
        b: '127.0.0.1',
        c: '127.0.0.3',
        d: '127.0.0.4',
        e: '127.0.0.1',
      });
      assert.deepEqual(local, concat(wordsOf('127.0.0.2'), new Uint32Array(4), wordsOf('127.0.0.3')), 'kept');
      if (s6 !== null) {
        assert.equal(udpSend(tx.fd, Buffer.from('f'), 0, 1, wordsOf('::1'), 0, s6.port, wordsOf('::1')), true);
        await waitFor(() => s6.got.length === 1, 5000, 'one IPv6 datagram');
        assert.equal(s6.got[0]!.from, '::1');
      }
    } finally {
      s4.sock.close();
      s6?.sock.close();
      closeFd(tx.fd);
    }
  });

/** rx6 tells whether a socket can reach IPv6 destinations. */
function rx6(h: UdpHandle): boolean {
  return h.family === 6;
}

for (const bindIp of ['0.0.0.0', '::'])
  test(`a socket on ${bindIp} falls over from a source that is not local and zeros it`, async () => {
    const tx = udpOpen(bindIp, 0);
    const s4 = await sink('udp4', '127.0.0.1');
    const s6 = rx6(tx) ? await sink('udp6', '::1') : null;
    try {
      // 192.0.2.1 (RFC 5737) is not an address of this host: the kernel refuses it as a source
      // (ENETUNREACH), and the datagrams go from 127.0.0.1 instead. The third datagram's source
      // is good and stays.
      const p = packBatch(['a', 'b', 'c']);
      const to = wordsOf('127.0.0.1', 3);
      const ports = new Uint16Array(3).fill(s4.port);
      const local = concat(wordsOf('192.0.2.1', 2), wordsOf('127.0.0.2'));
      assert.equal(udpSendBatch(tx.fd, p.buf, p.offsets, p.lengths, to, ports, 3, local), 3);
      assert.deepEqual(local, concat(new Uint32Array(8), wordsOf('127.0.0.2')), 'the stale source is zeroed');
      const one = wordsOf('192.0.2.1');
      assert.equal(udpSend(tx.fd, Buffer.from('d'), 0, 1, to, 0, s4.port, one), true);
      assert.deepEqual(one, new Uint32Array(4));
      await waitFor(() => s4.got.length === 4, 5000, 'four datagrams');
      assert.deepEqual(Object.fromEntries(s4.got.map((g) => [g.msg, g.from])), {
        a: '127.0.0.1',
        b: '127.0.0.1',
        c: '127.0.0.2',
        d: '127.0.0.1',
      });
      if (s6 !== null) {
        // An IPv6 source that is not local (2001:db8::/32, RFC 3849) is refused with EINVAL.
        const six = wordsOf('2001:db8::1');
        assert.equal(udpSend(tx.fd, Buffer.from('e'), 0, 1, wordsOf('::1'), 0, s6.port, six), true);
        assert.deepEqual(six, new Uint32Array(4));
        await waitFor(() => s6.got.length === 1, 5000, 'one IPv6 datagram');
        assert.equal(s6.got[0]!.from, '::1');
      }
    } finally {
      s4.sock.close();
      s6?.sock.close();
      closeFd(tx.fd);
    }
  });

test('with an all-zero source a destination the kernel refuses is dropped as without localWords', () => {
  const tx = udpOpen('127.0.0.1', 0);
  try {
    // Port 0 is EINVAL, the errno of a stale IPv6 source: with no source set it is just dropped.
    const none = new Uint32Array(4);
    assert.equal(udpSend(tx.fd, Buffer.from('x'), 0, 1, wordsOf('127.0.0.1'), 0, 0, none), false);
    assert.deepEqual(none, new Uint32Array(4));
  } finally {
    closeFd(tx.fd);
  }
});

test('localWords must be a Uint32Array with four words per datagram sent', () => {
  const tx = udpOpen('127.0.0.1', 0);
  try {
    const p = packBatch(['a', 'b']);
    const to = wordsOf('127.0.0.1', 2);
    const ports = new Uint16Array(2).fill(9);
    assert.throws(
      () => udpSendBatch(tx.fd, p.buf, p.offsets, p.lengths, to, ports, 2, wordsOf('127.0.0.1')),
      RangeError,
    );
    assert.throws(
      () => udpSendBatch(tx.fd, p.buf, p.offsets, p.lengths, to, ports, 2, [0, 0] as unknown as Uint32Array),
      TypeError,
    );
    assert.throws(() => udpSend(tx.fd, p.buf, 0, 1, to, 4, 9, wordsOf('127.0.0.1')), RangeError);
  } finally {
    closeFd(tx.fd);
  }
});
