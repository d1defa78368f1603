// The coordinator's policy pass in one process, without the simulated agents or the sockets:
// the bench's fleet shape (scripts/bench/coordinator-fleet.ts: 20 teams of developers and servers, 20
// shared services every developer reaches) on a SQLite registry, every system with a stream,
// and pub.flush() timed after each policy file that changes every map. It takes the build to
// load as an argument, so two builds can be run side by side:
//   node --expose-gc scripts/bench/coordinator-pass.mjs DIST [SYSTEMS=10000] [PASSES=5]
// (DIST is a build's dist directory, e.g. dist or another worktree's). Each pass prints one JSON
// line: its wall and CPU milliseconds, the frames it made and their bytes. The first pass of a
// process warms V8 up; leave it out when comparing. With WARREN_PASS_PROFILE=FILE, the passes
// after the first (and nothing else: not the fleet's enrolment) are profiled into FILE, a
// .cpuprofile that dist/scripts/bench/profile-top.js reads.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Session } from 'node:inspector/promises';
const [distArg = 'dist', nArg = '10000', roundsArg = '5'] = process.argv.slice(2);
const dist = resolve(distArg);
const imp = (p) => import(pathToFileURL(join(dist, p)).href);
const { parseCidr } = await imp('src-shared/lib/ip/ipv4.js');
const { createLogger } = await imp('src-shared/lib/log.js');
const { MapPublisher } = await imp('coordinator/src/maps/publisher.js');
const { parsePolicyFile } = await imp('coordinator/src/policy/policy-file.js');
const { Registry } = await imp('coordinator/src/store/registry.js');
const { loadOrCreateSigningKey } = await imp('coordinator/src/auth/signing.js');
const { SqliteStore } = await imp('coordinator/src/store/sqlite-store.js');
const { sampleNewSystem } = await imp('coordinator/src/testing/rows.js');
const N = Number(nArg);
// The fleet and its policy come from this checkout's own build, whichever DIST is timed, so
// that two builds are timed on the same fleet.
const { fleet, policy } = await import(
  new globalThis.URL('../../dist/scripts/bench/coordinator-fleet.js', import.meta.url).href
);
const dir = mkdtempSync(join(tmpdir(), 'pass10k-inproc-'));
const store = new SqliteStore(join(dir, 'c.db'));
// No fsync per enrolment: the fleet is set up, not measured.
store.db?.pragma?.('synchronous = OFF');
let pub = null;
try {
  const { key } = loadOrCreateSigningKey(join(dir, 'signing.key'));
  const registry = new Registry(
    store,
    parseCidr('100.64.0.0/10'),
    'warren.internal',
    { changed: (x, soft) => pub?.changed(x, soft), revoked: () => {}, removed: () => {} },
    0,
  );
  let frames = 0,
    bytes = 0;
  pub = new MapPublisher(
    registry,
    key,
    (s, m, out) => {
      if (
        !out.batched((f) => {
          frames++;
          bytes += f.length;
        })
      ) {
        const f = out.full();
        frames++;
        bytes += f.length;
      }
    },
    createLogger(0, { write: () => {} }),
  );
  pub.hasStream = () => true;
  const apply = (text) => {
    const r = parsePolicyFile(text);
    registry.applyPolicy(text, r.file, 0);
  };
  apply(policy(false));
  for (const [i, m] of fleet(N).entries()) {
    const n = i + 1;
    const s = registry.insert(sampleNewSystem(n, registry.allocate(), { tags: [m.tag], dnsNames: [] }), n);
    registry.setOnline(s, true, n);
  }
  pub.flush();
  pub.flush();
  const rounds = Number(roundsArg);
  const profileTo = process.env.WARREN_PASS_PROFILE;
  const session = profileTo ? new Session() : null;
  session?.connect();
  for (let r = 0; r < rounds; r++) {
    if (session && r === 1) {
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    apply(policy(r % 2 === 0));
    frames = 0;
    bytes = 0;
    globalThis.gc?.();
    const c0 = process.cpuUsage();
    const t0 = globalThis.performance.now();
    pub.flush();
    const wall = globalThis.performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    console.log(
      JSON.stringify({
        round: r,
        wallMs: +wall.toFixed(1),
        cpuMs: +((cpu.user + cpu.system) / 1000).toFixed(1),
        frames,
        bytes,
      }),
    );
  }
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(profileTo, JSON.stringify(profile));
    session.disconnect();
  }
} finally {
  pub?.stop();
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
