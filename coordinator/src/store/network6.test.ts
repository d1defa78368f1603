// The network's unique local /48 and the systems' IPv6 addresses: drawn once, kept, derived.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIpPrefix, parseIp, parseIpPrefix, prefixContains } from '../../../src-shared/lib/ip/addr.js';
import { parseCidr, parseIPv4 } from '../../../src-shared/lib/ip/ipv4.js';
import { Registry } from './registry.js';
import { ensureNetwork6, formatSystemAddress6, isUla48, NETWORK6_META } from './network6.js';
import { SqliteStore } from './sqlite-store.js';
import { sampleSystemRow } from '../testing/rows.js';

function withStoreFile(fn: (file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'warren-net6-'));
  try {
    fn(join(dir, 'c.db'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the /48 is drawn at the first open, stored, and the same after reopening', () => {
  withStoreFile((file) => {
    let store = new SqliteStore(file);
    const first = ensureNetwork6(store);
    assert.equal(first.created, true);
    assert.ok(isUla48(first.prefix), formatIpPrefix(first.prefix));
    assert.equal(store.getMeta(NETWORK6_META), formatIpPrefix(first.prefix));
    store.close();
    store = new SqliteStore(file);
    const again = ensureNetwork6(store, () => assert.fail('must not draw a second prefix'));
    assert.equal(again.created, false);
    assert.equal(formatIpPrefix(again.prefix), formatIpPrefix(first.prefix));
    store.close();
  });
});

test('two data dirs draw different prefixes (40 random bits each)', () => {
  withStoreFile((a) =>
    withStoreFile((b) => {
      const sa = new SqliteStore(a);
      const sb = new SqliteStore(b);
      assert.notEqual(formatIpPrefix(ensureNetwork6(sa).prefix), formatIpPrefix(ensureNetwork6(sb).prefix));
      sa.close();
      sb.close();
    }),
  );
});

test('a stored value that is not a unique local /48 is refused, not replaced', () => {
  for (const bad of ['2001:db8::/48', 'fd00::/64', 'fc12:3456:789a::/48', '100.64.0.0/10', 'junk']) {
    withStoreFile((file) => {
      const store = new SqliteStore(file);
      store.setMeta(NETWORK6_META, bad);
      assert.throws(() => ensureNetwork6(store), /not a unique local \/48/, bad);
      assert.equal(store.getMeta(NETWORK6_META), bad);
      store.close();
    });
  }
});

test('a system address is the /48, subnet 0, and the IPv4 address as the low 32 bits', () => {
  const net = parseIpPrefix('fd12:3456:789a::/48')!;
  assert.equal(formatSystemAddress6(net, parseIPv4('100.64.0.1')!), 'fd12:3456:789a::6440:1');
  assert.equal(formatSystemAddress6(net, parseIPv4('100.127.255.254')!), 'fd12:3456:789a::647f:fffe');
  // One-to-one: distinct IPv4 addresses give distinct IPv6 ones, all inside the /48.
  const seen = new Set<string>();
  for (let i = 1; i < 2000; i++) {
    const a = formatSystemAddress6(net, parseIPv4('100.64.0.0')! + i * 131);
    assert.ok(prefixContains(net, parseIp(a)!), a);
    seen.add(a);
  }
  assert.equal(seen.size, 1999);
});

test('upgrade: a database whose systems predate IPv6 gets the /48 once, and its systems addresses derived from their IPv4 ones', () => {
  withStoreFile((file) => {
    let store = new SqliteStore(file);
    // A system as an earlier version stored it: no network6 in meta yet.
    store.insertSystem(
      sampleSystemRow({
        id: 'sys-old',
        identity: 'D0001',
        wgKey: 'wg',
        machineKey: 'mk',
        hostname: 'old',
        name: 'old',
        address: parseIPv4('100.64.3.4')!,
        tags: [],
        dnsNames: [],
        keyId: null,
        createdAt: 1,
      }),
    );
    assert.equal(store.getMeta(NETWORK6_META), null);
    const events = { changed: () => {}, revoked: () => {}, removed: () => {} };
    const r1 = new Registry(store, parseCidr('100.64.0.0/10')!, 'warren.internal', events, 0);
    assert.equal(r1.network6Created, true);
    const old = r1.get('sys-old')!;
    const first = r1.address6(old);
    assert.ok(prefixContains(r1.network6, parseIp(first)!), first);
    assert.ok(first.endsWith('::6440:304'), first);
    store.close();
    store = new SqliteStore(file);
    const r2 = new Registry(store, parseCidr('100.64.0.0/10')!, 'warren.internal', events, 0);
    assert.equal(r2.network6Created, false, 'drawn once');
    assert.equal(r2.address6(r2.get('sys-old')!), first, 'the same address after a restart');
    store.close();
  });
});
