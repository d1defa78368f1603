// NAT flood bench: forged traffic at a relay and at the coordinator's UDP port while real systems
// use them. A real `warren-relay` process (or a real `warren-coordinator serve` with its embedded
// relay and discovery) runs alone in its process; this process sends the flood from many
// loopback addresses, runs simulated systems that register (and ask for their mapping) once a
// second each, and times GET /v1/info. Each phase reports what share of the real requests was
// answered, the target's CPU time (from /proc) and, for the coordinator, the HTTP latency.
//
//   node dist/scripts/bench/nat-flood.js [--mode relay|coordinator|all] [--rate 8000]
//        [--sources 300] [--real 40] [--seconds 5] [--json FILE]
import { spawn } from 'node:child_process';
import { randomBytes, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NatKind, signedBytes, withMac, withSignature } from '../../src-shared/wire/nat-wire.js';
import { relayRegisterBody, relayRegisterContext, relayTokenBody } from '../../src-shared/wire/nat-relay.js';
import { discoveryRequestBody } from '../../src-shared/wire/nat-discovery.js';
import { registerMessage, testCoordinator, testSystem } from '../../relay/src/test-support.js';
import { procStats } from '../../e2e/netns/procstats.js';
import { adminCall, startCoordinatorProcess } from '../../coordinator/src/testing/testing.js';
import { SimAgent } from '../../coordinator/src/testing/agent-sim.js';
import { send } from '../../coordinator/src/http/client.js';
import type { CreatedKey } from '../../coordinator/src/api/admin-types.js';
import {
  askEvery,
  Asker,
  bindUdp,
  Flood,
  percentile,
  probeLatency,
  realAddress,
  totals,
  type FloodResult,
} from './flood-tools.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, '..', '..', '..');

interface Options {
  mode: 'relay' | 'coordinator' | 'all';
  rate: number;
  sources: number;
  real: number;
  seconds: number;
  json: string | undefined;
}

/** PhaseResult is one phase of one run. */
export interface PhaseResult {
  target: 'relay' | 'coordinator';
  phase: string;
  flood: FloodResult | null;
  /** cpuSeconds the target process spent during the phase's flood window. */
  cpuSeconds: number;
  /** cpuPerForgedUs: (phase CPU - quiet CPU for as long) / forged datagrams, microseconds. */
  cpuPerForgedUs: number | null;
  register: { attempts: number; answered: number; p50Ms: number };
  discovery: { attempts: number; answered: number; p50Ms: number } | null;
  info: { n: number; p50Ms: number; p99Ms: number } | null;
}

/** NAT_FLOOD_USAGE is the help text (--help). */
const NAT_FLOOD_USAGE = `usage: node dist/scripts/bench/nat-flood.js [--mode relay|coordinator|all] [--rate N] [--sources N] [--real N] [--seconds N] [--json FILE]
  --mode      flood a warren-relay process, a coordinator (its UDP port: discovery and the embedded relay), or both (default all)
  --rate      forged datagrams a second (default 8000), sent round robin from --sources loopback addresses (default 300)
  --real      simulated real systems that register (and, at a coordinator, ask for their mapping) twice a second (default 40)
  --seconds   length of each phase (default 5); --json FILE writes every phase's figures`;

function parse(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string', default: 'all' },
      rate: { type: 'string', default: '8000' },
      sources: { type: 'string', default: '300' },
      real: { type: 'string', default: '40' },
      seconds: { type: 'string', default: '5' },
      json: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) return 'help';
  const mode = values.mode;
  if (mode !== 'relay' && mode !== 'coordinator' && mode !== 'all') throw new Error('--mode relay|coordinator|all');
  const n = (v: string, name: string, max: number): number => {
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) throw new Error(`--${name} must be 1..${max}`);
    return Number(v);
  };
  return {
    mode,
    rate: n(values.rate, 'rate', 200_000),
    sources: n(values.sources, 'sources', 10_000),
    real: n(values.real, 'real', 250),
    seconds: n(values.seconds, 'seconds', 600),
    json: values.json,
  };
}

/** forgedToken is shaped like a relay token but signed and MACed by nobody. */
function forgedToken(k: number): Uint8Array {
  const body = relayTokenBody(`forged-${k}`, randomBytes(32), randomBytes(32), Date.now() + 3600_000);
  return withMac(withSignature(body, randomBytes(64)), randomBytes(16));
}

/** forgedRegister is a well-formed registration with a forged signature around token (by
 * default a made-up one, new for every datagram: a new peer id each time, as an attacker would). */
function forgedRegister(k: number, token: Uint8Array = forgedToken(k)): Uint8Array {
  return withSignature(relayRegisterBody(token, Date.now(), randomBytes(16)), randomBytes(64));
}

/** replays are registrations around genuine tokens (captured, or insiders' own) with forged signatures. */
function replays(tokens: Uint8Array[]): Uint8Array[] {
  return Array.from({ length: 1024 }, (_, k) => forgedRegister(k, tokens[k % tokens.length]));
}

interface Target {
  pid: number;
  port: number;
}

/** settle waits (up to 30 s) until the target works off what an earlier phase left queued:
 * under 10 % of a core over half a second. */
async function settle(pid: number): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const c0 = procStats(pid).cpuSeconds;
    await new Promise((r) => setTimeout(r, 500));
    if (procStats(pid).cpuSeconds - c0 < 0.05) return;
  }
}

/** phase runs the askers (and the flood and the HTTP probe, when given) for o.seconds. */
async function phase(
  o: Options,
  t: Target,
  name: string,
  askers: { register: Asker[]; discovery: Asker[] },
  flood: ((seconds: number) => Promise<FloodResult>) | null,
  probe: (() => Promise<unknown>) | null,
): Promise<Omit<PhaseResult, 'target' | 'cpuPerForgedUs'>> {
  await settle(t.pid);
  for (const a of [...askers.register, ...askers.discovery]) a.reset();
  const cpu0 = procStats(t.pid).cpuSeconds;
  const asking = askEvery([...askers.register, ...askers.discovery], 1000, o.seconds);
  const probing = probe ? probeLatency(probe, o.seconds) : Promise.resolve(null);
  const f = flood ? await flood(o.seconds) : await new Promise<null>((r) => setTimeout(() => r(null), o.seconds * 1e3));
  const cpuSeconds = procStats(t.pid).cpuSeconds - cpu0;
  const [, info] = await Promise.all([asking, probing]);
  const sum = (as: Asker[]): { attempts: number; answered: number; p50Ms: number } => {
    const s = totals(as);
    return { attempts: s.attempts, answered: s.answered, p50Ms: percentile(s.latenciesMs, 50) };
  };
  return {
    phase: name,
    flood: f,
    cpuSeconds,
    register: sum(askers.register),
    discovery: askers.discovery.length > 0 ? sum(askers.discovery) : null,
    info: info ? { n: info.length, p50Ms: percentile(info, 50), p99Ms: percentile(info, 99) } : null,
  };
}

function withCpuPerForged(
  o: Options,
  target: PhaseResult['target'],
  phases: Omit<PhaseResult, 'target' | 'cpuPerForgedUs'>[],
): PhaseResult[] {
  // The quiet phase (the first) lasts o.seconds; what the target spends on top of it is the flood's.
  const quietPerSecond = phases[0]!.cpuSeconds / o.seconds;
  return phases.map((p): PhaseResult => {
    const extra = p.flood ? p.cpuSeconds - quietPerSecond * p.flood.seconds : 0;
    return { target, ...p, cpuPerForgedUs: p.flood ? (extra / p.flood.sent) * 1e6 : null };
  });
}

async function spawnRelay(coordinatorKey: Buffer, keyFile: string): Promise<Target & { stop(): Promise<string> }> {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'warren-relay'), '--coordinator-key', coordinatorKey.toString('base64')].concat([
      '--relay-key-file',
      keyFile,
      '--udp',
      '127.0.0.1:0',
      '--tcp',
      'off',
      '-v',
      '1',
    ]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /udp [0-9.]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (c) => reject(new Error(`warren-relay exited (${c}): ${err}`)));
  });
  return {
    pid: child.pid!,
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      return err;
    },
  };
}

async function relayRun(o: Options): Promise<PhaseResult[]> {
  const coord = testCoordinator();
  const keyDir = mkdtempSync(join(tmpdir(), 'warren-flood-'));
  const keyFile = join(keyDir, 'relay.key');
  writeFileSync(keyFile, `${coord.relayKey.toString('base64')}\n`, { mode: 0o600 });
  const relay = await spawnRelay(coord.publicKey, keyFile);
  const flood = await Flood.open(o.sources);
  const register: Asker[] = [];
  try {
    for (let i = 0; i < o.real; i++) {
      const s = testSystem(coord, `real-${i}`);
      const sock = await bindUdp(realAddress(i));
      register.push(new Asker(sock, relay.port, (nonce) => registerMessage(s, { nonce }), NatKind.relayRegistered));
    }
    // Genuine tokens of systems that are not registered here, with forged signatures.
    const replayed = replays(Array.from({ length: 8 }, (_, i) => testSystem(coord, `insider-${i}`).token));
    const askers = { register, discovery: [] };
    const run = (make: (k: number) => Uint8Array) => (sec: number) => flood.run(relay.port, o.rate, sec, make);
    const phases = [
      await phase(o, relay, 'quiet', askers, null, null),
      await phase(o, relay, 'forged registrations', askers, run(forgedRegister), null),
      await phase(
        o,
        relay,
        'replayed tokens',
        askers,
        run((k) => replayed[k % replayed.length]!),
        null,
      ),
    ];
    return withCpuPerForged(o, 'relay', phases);
  } finally {
    flood.close();
    for (const a of register) a.socket.close();
    const log = await relay.stop();
    rmSync(keyDir, { recursive: true, force: true });
    const stats = /relay: .* dropped (\{.*\})/.exec(log);
    if (stats) console.log(`  relay counters at exit: ${stats[0].slice(7)}`);
  }
}

/** enrolAgents enrols n simulated systems on a coordinator process. */
async function enrolAgents(url: string, token: string, n: number, name = 'real'): Promise<SimAgent[]> {
  const k = await adminCall<CreatedKey>(url, token, 'POST', '/v1/admin/keys', {
    tags: [],
    approval: 'automatic',
    uses: n,
    expiresInMs: 3_600_000,
    ephemeral: false,
  });
  if (k.status !== 201) throw new Error(`creating an enrolment key failed: HTTP ${k.status}`);
  const out: SimAgent[] = [];
  for (let i = 0; i < n; i++) {
    const a = new SimAgent(url);
    await a.enrol(k.body.key, `${name}-${i}`);
    out.push(a);
  }
  return out;
}

/** agentRegister is a relay registration for the embedded relay, signed by the agent. */
async function agentRegisterFn(a: SimAgent): Promise<(nonce: Buffer) => Uint8Array> {
  const token = Buffer.from((await a.relayToken()).token, 'base64');
  return (nonce) => {
    const body = relayRegisterBody(token, Date.now(), nonce);
    const sig = sign(null, signedBytes(relayRegisterContext('coordinator'), body), a.keys.machinePrivateKey);
    return withSignature(body, sig);
  };
}

async function coordinatorRun(o: Options): Promise<PhaseResult[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-flood-'));
  const c = await startCoordinatorProcess({ dataDir, listen: '127.0.0.1:0', publicIp: '127.0.0.1', args: ['-v', '1'] });
  const flood = await Flood.open(o.sources);
  const askers = { register: [] as Asker[], discovery: [] as Asker[] };
  try {
    const agents = await enrolAgents(c.url, c.adminToken, o.real);
    for (const [i, a] of agents.entries()) {
      await a.fetchDiscoveryKey();
      const sock = await bindUdp(realAddress(i));
      askers.register.push(new Asker(sock, c.udpPort, await agentRegisterFn(a), NatKind.relayRegistered));
      askers.discovery.push(
        new Asker(sock, c.udpPort, (nonce) => a.discoveryRequest(Date.now(), nonce), NatKind.discoveryReply),
      );
    }
    const ids = agents.map((a) => a.systemId);
    // Insiders' genuine tokens with forged signatures.
    const insiders = await enrolAgents(c.url, c.adminToken, 8, 'insider');
    const tokens = await Promise.all(insiders.map(async (a) => Buffer.from((await a.relayToken()).token, 'base64')));
    const replayed = replays(tokens);
    // Forged discovery requests name real systems (ids are no secret: tokens carry them).
    const forgedDisc = Array.from({ length: 1024 }, (_, k) =>
      withSignature(
        withMac(discoveryRequestBody(ids[k % ids.length]!, Date.now(), randomBytes(16)), randomBytes(16)),
        randomBytes(64),
      ),
    );
    const target = { pid: c.pid, port: c.udpPort };
    const info = (): Promise<unknown> => send(`${c.url}/v1/info`, { method: 'GET', timeoutMs: 10_000 });
    const run = (make: (k: number) => Uint8Array) => (sec: number) => flood.run(c.udpPort, o.rate, sec, make);
    const pool = (msgs: Uint8Array[]) => (k: number) => msgs[k % msgs.length]!;
    const phases = [
      await phase(o, target, 'quiet', askers, null, info),
      await phase(o, target, 'forged registrations', askers, run(forgedRegister), info),
      await phase(o, target, 'replayed tokens', askers, run(pool(replayed)), info),
      await phase(o, target, 'forged discovery', askers, run(pool(forgedDisc)), info),
    ];
    return withCpuPerForged(o, 'coordinator', phases);
  } finally {
    flood.close();
    for (const a of askers.register) a.socket.close();
    await c.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function show(r: PhaseResult): string {
  const pct = (x: { attempts: number; answered: number }): string =>
    `${x.answered}/${x.attempts} (${((100 * x.answered) / Math.max(1, x.attempts)).toFixed(0)}%)`;
  const parts = [
    `${r.target} ${r.phase}:`,
    r.flood
      ? `flood ${r.flood.sent} in ${r.flood.seconds.toFixed(1)} s (${(r.flood.sent / r.flood.seconds).toFixed(0)}/s)`
      : 'no flood',
    `cpu ${r.cpuSeconds.toFixed(2)} s`,
    r.cpuPerForgedUs !== null ? `${r.cpuPerForgedUs.toFixed(1)} µs/forged` : '',
    `registrations answered ${pct(r.register)} p50 ${r.register.p50Ms.toFixed(1)} ms`,
    r.discovery ? `discovery answered ${pct(r.discovery)} p50 ${r.discovery.p50Ms.toFixed(1)} ms` : '',
    r.info ? `GET /v1/info p50 ${r.info.p50Ms.toFixed(1)} ms p99 ${r.info.p99Ms.toFixed(1)} ms (n=${r.info.n})` : '',
  ];
  return parts.filter((p) => p !== '').join('; ');
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  if (o === 'help') {
    console.log(NAT_FLOOD_USAGE);
    return;
  }
  console.log(
    `nat flood bench: ${o.rate}/s from ${o.sources} addresses, ${o.real} real systems, ${o.seconds} s phases`,
  );
  const results: PhaseResult[] = [];
  if (o.mode !== 'coordinator') results.push(...(await relayRun(o)));
  if (o.mode !== 'relay') results.push(...(await coordinatorRun(o)));
  for (const r of results) console.log(show(r));
  if (o.json !== undefined) writeFileSync(o.json, `${JSON.stringify(results, null, 2)}\n`);
}

await main();
