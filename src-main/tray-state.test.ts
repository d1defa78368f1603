import { test } from 'node:test';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src-shared/lib/package-root.js';
import assert from 'node:assert/strict';
import { initialAppState, type AppState, type PeerView, type TunnelView } from '../src-shared/wire/app-state.js';
import { dropNotice, trayModel, type MenuItem } from './tray-state.js';

const ASSETS = join(packageRoot(import.meta.url) ?? '.', 'assets');
const TUNNEL: TunnelView = {
  state: 'connected',
  error: null,
  identity: 'G982V',
  publicKey: 'pk',
  virtualAddress: '100.64.0.1',
  virtualNetwork: '100.64.0.0/10',
  virtualAddress6: null,
  virtualNetwork6: null,
  adapter: 'warren0',
  listenPort: 51820,
  version: '0.1.0',
  mode: 'static',
  startedAt: 0,
  coordinator: null,
  held: null,
  problems: [],
  policy: null,
  dnsZone: null,
  providesRoutes: [],
  login: null,
  signIn: null,
};
const peer = (identity: string, extra: Partial<PeerView> = {}): PeerView => ({
  identity,
  label: identity,
  name: null,
  dnsName: null,
  virtualIp: null,
  virtualIp6: null,
  endpoint: null,
  lastHandshake: null,
  online: false,
  rxBytes: 0,
  txBytes: 0,
  tags: [],
  exitRoutes: [],
  exitInUse: false,
  path: null,
  ...extra,
});
const EXIT = peer('Q8QW8', {
  label: 'exit',
  exitRoutes: ['198.51.100.0/24', '203.0.113.0/24'],
  exitInUse: true,
  online: true,
});
const up = (patch: Partial<AppState> = {}, tunnel: Partial<TunnelView> = {}): AppState => ({
  ...initialAppState(),
  link: 'up',
  tunnel: { ...TUNNEL, ...tunnel },
  peers: [EXIT, peer('AAAAA')],
  updatedAt: 1,
  ...patch,
});
const readOnly = { privileged: false, operatorGroup: 'warren', operatorGroupExists: true };

const find = (menu: MenuItem[], label: string): MenuItem | undefined =>
  menu.find((m) => 'label' in m && m.label.startsWith(label));

test('icon and tooltip follow the link and the tunnel state', () => {
  const cases: [string, AppState, string, RegExp][] = [
    ['before the first answer', initialAppState(), 'connecting', /^Warren: Starting…$/],
    ['connected', up(), 'connected', /^Warren: Connected as G982V \(100\.64\.0\.1\), 1 of 2 peers online$/],
    ['disconnected', up({}, { state: 'disconnected' }), 'disconnected', /^Warren: Disconnected as G982V/],
    ['connecting', up({}, { state: 'connecting' }), 'connecting', /^Warren: Connecting… as G982V/],
    [
      'tunnel error',
      up({}, { state: 'error', error: 'the adapter vanished' }),
      'error',
      /^Warren: Error: the adapter vanished/,
    ],
    [
      'helper not running',
      { ...initialAppState(), link: 'down', problem: { code: 'helper-not-running', message: 'm' } },
      'error',
      /^Warren: The helper is not running$/,
    ],
    [
      'socket refused',
      { ...initialAppState(), link: 'down', problem: { code: 'permission-denied', message: 'm' } },
      'error',
      /^Warren: Cannot reach the helper$/,
    ],
  ];
  for (const [label, s, icon, tooltip] of cases) {
    const m = trayModel(s);
    assert.equal(m.icon, icon, label);
    assert.match(m.tooltip, tooltip, label);
    assert.ok(m.tooltip.length <= 120);
  }
  const long = trayModel(up({}, { state: 'error', error: 'x'.repeat(500) }));
  assert.equal(long.tooltip.length, 120);
});

test('a tunnel held by the coordinator or with problems has its own icon, never the connected one', () => {
  const coordinated = { mode: 'coordinated' as const };
  const cases: [string, AppState, string, RegExp][] = [
    [
      'waiting for approval',
      up({}, { ...coordinated, held: 'pending-approval' }),
      'pending',
      /^Warren: Waiting for approval as G982V \(100\.64\.0\.1\); an admin must approve this system$/,
    ],
    [
      'revoked',
      up({}, { ...coordinated, held: 'revoked' }),
      'problem',
      /^Warren: Revoked by the coordinator as G982V \(100\.64\.0\.1\); no peers reachable$/,
    ],
    ['wrong key', up({}, { ...coordinated, held: 'key-mismatch' }), 'problem', /^Warren: Wrong private key as/],
    [
      'a problem while connected',
      up({}, { problems: ['Route 100.64.0.0/10 is held by tailscale0: stop the other VPN', 'second'] }),
      'problem',
      /^Warren: Connected as G982V \(100\.64\.0\.1\); problem \(\+1 more\): Route 100\.64\.0\.0\/10 is held/,
    ],
    // A disconnected tunnel shows its own state whatever the coordinator said.
    ['pending but disconnected', up({}, { state: 'disconnected', held: 'pending-approval' }), 'disconnected', /Disc/],
  ];
  for (const [label, s, icon, tooltip] of cases) {
    const m = trayModel(s);
    assert.equal(m.icon, icon, label);
    assert.match(m.tooltip, tooltip, label);
    assert.ok(m.tooltip.length <= 120, label);
    assert.ok(existsSync(join(ASSETS, `tray-${m.icon}.png`)), `${label}: tray-${m.icon}.png exists`);
    assert.ok(existsSync(join(ASSETS, `tray-${m.icon}@2x.png`)), `${label}: tray-${m.icon}@2x.png exists`);
  }
  const long = trayModel(up({}, { problems: ['y'.repeat(500)] }));
  assert.equal(long.tooltip.length, 120);
  assert.ok(long.tooltip.endsWith('y…'));
});

test('every tray icon is in assets/ as a 16 px and a 32 px PNG', () => {
  for (const name of ['connected', 'connecting', 'disconnected', 'error', 'pending', 'problem']) {
    for (const [file, px] of [
      [`tray-${name}.png`, 16],
      [`tray-${name}@2x.png`, 32],
    ] as const) {
      const png = readFileSync(join(ASSETS, file));
      assert.equal(png.subarray(1, 4).toString(), 'PNG', file);
      assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [px, px], file);
    }
  }
});

test('the menu offers Connect or Disconnect only when it can work', () => {
  const cases: [string, AppState, string, boolean][] = [
    ['connected', up(), 'Disconnect', true],
    ['disconnected', up({}, { state: 'disconnected' }), 'Connect', true],
    ['error offers connect', up({}, { state: 'error' }), 'Connect', true],
    ['connecting: disconnect greyed', up({}, { state: 'connecting' }), 'Disconnect', false],
    ['read-only user', up({ access: readOnly }), 'Disconnect', false],
    ['helper down', { ...initialAppState(), link: 'down' }, 'Disconnect', false],
  ];
  for (const [label, s, want, enabled] of cases) {
    const item = find(trayModel(s).menu, want);
    assert.ok(item && item.type === 'action', `${label}: ${want} present`);
    assert.equal(item.enabled, enabled, label);
    assert.equal(item.action.kind, want.toLowerCase(), label);
  }
  assert.ok(find(trayModel(up({ access: readOnly })).menu, 'Read-only: join the "warren" group'));
  const labels = trayModel(up())
    .menu.filter((m) => m.type !== 'separator')
    .map((m) => (m as { label: string }).label);
  assert.deepEqual(labels.slice(-3), ['Exit nodes', 'Show peers…', 'Quit Warren']);
});

test('the Exit nodes submenu has a checkbox per exit node that switches it', () => {
  const sub = find(trayModel(up()).menu, 'Exit nodes');
  assert.ok(sub && sub.type === 'submenu' && sub.enabled);
  assert.deepEqual(sub.items, [
    {
      type: 'checkbox',
      label: 'exit: 198.51.100.0/24, 203.0.113.0/24',
      checked: true,
      enabled: true,
      action: { kind: 'use-exit', identity: 'Q8QW8', use: false },
    },
  ]);
  const off = find(trayModel(up({ peers: [{ ...EXIT, exitInUse: false }] })).menu, 'Exit nodes');
  assert.ok(off?.type === 'submenu');
  assert.deepEqual(off.items[0]?.type === 'checkbox' && [off.items[0].checked, off.items[0].action], [
    false,
    { kind: 'use-exit', identity: 'Q8QW8', use: true },
  ]);
  const ro = find(trayModel(up({ access: readOnly })).menu, 'Exit nodes');
  assert.equal(
    ro?.type === 'submenu' && ro.items[0]?.type === 'checkbox' && ro.items[0].enabled,
    false,
    'read-only users see but cannot switch',
  );
  const none = find(trayModel(up({ peers: [peer('AAAAA')] })).menu, 'Exit nodes');
  assert.ok(none?.type === 'submenu' && !none.enabled);
  assert.deepEqual(none.items, [{ type: 'label', label: 'No exit nodes available' }]);
});

test('dropNotice: only when a connected tunnel stops, and not when the person asked', () => {
  const cases: [string, AppState, AppState, boolean, RegExp | null][] = [
    ['still connected', up(), up(), false, null],
    ['disconnected by someone else', up(), up({}, { state: 'disconnected' }), false, /Disconnected/],
    ['disconnected from this app', up(), up({}, { state: 'disconnected' }), true, null],
    [
      'helper gone',
      up(),
      {
        ...initialAppState(),
        link: 'down',
        problem: { code: 'helper-not-running', message: 'The Warren helper is not running' },
      },
      false,
      /tunnel lost/,
    ],
    ['error', up(), up({}, { state: 'error', error: 'adapter gone' }), false, /Error/],
    ['was not connected', up({}, { state: 'disconnected' }), up({}, { state: 'disconnected' }), false, null],
    ['comes back', { ...initialAppState(), link: 'down' }, up(), false, null],
  ];
  for (const [label, prev, next, expected, want] of cases) {
    const n = dropNotice(prev, next, expected);
    if (want === null) assert.equal(n, null, label);
    else assert.match(n?.title ?? '', want, label);
  }
  assert.equal(dropNotice(up(), up({}, { state: 'error', error: 'adapter gone' }))?.body, 'adapter gone');
});
