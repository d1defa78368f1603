// Choosing the adapter name, with a driver whose links are a set (the real kernel side is
// e2e/adapter-beside-vpn.test.ts): which names are skipped, the bound, a race lost between
// the check and the open, and a name the profile sets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import type { TunAdapter, TunConfig, TunDriver } from './index.js';
import { ADAPTER_MAX_INDEX, openAdapter, takenNote } from './pick-name.js';

const CFG: TunConfig = { name: 'warren0', address: 1, network: parseCidr('100.64.0.0/10')!, mtu: 1420 };

/** links is the set of existing link names; raceFor names a link another program makes just
 * before the open; opened records each open. */
function driver(links: Set<string>, raceFor: string | null = null): TunDriver & { opened: string[] } {
  const opened: string[] = [];
  return {
    opened,
    exists: (n) => links.has(n),
    remove: () => false,
    async open(cfg) {
      opened.push(cfg.name);
      if (cfg.name === raceFor) links.add(cfg.name);
      if (links.has(cfg.name)) throw Object.assign(new Error('Device or resource busy'), { code: 'EBUSY' });
      links.add(cfg.name);
      return { name: cfg.name, mtu: cfg.mtu } as TunAdapter;
    },
  };
}

test('the default name: warren0 when free, else the next free warrenN, and the names taken', async () => {
  const free = await openAdapter(driver(new Set()), CFG, false);
  assert.deepEqual([free.tun.name, free.taken], ['warren0', []]);
  const d = driver(new Set(['warren0', 'warren1']));
  const next = await openAdapter(d, CFG, false);
  assert.deepEqual([next.tun.name, next.taken, d.opened], ['warren2', ['warren0', 'warren1'], ['warren2']]);
  assert.equal(
    takenNote(next.taken, 'warren2'),
    'warren0, warren1 are taken by another program (a link of that name exists), so this helper uses warren2; ' +
      'set Adapter.Name in the profile to choose the name',
  );
  assert.equal(takenNote([], 'warren0'), null);
});

test('a name lost to another program between the check and the open is skipped too', async () => {
  const r = await openAdapter(driver(new Set(), 'warren0'), CFG, false);
  assert.deepEqual([r.tun.name, r.taken], ['warren1', ['warren0']]);
});

test('the fallback is bounded and says what to do when every name is taken', async () => {
  const all = new Set(Array.from({ length: ADAPTER_MAX_INDEX + 1 }, (_, i) => `warren${i}`));
  const d = driver(all);
  await assert.rejects(
    openAdapter(d, CFG, false),
    /every adapter name from warren0 to warren15 is taken .*Adapter\.Name/,
  );
  assert.deepEqual(d.opened, [], 'nothing is opened');
});

test('a name the profile sets is used as it is, and a taken one is a clear error', async () => {
  const d = driver(new Set(['warren0']));
  await assert.rejects(
    openAdapter(d, CFG, true),
    /^Error: adapter warren0 is taken by another program \(a link of that name exists: `ip link show warren0`\); stop that program, or set another Adapter\.Name/,
  );
  const other = await openAdapter(driver(new Set(['warren0'])), { ...CFG, name: 'corp0' }, true);
  assert.deepEqual([other.tun.name, other.taken], ['corp0', []]);
});

test('a failure that is not about the name is not hidden by trying other names', async () => {
  const d = driver(new Set());
  d.open = async () => {
    throw new Error('cannot create the adapter: /dev/net/tun is missing (load the tun module)');
  };
  await assert.rejects(openAdapter(d, CFG, false), /dev\/net\/tun is missing/);
});
