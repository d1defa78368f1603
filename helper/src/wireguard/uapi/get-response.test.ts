import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorReply, serializeGet } from './get-response.js';

const key = (b: number): Buffer => Buffer.alloc(32, b);

test('a get reply lists device keys, then each peer in wireguard-go order, then errno=0 and an empty line', () => {
  const text = serializeGet({
    privateKey: key(1),
    listenPort: 51820,
    fwmark: 0x42,
    peers: [
      {
        publicKey: key(2),
        presharedKey: null,
        endpoint: { addr: { family: 4, v4: 0xc0000201 }, port: 51820 },
        lastHandshakeNs: 1_700_000_000_123_456_789n,
        txBytes: 148,
        rxBytes: 92,
        persistentKeepalive: 25,
        allowedIps: [
          { addr: { family: 4, v4: 0x0a000001 }, bits: 8 },
          { addr: { family: 6, w0: 0x20010db8, w1: 0, w2: 0, w3: 1 }, bits: 32 },
        ],
      },
      {
        publicKey: key(3),
        presharedKey: key(4),
        endpoint: null,
        lastHandshakeNs: null,
        txBytes: 0,
        rxBytes: 0,
        persistentKeepalive: 0,
        allowedIps: [],
      },
    ],
  });
  assert.equal(
    text,
    [
      `private_key=${'01'.repeat(32)}`,
      'listen_port=51820',
      'fwmark=66',
      `public_key=${'02'.repeat(32)}`,
      `preshared_key=${'00'.repeat(32)}`,
      'protocol_version=1',
      'endpoint=192.0.2.1:51820',
      'last_handshake_time_sec=1700000000',
      'last_handshake_time_nsec=123456789',
      'tx_bytes=148',
      'rx_bytes=92',
      'persistent_keepalive_interval=25',
      // Host bits are cleared, as the table holds the network.
      'allowed_ip=10.0.0.0/8',
      'allowed_ip=2001:db8::/32',
      `public_key=${'03'.repeat(32)}`,
      `preshared_key=${'04'.repeat(32)}`,
      'protocol_version=1',
      'last_handshake_time_sec=0',
      'last_handshake_time_nsec=0',
      'tx_bytes=0',
      'rx_bytes=0',
      'persistent_keepalive_interval=0',
      'errno=0',
      '',
      '',
    ].join('\n'),
  );
});

test('a device without key, port or mark and without peers replies with errno=0 alone', () => {
  assert.equal(serializeGet({ privateKey: null, listenPort: 0, fwmark: 0, peers: [] }), 'errno=0\n\n');
});

test('an error reply is errno=N and an empty line', () => {
  assert.equal(errorReply(-22), 'errno=-22\n\n');
});
