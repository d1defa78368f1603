// `npm run bench`: Warren against wireguard-go (and the bare veth, for context) between two
// network namespaces: iperf3 TCP throughput, ping RTT, CPU time and peak memory of the tunnel
// processes. Then the exit-node run: client → printer through a Warren exit node and
// through wireguard-go with the same SNAT rule (scripts/bench/exit.ts), and the proxies:
// throughput and connection rate through a helper's egress CONNECT tunnel and ingress forwarder
// against direct TCP (scripts/bench/proxy.ts), and a coordinator pushing a policy change to 2,000
// simulated systems (scripts/bench/coordinator.ts), and the relay: throughput between two
// helpers behind NAT over their direct path and through the relay (scripts/bench/relay.ts). Prints tables and the ratios; writes
// .bench/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join } from 'node:path';
import { Topology, missingRequirement, pairLayout, repoRoot } from '../e2e/netns/index.js';
import { measureRaw, measureTunnel, type Measurement } from './bench/measure.js';
import { USAGE, parseBenchArgs, type Impl } from './bench/options.js';
import { exitTable, proxyTable, ratioLines, ratios, table } from './bench/report.js';
import { measureExit, type ExitResult } from './bench/exit.js';
import { measureProxy, type ProxyResult } from './bench/proxy.js';
import { measureRelay, relayLines, type RelayResult } from './bench/relay.js';
import { runCoordinatorBench, type CoordinatorBenchResult } from './bench/coordinator.js';
import { runFirewallBench } from '../helper/src/firewall/firewall.bench.js';

function progress(s: string): void {
  process.stdout.write(`==> ${s}\n`);
}

async function main(): Promise<number> {
  let opts;
  try {
    opts = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  // The exit-node run compares both tunnels whatever --only says, so it needs both, and nft.
  const needs = missingRequirement({
    binaries: [
      'iperf3',
      'ping',
      ...(opts.impls.includes('wg-go') || opts.exit ? ['wireguard-go', 'wg'] : []),
      ...(opts.exit ? ['nft'] : []),
    ],
    warren: opts.exit || opts.proxy || opts.impls.some((i) => i !== 'wg-go'),
  });
  if (needs !== undefined) {
    process.stderr.write(`bench: cannot run: ${needs}\n`);
    return 1;
  }

  const topo = Topology.create();
  const results: Partial<Record<Impl, Measurement>> = {};
  const errors: Partial<Record<Impl, string>> = {};
  let raw: Measurement;
  let exit: ExitResult | null = null;
  let proxy: ProxyResult | null = null;
  let relay: RelayResult | null = null;
  try {
    progress(`namespaces ${topo.prefix}-a and ${topo.prefix}-b over veth`);
    const l = await pairLayout(topo);
    progress('raw veth');
    raw = await measureRaw(l, opts, (s) => progress(`raw veth: ${s}`));
    for (const impl of opts.impls) {
      try {
        results[impl] = await measureTunnel(impl, l, opts, (s) => progress(`${impl}: ${s}`));
      } catch (e) {
        errors[impl] = (e as Error).message;
        process.stderr.write(`bench: ${impl} failed: ${(e as Error).message}\n`);
      }
    }
    // In the same topology, so the one destroy below also removes the exit run's namespaces.
    if (opts.exit) exit = await measureExit(topo, opts, (s) => progress(`exit node: ${s}`));
    if (opts.proxy) proxy = await measureProxy(topo, opts, (s) => progress(`proxy: ${s}`));
    if (opts.relay) relay = await measureRelay(topo, opts, (s) => progress(`relay: ${s}`));
  } finally {
    progress('cleaning up');
    await topo.destroy();
  }

  const rows: [string, Measurement][] = [['raw veth', raw]];
  for (const impl of opts.impls) {
    const m = results[impl];
    if (m) rows.push([impl, m]);
  }
  process.stdout.write(`\n${table(rows)}\n`);
  const r = ratios(results);
  if (r) process.stdout.write(`\n${ratioLines(r)}\n`);
  if (exit) process.stdout.write(`\n${exitTable(exit)}\n`);
  if (proxy) process.stdout.write(`\n${proxyTable(proxy)}\n`);
  if (relay) process.stdout.write(`\n${relayLines(relay)}\n`);
  process.stdout.write('\n');
  progress('firewall decisions (10,000 policies, 100,000 flows)');
  const firewall = runFirewallBench();
  process.stdout.write(
    `firewall: compile ${firewall.compileMs.toFixed(0)} ms; tracked ${(firewall.trackedPerSec / 1e6).toFixed(1)} M/s, ` +
      `new allowed ${(firewall.newAllowedPerSec / 1e6).toFixed(1)} M/s, denied ${(firewall.deniedPerSec / 1e6).toFixed(1)} M/s\n`,
  );

  let coordinator: CoordinatorBenchResult | null = null;
  let coordinatorError: string | null = null;
  if (opts.coordinatorSystems > 0) {
    progress(`coordinator: ${opts.coordinatorSystems} simulated systems, one policy change`);
    try {
      coordinator = await runCoordinatorBench({
        systems: opts.coordinatorSystems,
        progress: (s) => progress(`coordinator: ${s}`),
      });
      const c = coordinator;
      process.stdout.write(
        `coordinator: ${c.received}/${c.systems} systems had the new map in p50 ${c.propagationMs.p50.toFixed(0)} ms, ` +
          `p99 ${c.propagationMs.p99.toFixed(0)} ms, max ${c.propagationMs.max.toFixed(0)} ms (target ${c.targetMs} ms: ${c.targetMet ? 'met' : 'MISSED'}); ` +
          `RSS ${c.rssMiB.toFixed(0)} MiB (peak ${c.peakRssMiB.toFixed(0)}), heap ${c.heapUsedMiB.toFixed(0)} MiB, CPU ${c.cpuSeconds.toFixed(2)} s\n`,
      );
    } catch (e) {
      coordinatorError = (e as Error).message;
      process.stderr.write(`bench: coordinator run failed: ${coordinatorError}\n`);
    }
  }

  const out = opts.out ?? join(repoRoot(), '.bench', 'latest.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
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
        },
        raw,
        results,
        errors,
        ratios: r,
        exit,
        proxy,
        relay,
        firewall,
        coordinator,
        coordinatorError,
      },
      null,
      2,
    ) + '\n',
  );
  process.stdout.write(`\nwrote ${out}\n`);
  const exitFailed = exit !== null && Object.keys(exit.errors).length > 0;
  const proxyFailed = proxy !== null && Object.keys(proxy.errors).length > 0;
  const relayFailed = relay !== null && relay.error !== null;
  return Object.keys(errors).length > 0 || exitFailed || proxyFailed || relayFailed || coordinatorError !== null
    ? 1
    : 0;
}

process.exitCode = await main();
