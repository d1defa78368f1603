// The coordinators' URLs a map lists (control.ts NetworkMap.coordinators): taken when they are
// http(s) base URLs, refused (the whole map, as any malformed field) otherwise or beyond the bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONTROL_PROTOCOL, COORDINATOR_URLS_MAX } from '../../../src-shared/wire/control.js';
import { MapFormatError, parseNetworkMap } from '../../../src-shared/lib/netmap/map-parse.js';

function raw(coordinators?: unknown): Record<string, unknown> {
  return {
    protocol: CONTROL_PROTOCOL,
    version: 3,
    generatedAt: 1,
    systemId: 'sys1',
    self: { identity: 'G982V', name: 'me', virtualAddress: '100.64.0.1', tags: [], dnsNames: [], providesRoutes: [] },
    virtualNetwork: '100.64.0.0/10',
    dnsZone: 'warren.internal',
    peers: [],
    policies: [],
    routes: {},
    ...(coordinators !== undefined ? { coordinators } : {}),
  };
}

test('a map without coordinators has none; one with a list keeps it', () => {
  assert.equal(parseNetworkMap(raw()).coordinators, undefined);
  const urls = ['https://coord-a.example.com:8443', 'http://192.0.2.102:8080', 'http://[2001:db8::7]:8080'];
  assert.deepEqual(parseNetworkMap(raw(urls)).coordinators, urls);
});

test('a map listing something that is not an http(s) base URL, or too many, is refused', () => {
  for (const bad of [
    ['ftp://x.example.com'],
    ['http://user:pw@x.example.com'],
    ['http://x.example.com/#frag'],
    ['not a url'],
    [7],
    'http://x.example.com',
    [`http://${'a'.repeat(300)}.example.com`],
    Array.from({ length: COORDINATOR_URLS_MAX + 1 }, (_, i) => `http://192.0.2.${i + 1}:8080`),
  ])
    assert.throws(() => parseNetworkMap(raw(bad)), MapFormatError, JSON.stringify(bad).slice(0, 80));
});
