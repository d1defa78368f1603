// `npm run bench`: Warren against wireguard-go (and the bare veth, for context) between two
// network namespaces: iperf3 TCP throughput, ping RTT, CPU time and peak memory of the tunnel
// processes. Then the exit-node run: client → printer through a Warren exit node and
// through wireguard-go with the same SNAT rule (scripts/bench/exit.ts), and the proxies:
// throughput and connection rate through a helper's egress CONNECT tunnel and ingress forwarder
// against direct TCP (scripts/bench/proxy.ts), and a coordinator pushing a policy change to 2,000
// simulated systems (scripts/bench/coordinator.ts; on SQLite, or two coordinators on one PostgreSQL
// with --coordinator-store), and the relay: throughput between two
// helpers behind NAT over their direct path and through the relay (scripts/bench/relay.ts).
// Prints tables and the ratios; writes .bench/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { Topology, missingRequirement, pairLayout, repoRoot, type PairLayout } from '../e2e/netns/index.js';
import { combineRounds, measureRaw, measureTunnel, type Measurement } from './bench/measure.js';
import { USAGE, parseBenchArgs, type BenchOptions, type Impl } from './bench/options.js';
import { exitTable, proxyTable, ratioLines, ratios, table, type Ratios } from './bench/report.js';
import { measureExit, type ExitResult } from './bench/exit.js';
import { measureProxy, type ProxyResult } from './bench/proxy.js';
import { measureRelay, relayLines, type RelayResult } from './bench/relay.js';
import { familyTable, measureFamilies, type FamilyResult } from './bench/families.js';
import { runCoordinatorBench, type CoordinatorBenchResult } from './bench/coordinator.js';
import type { CoordinatorStore } from './bench/coordinator-pg.js';
import { runFirewallBench, type FirewallBenchResult } from '../helper/src/firewall/firewall.bench.js';

function progress(s: string): void {
  process.stdout.write(`==> ${s}\n`);
}

/** NetworkResults is what the runs in network namespaces measured; null for a run skipped. */
interface NetworkResults {
  raw: Measurement;
  results: Partial<Record<Impl, Measurement>>;
  errors: Partial<Record<Impl, string>>;
  exit: ExitResult | null;
  proxy: ProxyResult | null;
  relay: RelayResult | null;
  families: FamilyResult | null;
}

/** CoordinatorRun is the coordinator runs' figures, or why they failed: coordinator on SQLite,
 * coordinatorPostgres on PostgreSQL; both null when that store was not measured. */
interface CoordinatorRun {
  coordinator: CoordinatorBenchResult | null;
  coordinatorError: string | null;
  coordinatorPostgres: CoordinatorBenchResult | null;
  coordinatorPostgresError: string | null;
}

/** Figures is every figure the report holds. */
interface Figures extends NetworkResults, CoordinatorRun {
  ratios: Ratios | null;
  firewall: FirewallBenchResult;
}

/** main runs the parts of the bench in order, prints them, writes the report and returns the exit
 * code: 1 when any part failed. */
async function main(): Promise<number> {
  const opts = optionsOrExitCode(process.argv.slice(2));
  if (typeof opts === 'number') return opts;
  if (!opts.network) {
    // --only coordinator: the report holds the coordinator's figures alone.
    const c = await measureCoordinator(opts.coordinatorSystems, opts.coordinatorStores);
    const out = opts.out ?? join(repoRoot(), '.bench', 'coordinator.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), ...c }, null, 2) + '\n');
    process.stdout.write(`\nwrote ${out}\n`);
    return c.coordinatorError !== null || c.coordinatorPostgresError !== null ? 1 : 0;
  }
  const needs = missingBenchRequirement(opts);
  if (needs !== undefined) {
    process.stderr.write(`bench: cannot run: ${needs}\n`);
    return 1;
  }

  const net = await measureNetwork(opts);
  const r = ratios(net.results, net.raw);
  printNetwork(net, r, opts.impls);
  process.stdout.write('\n');
  const firewall = measureFirewall();
  const coordinator = await measureCoordinator(opts.coordinatorSystems, opts.coordinatorStores);

  const figures: Figures = { ...net, ratios: r, firewall, ...coordinator };
  const out = writeReport(opts, figures);
  process.stdout.write(`\nwrote ${out}\n`);
  return anyFailed(figures) ? 1 : 0;
}

/** optionsOrExitCode parses argv; for --help or bad arguments it prints the usage and returns
 * the exit code instead. */
function optionsOrExitCode(argv: string[]): BenchOptions | number {
  let opts;
  try {
    opts = parseBenchArgs(argv);
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  return opts;
}

/** missingBenchRequirement names a tool or build the chosen runs need and this machine lacks. */
function missingBenchRequirement(opts: BenchOptions): string | undefined {
  // The exit-node run compares both tunnels whatever --only says, so it needs both, and nft.
  return missingRequirement({
    binaries: [
      'iperf3',
      'ping',
      ...(opts.impls.includes('wg-go') || opts.exit || opts.families ? ['wireguard-go', 'wg'] : []),
      ...(opts.exit ? ['nft'] : []),
    ],
    warren: opts.exit || opts.proxy || opts.impls.some((i) => i !== 'wg-go'),
  });
}

/** measureNetwork runs the bare veth, each tunnel, and the exit-node, proxy and relay runs in
 * one topology, which it destroys however they end. */
async function measureNetwork(opts: BenchOptions): Promise<NetworkResults> {
  const topo = Topology.create();
  try {
    progress(`namespaces ${topo.prefix}-a and ${topo.prefix}-b over veth`);
    const l = await pairLayout(topo);
    progress('raw veth');
    const raw = await measureRaw(l, opts, (s) => progress(`raw veth: ${s}`));
    const { results, errors } = await measureTunnels(l, opts);
    // In the same topology, so the one destroy below also removes the exit run's namespaces.
    const exit = opts.exit ? await measureExit(topo, opts, (s) => progress(`exit node: ${s}`)) : null;
    const proxy = opts.proxy ? await measureProxy(topo, opts, (s) => progress(`proxy: ${s}`)) : null;
    const relay = opts.relay ? await measureRelay(topo, opts, (s) => progress(`relay: ${s}`)) : null;
    const families = opts.families
      ? await measureFamilies(l, opts.seconds, opts.familyRounds, (s) => progress(`address families: ${s}`))
      : null;
    return { raw, results, errors, exit, proxy, relay, families };
  } finally {
    progress('cleaning up');
    await topo.destroy();
  }
}

/** measureTunnels measures each chosen tunnel in opts.rounds interleaved rounds (the order
 * reversed every other round, so a slow spell of the shared machine hits all of them); a tunnel
 * that fails is reported and skipped from then on. */
async function measureTunnels(l: PairLayout, opts: BenchOptions): Promise<Pick<NetworkResults, 'results' | 'errors'>> {
  const runs = new Map<Impl, Measurement[]>();
  const errors: Partial<Record<Impl, string>> = {};
  for (let round = 0; round < opts.rounds; round++) {
    const order = round % 2 === 0 ? opts.impls : [...opts.impls].reverse();
    for (const impl of order.filter((i) => errors[i] === undefined)) {
      const tag = `${impl} (round ${round + 1}/${opts.rounds})`;
      try {
        const m = await measureTunnel(impl, l, opts, (s) => progress(`${tag}: ${s}`));
        runs.set(impl, [...(runs.get(impl) ?? []), m]);
        // Each round's figures too: the medians below hide the spread a shared machine makes.
        const rtt = `rtt p50 ${m.rttP50Ms.toFixed(3)} p99 ${m.rttP99Ms.toFixed(3)} ms`;
        progress(`${tag}: ${m.throughputMbps.toFixed(0)} Mbit/s, ${rtt}, load ${loadavg()[0]!.toFixed(1)}`);
      } catch (e) {
        errors[impl] = (e as Error).message;
        process.stderr.write(`bench: ${impl} failed: ${(e as Error).message}\n`);
      }
    }
  }
  const results: Partial<Record<Impl, Measurement>> = {};
  for (const impl of opts.impls) {
    const ms = runs.get(impl);
    if (errors[impl] === undefined && ms !== undefined) results[impl] = combineRounds(ms);
  }
  return { results, errors };
}

/** printNetwork prints the table of the veth and the tunnels (in impls order), the warren/wg-go
 * ratios and the exit-node, proxy and relay tables, each when it has something to show. */
function printNetwork(net: NetworkResults, r: Ratios | null, impls: Impl[]): void {
  const rows: [string, Measurement][] = [['raw veth', net.raw]];
  for (const impl of impls) {
    const m = net.results[impl];
    if (m) rows.push([impl, m]);
  }
  process.stdout.write(`\n${table(rows)}\n`);
  if (r) process.stdout.write(`\n${ratioLines(r)}\n`);
  if (net.exit) process.stdout.write(`\n${exitTable(net.exit)}\n`);
  if (net.proxy) process.stdout.write(`\n${proxyTable(net.proxy)}\n`);
  if (net.relay) process.stdout.write(`\n${relayLines(net.relay)}\n`);
  if (net.families) process.stdout.write(`\n${familyTable(net.families)}\n`);
}

/** measureFirewall times the firewall's decisions and prints them. */
function measureFirewall(): FirewallBenchResult {
  progress('firewall decisions (10,000 policies, 100,000 flows)');
  const firewall = runFirewallBench();
  const mps = (perSec: number): string => `${(perSec / 1e6).toFixed(1)} M/s`;
  process.stdout.write(
    `firewall: compile ${firewall.compileMs.toFixed(0)} ms; tracked ${mps(firewall.trackedPerSec)}, ` +
      `new allowed ${mps(firewall.newAllowedPerSec)}, denied ${mps(firewall.deniedPerSec)}, ` +
      `IPv6 tracked ${mps(firewall.trackedV6PerSec)}\n`,
  );
  return firewall;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KiB`;
}

function ms(v: number | null): string {
  return v === null ? '(none written)' : `${v.toFixed(0)} ms`;
}

/** measureCoordinator runs measureCoordinatorOn for each store in turn (none when systems is 0). */
async function measureCoordinator(systems: number, stores: CoordinatorStore[]): Promise<CoordinatorRun> {
  const run: CoordinatorRun = {
    coordinator: null,
    coordinatorError: null,
    coordinatorPostgres: null,
    coordinatorPostgresError: null,
  };
  if (systems <= 0) return run;
  for (const store of stores) {
    const r = await measureCoordinatorOn(systems, store);
    if (store === 'sqlite') [run.coordinator, run.coordinatorError] = [r.result, r.error];
    else [run.coordinatorPostgres, run.coordinatorPostgresError] = [r.result, r.error];
  }
  return run;
}

/** measureCoordinatorOn times a policy change reaching systems simulated systems on one store
 * and prints it; a failed run is reported in the result rather than thrown. */
async function measureCoordinatorOn(
  systems: number,
  store: CoordinatorStore,
): Promise<{ result: CoordinatorBenchResult | null; error: string | null }> {
  const name = store === 'sqlite' ? 'coordinator' : 'coordinator (postgres, 2 instances)';
  progress(`${name}: ${systems} simulated systems, one policy change`);
  try {
    // WARREN_BENCH_COORDINATOR_NODE_ARGS passes node flags to the coordinator processes (for a
    // profile: "--cpu-prof --cpu-prof-dir=/tmp/prof"), split on spaces.
    const nodeArgs = (process.env.WARREN_BENCH_COORDINATOR_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    const c = await runCoordinatorBench({ systems, store, nodeArgs, progress: (s) => progress(`${name}: ${s}`) });
    const each = c.instances.map(
      (i, n) =>
        `${String.fromCharCode(65 + n)} RSS ${i.rssMiB.toFixed(0)} MiB (peak ${i.peakRssMiB.toFixed(0)}), ` +
        `CPU ${i.cpuSeconds.toFixed(2)} s, last pass ${i.serverPassMs.toFixed(0)} ms`,
    );
    if (c.instances.length > 1) process.stdout.write(`${name}: ${each.join('; ')}\n`);
    process.stdout.write(
      `${name}: ${c.received}/${c.systems} systems had the new map in p50 ${c.propagationMs.p50.toFixed(0)} ms, ` +
        `p99 ${c.propagationMs.p99.toFixed(0)} ms, max ${c.propagationMs.max.toFixed(0)} ms ` +
        `(target p99 ${c.targetMs} ms: ${c.targetMet ? 'met' : 'MISSED'}); ` +
        `RSS ${c.rssMiB.toFixed(0)} MiB (peak ${c.peakRssMiB.toFixed(0)}), heap ${c.heapUsedMiB.toFixed(0)} MiB, ` +
        `CPU ${c.cpuSeconds.toFixed(2)} s (${agentsCpu(c)}); the policy PUT answered in ${c.answeredMs.toFixed(0)} ms; ` +
        `the coordinator wrote the last delta ${ms(c.serverPushMs)} after the change\n` +
        `${name}: ${c.systems} systems enrolled in ${c.enrolSeconds.toFixed(1)} s (64 at a time); one more joined ` +
        `(answered in ${c.join.enrolMs.toFixed(0)} ms) and reached ${c.join.reached}/${c.join.peers} peers in ${c.join.joinMs.toFixed(0)} ms ` +
        `(the coordinator wrote the last peer's delta ${ms(c.serverJoinMs)} after the enrolment)\n` +
        `${name}: map bytes per change, sent against full maps: the join ${kib(c.join.bytes.sent)} against ` +
        `${kib(c.join.bytes.full)} (${c.join.bytes.deltas}/${c.join.reached} as deltas); the policy change ` +
        `${kib(c.changeBytes.sent)} against ${kib(c.changeBytes.full)} (${c.changeBytes.deltas}/${c.received} as deltas); ` +
        `${c.refetched} delta(s) refetched as full maps\n`,
    );
    return { result: c, error: null };
  } catch (e) {
    const error = (e as Error).message;
    process.stderr.write(`bench: ${name} run failed: ${error}\n`);
    return { result: null, error };
  }
}

/** agentsCpu says what the simulated agents' threads spent over the change; what taking the
 * events cost each is timed only with one agent thread (coordinator-watch.ts TIMED_EVERY). */
function agentsCpu(c: CoordinatorBenchResult): string {
  const t = c.agentTake;
  const all = `the agents ${c.agentCpuSeconds.toFixed(2)} s in ${c.agentThreads} thread(s), taking ${t.events} events`;
  if (c.agentThreads > 1) return all;
  return (
    `${all}: ${t.cpuSeconds.toFixed(2)} s, ${t.target.sumSeconds.toFixed(2)} s the new version's: ` +
    `p50 ${t.target.p50Us.toFixed(0)} µs, p99 ${t.target.p99Us.toFixed(0)} µs a watcher`
  );
}

/** writeReport writes the JSON report to --out (default .bench/latest.json) and returns its path. */
function writeReport(opts: BenchOptions, f: Figures): string {
  const out = opts.out ?? join(repoRoot(), '.bench', 'latest.json');
  mkdirSync(dirname(out), { recursive: true });
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, kernel: release(), node: process.version },
    options: {
      seconds: opts.seconds,
      parallel: opts.parallel,
      pings: opts.pings,
      exit: opts.exit,
      proxy: opts.proxy,
      relay: opts.relay,
      coordinatorSystems: opts.coordinatorSystems,
      coordinatorStores: opts.coordinatorStores,
    },
    raw: f.raw,
    results: f.results,
    errors: f.errors,
    ratios: f.ratios,
    exit: f.exit,
    proxy: f.proxy,
    relay: f.relay,
    families: f.families,
    firewall: f.firewall,
    coordinator: f.coordinator,
    coordinatorError: f.coordinatorError,
    coordinatorPostgres: f.coordinatorPostgres,
    coordinatorPostgresError: f.coordinatorPostgresError,
  };
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  return out;
}

/** anyFailed reports whether a tunnel or any part of the exit-node, proxy, relay or coordinator
 * runs failed. */
function anyFailed(f: Figures): boolean {
  const exitFailed = f.exit !== null && Object.keys(f.exit.errors).length > 0;
  const proxyFailed = f.proxy !== null && Object.keys(f.proxy.errors).length > 0;
  const relayFailed = f.relay !== null && f.relay.error !== null;
  const familiesFailed = f.families !== null && f.families.error !== null;
  return (
    Object.keys(f.errors).length > 0 ||
    exitFailed ||
    proxyFailed ||
    relayFailed ||
    familiesFailed ||
    f.coordinatorError !== null ||
    f.coordinatorPostgresError !== null
  );
}

process.exitCode = await main();
