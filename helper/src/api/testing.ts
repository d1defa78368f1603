// Test support for the local API: the status snapshot a test server answers with when the test
// does not care what is in it, and a logger that writes nothing. Production code may not import
// this file (lint: no test support in production).
import { createLogger } from '../../../src-shared/lib/log.js';
import type { CoordinatorSummary, Status } from '../../../src-shared/wire/status.js';

/** SAMPLE_STATUS is a connected static helper with no peers. Frozen: tests share it. */
export const SAMPLE_STATUS: Readonly<Status> = Object.freeze({
  version: '0.1.0',
  identity: 'G982V',
  publicKey: 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=',
  virtualAddress: '100.64.0.1',
  virtualNetwork: '100.64.0.0/10',
  adapter: 'warren0',
  listenPort: 51820,
  state: 'connected',
  mode: 'static',
  peers: [],
  drops: {},
  startedAt: 1_700_000_000_000,
});

/** sampleCoordinator is a coordinated helper's coordinator at `now`: connected, map v42 taken
 * 12 s ago, with `over` changing what a test is about. */
export function sampleCoordinator(now: number, over: Partial<CoordinatorSummary> = {}): CoordinatorSummary {
  return {
    url: 'https://c.example:8443',
    systemId: 's1',
    reachable: true,
    state: 'active',
    mapVersion: 42,
    lastContact: now,
    lastError: null,
    condition: 'connected',
    since: now - 60_000,
    lastMapAt: now - 12_000,
    detail: null,
    ...over,
  };
}

/** quietLog is a logger that writes nothing. */
export const quietLog = createLogger(0, { write: () => true });
