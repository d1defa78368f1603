import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIpPrefix } from '../../../../src-shared/lib/ip/addr.js';
import { formatIpEndpoint } from '../../../../src-shared/lib/ip/endpoint.js';
import { UAPI_ERRNO, UapiError } from './errors.js';
import { MAX_LINE, MAX_SET_BYTES, MAX_SET_PEERS, SetParser, type SetRequest } from './set-request.js';

const KEY_A = 'a'.repeat(63) + '0';
const KEY_B = '0123456789abcdef'.repeat(4);
const ZERO = '0'.repeat(64);

function parse(lines: string[]): SetRequest {
  const p = new SetParser();
  for (const l of lines) p.line(l);
  return p.finish();
}

function refused(lines: string[], errno: number, pattern?: RegExp): void {
  assert.throws(
    () => parse(lines),
    (e: unknown) => e instanceof UapiError && e.errno === errno && (pattern === undefined || pattern.test(e.message)),
  );
}

test('device keys: private_key is clamped, listen_port, fwmark and replace_peers are read', () => {
  const r = parse([`private_key=${'f'.repeat(64)}`, 'listen_port=51820', 'fwmark=4294967295', 'replace_peers=true']);
  // Clamping (RFC 7748 §5): the low three bits cleared, the top bit cleared, bit 254 set.
  assert.equal(r.privateKey!.toString('hex'), 'f8' + 'f'.repeat(60) + '7f');
  assert.equal(r.listenPort, 51820);
  assert.equal(r.fwmark, 0xffffffff);
  assert.equal(r.replacePeers, true);
  assert.deepEqual(r.peers, []);
});

test('an all-zero private key removes the key; an absent one leaves it', () => {
  assert.equal(parse([`private_key=${ZERO}`]).privateKey, null);
  assert.equal(parse([]).privateKey, undefined);
});

test('peer keys: every key the protocol defines is read into the section public_key opened', () => {
  const r = parse([
    `public_key=${KEY_A}`,
    `preshared_key=${KEY_B}`,
    'endpoint=192.0.2.1:51820',
    'persistent_keepalive_interval=25',
    'replace_allowed_ips=true',
    'allowed_ip=10.0.0.0/8',
    'allowed_ip=2001:db8::/32',
    'allowed_ip=-10.1.0.0/16',
    'protocol_version=1',
    'update_only=true',
    `public_key=${KEY_B}`,
    'endpoint=[2001:db8::1]:443',
    'remove=true',
  ]);
  assert.equal(r.peers.length, 2);
  const [a, b] = r.peers as [SetRequest['peers'][0], SetRequest['peers'][0]];
  assert.equal(a.publicKey.toString('hex'), KEY_A);
  assert.equal(a.presharedKey!.toString('hex'), KEY_B);
  assert.equal(formatIpEndpoint(a.endpoint!), '192.0.2.1:51820');
  assert.equal(a.persistentKeepalive, 25);
  assert.equal(a.replaceAllowedIps, true);
  assert.deepEqual(
    a.allowedIps.map((x) => `${x.remove ? '-' : ''}${formatIpPrefix(x.prefix)}`),
    ['10.0.0.0/8', '2001:db8::/32', '-10.1.0.0/16'],
  );
  assert.equal(a.updateOnly, true);
  assert.equal(a.remove, false);
  assert.equal(formatIpEndpoint(b.endpoint!), '[2001:db8::1]:443');
  assert.equal(b.remove, true);
});

test('replace_allowed_ips drops the prefixes named before it in the same section', () => {
  const r = parse([
    `public_key=${KEY_A}`,
    'allowed_ip=10.0.0.0/8',
    'replace_allowed_ips=true',
    'allowed_ip=10.2.0.0/16',
  ]);
  assert.deepEqual(
    r.peers[0]!.allowedIps.map((x) => formatIpPrefix(x.prefix)),
    ['10.2.0.0/16'],
  );
});

test('an all-zero preshared key removes it', () => {
  assert.equal(parse([`public_key=${KEY_A}`, `preshared_key=${ZERO}`]).peers[0]!.presharedKey, null);
});

const INVALID: Array<[string, string[]]> = [
  ['unknown device key', ['listen_prot=1']],
  ['device key in a peer section', [`public_key=${KEY_A}`, 'listen_port=1']],
  ['peer key before any peer', ['endpoint=192.0.2.1:1']],
  ['short key', [`private_key=${'a'.repeat(63)}`]],
  ['long key', [`public_key=${'a'.repeat(66)}`]],
  ['non-hex key', [`public_key=${'g'.repeat(64)}`]],
  ['base64 key', ['public_key=aTi8/IhsBFGb8civixmhVw9Ar3Xp75q9hm/ZaKJeQC0=']],
  ['port over 65535', ['listen_port=65536']],
  ['signed port', ['listen_port=+1']],
  ['negative port', ['listen_port=-1']],
  ['empty port', ['listen_port=']],
  ['hex fwmark', ['fwmark=0x10']],
  ['fwmark over 32 bits', ['fwmark=4294967296']],
  ['replace_peers=false', ['replace_peers=false']],
  ['remove=1', [`public_key=${KEY_A}`, 'remove=1']],
  ['update_only=yes', [`public_key=${KEY_A}`, 'update_only=yes']],
  ['replace_allowed_ips=TRUE', [`public_key=${KEY_A}`, 'replace_allowed_ips=TRUE']],
  ['keepalive over 65535', [`public_key=${KEY_A}`, 'persistent_keepalive_interval=65536']],
  ['endpoint without port', [`public_key=${KEY_A}`, 'endpoint=192.0.2.1']],
  ['endpoint port 0', [`public_key=${KEY_A}`, 'endpoint=192.0.2.1:0']],
  ['bare IPv6 endpoint', [`public_key=${KEY_A}`, 'endpoint=2001:db8::1:51820']],
  ['host name endpoint', [`public_key=${KEY_A}`, 'endpoint=example.com:51820']],
  ['allowed_ip without bits', [`public_key=${KEY_A}`, 'allowed_ip=10.0.0.1']],
  ['allowed_ip /33', [`public_key=${KEY_A}`, 'allowed_ip=10.0.0.0/33']],
  ['allowed_ip /129', [`public_key=${KEY_A}`, 'allowed_ip=::/129']],
  ['allowed_ip double minus', [`public_key=${KEY_A}`, 'allowed_ip=--10.0.0.0/8']],
  ['protocol_version=2', [`public_key=${KEY_A}`, 'protocol_version=2']],
  ['unknown peer key', [`public_key=${KEY_A}`, 'rx_bytes=1']],
];

for (const [name, lines] of INVALID) {
  test(`refused with -EINVAL: ${name}`, () => refused(lines, UAPI_ERRNO.invalid));
}

test('a line without "=" is a protocol error', () => refused(['listen_port'], UAPI_ERRNO.protocol, /without "="/));

test('a line over MAX_LINE is a protocol error', () => {
  refused([`listen_port=${'1'.repeat(MAX_LINE)}`], UAPI_ERRNO.protocol, /longer/);
});

test('more than MAX_SET_PEERS peer sections are refused', () => {
  const p = new SetParser();
  const key = (i: number): string => i.toString(16).padStart(64, '0');
  for (let i = 0; i < MAX_SET_PEERS; i++) p.line(`public_key=${key(i)}`);
  assert.throws(
    () => p.line(`public_key=${key(MAX_SET_PEERS)}`),
    (e: unknown) => e instanceof UapiError && e.errno === UAPI_ERRNO.protocol,
  );
});

test('a request over MAX_SET_BYTES is refused', () => {
  const p = new SetParser();
  p.line(`public_key=${KEY_A}`);
  const line = 'allowed_ip=10.0.0.0/8';
  const n = Math.ceil(MAX_SET_BYTES / (line.length + 1));
  assert.throws(
    () => {
      for (let i = 0; i < n; i++) p.line(line);
    },
    (e: unknown) => e instanceof UapiError && e.errno === UAPI_ERRNO.protocol && /over/.test(e.message),
  );
});

// Speed is measured by the allowed-IPs bench; this bound only catches a quadratic parser (which
// would take minutes here), not a slow machine.
test('a set of one peer with 130,560 allowed IPs parses whole, with no quadratic cost', () => {
  const p = new SetParser();
  const t0 = performance.now();
  p.line(`public_key=${KEY_A}`);
  for (let i = 0; i < 130_560; i++) p.line(`allowed_ip=10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`);
  const r = p.finish();
  const ms = performance.now() - t0;
  assert.equal(r.peers[0]!.allowedIps.length, 130_560);
  assert.ok(ms < 10_000, `took ${ms.toFixed(0)} ms`);
});
