// Command-line options of `npm run bench` (scripts/bench.ts).
import { parseArgs } from 'node:util';

/** Impl names the tunnels the benchmark compares: Warren in allow-all mode (a profile without
 * Policies), Warren in policy mode (default deny plus one policy that allows the test
 * traffic: the firewall's rule checks and connection tracking on every packet), Warren with its
 * UDP segmentation offloads off (WARREN_OFFLOAD=off: no GSO, no GRO), Warren with its TUN
 * offloads off (WARREN_TUN_OFFLOAD=off: no TSO super-packets read, no coalesced writes), Warren
 * with its crypto threads on and off whatever the default (WARREN_THREADS=on / off), Warren
 * with and without its wake ticker whatever the default (WARREN_WAKE_TICKER=on / off), Warren
 * with the kernel's default slice for its JS thread (WARREN_JS_SLICE=off), another Warren
 * (warren-alt: another build's CLI, WARREN_BENCH_ALT_CLI, and/or other node flags,
 * WARREN_BENCH_ALT_NODE_FLAGS, for an A/B in one interleaved run; all of these but the first
 * two only with --only), wireguard-go. */
export type Impl =
  | 'warren'
  | 'warren-policy'
  | 'warren-no-offload'
  | 'warren-no-tun-offload'
  | 'warren-threads'
  | 'warren-no-threads'
  | 'warren-ticker'
  | 'warren-no-ticker'
  | 'warren-no-slice'
  | 'warren-no-warm-up'
  | 'warren-alt'
  | 'wg-go';
/** IMPLS are the tunnels measured by default. */
export const IMPLS: readonly Impl[] = ['warren', 'warren-policy', 'wg-go'];
const ALL_IMPLS: readonly Impl[] = [
  'warren',
  'warren-policy',
  'warren-no-offload',
  'warren-no-tun-offload',
  'warren-threads',
  'warren-no-threads',
  'warren-ticker',
  'warren-no-ticker',
  'warren-no-slice',
  'warren-no-warm-up',
  'warren-alt',
  'wg-go',
];

/** BenchOptions: iperf duration, which tunnels, extra 4-stream run, number of pings. */
export interface BenchOptions {
  seconds: number;
  impls: Impl[];
  parallel: boolean;
  pings: number;
  out: string | undefined;
  /** exit runs the exit-node benchmark (Warren and wireguard-go, whatever --only says). */
  exit: boolean;
  /** proxy runs the proxy benchmark (egress and ingress against direct, whatever --only says). */
  proxy: boolean;
  /** relay runs the relay benchmark (direct against relayed, through two NAT routers). */
  relay: boolean;
  /** families runs warren-wg, wireguard-go and the whole helper over IPv4 and IPv6 inside and
   * outside, in familyRounds interleaved rounds. */
  families: boolean;
  familyRounds: number;
  /** rounds is how many interleaved rounds the main tunnel comparison runs (medians reported). */
  rounds: number;
  /** coordinatorSystems is how many simulated systems the coordinator run uses (0 skips it). */
  coordinatorSystems: number;
  /** coordinatorStores: the stores the coordinator run measures, in order (--coordinator-store). */
  coordinatorStores: ('sqlite' | 'postgres')[];
  /** alt is warren-alt's CLI (WARREN_BENCH_ALT_CLI, else this checkout's) and node flags
   * (WARREN_BENCH_ALT_NODE_FLAGS, else the launchers'), null unless that tunnel is measured. */
  alt: { cli?: string; nodeFlags?: string[] } | null;
  /** network is false for --only coordinator: no tunnels, exit, proxy, relay, families or
   * firewall runs, only the coordinator run (which needs no root and no namespaces). */
  network: boolean;
}

export const USAGE = `usage: npm run bench -- [--seconds N] [--only IMPL[,IMPL...]|coordinator] [--parallel] [--pings N] [--rounds N] [--no-exit] [--no-proxy] [--no-relay] [--no-families] [--family-rounds N] [--coordinator-systems N] [--coordinator-store sqlite|postgres|both] [--out FILE]
  --seconds N   iperf3 duration per run (default 10)
  --only IMPL[,IMPL...]  measure only these tunnels: warren, warren-policy, warren-no-offload
                (the helper with WARREN_OFFLOAD=off: no UDP or TUN offloads),
                warren-no-tun-offload (WARREN_TUN_OFFLOAD=off: UDP GSO/GRO but no TUN TSO or
                coalescing), warren-threads and warren-no-threads (WARREN_THREADS=on and
                off: crypto shared with worker threads or on the JS thread alone, whatever
                the default), warren-ticker and warren-no-ticker (WARREN_WAKE_TICKER=on
                and off: a thread keeping a CPU awake after a packet or none, whatever the
                default), warren-no-slice (WARREN_JS_SLICE=off:
                the kernel's default scheduler slice for the helper's JS thread),
                warren-no-warm-up (WARREN_WARM_UP=off: the device starts without first
                running its packet path in memory), warren-alt (the helper as another build, WARREN_BENCH_ALT_CLI=
                PATH of its dist/helper/src/cli/main.js, and/or its node run with the flags in
                WARREN_BENCH_ALT_NODE_FLAGS, space-separated, instead of the launchers' own
                PACKET_PATH_NODE_FLAGS; set at least one; e.g. WARREN_BENCH_ALT_NODE_FLAGS=
                --no-memory-reducer with --only warren,warren-alt,wg-go is an interleaved A/B
                of a flag, WARREN_BENCH_ALT_CLI=/work/main/dist/helper/src/cli/main.js one of
                this checkout against main) or wg-go (wireguard-go); e.g.
                --only warren,warren-no-tun-offload,warren-no-offload,wg-go shows each step;
                or only the coordinator run (--only coordinator: no namespaces, no root needed)
  --parallel    also measure iperf3 -P 4
  --pings N     pings at 10 ms intervals for the RTT figures (default 200; the table's
                "p99 settled" leaves out the first 100, a fresh helper's JIT warm-up, and
                needs at least 200)
  --rounds N    interleaved rounds of the tunnel comparison (default 3: round 1 in --only order,
                round 2 reversed, ...; every figure is the median of the rounds, throughput
                also with its range) and of the proxy run (--seconds split over the rounds)
  --no-exit     skip the exit-node run (client → printer through a Warren exit node and through
                wireguard-go with the same SNAT rule; it always measures both, regardless of --only)
  --no-proxy    skip the proxy run (throughput and connection rate through the egress proxy's
                CONNECT tunnel and the ingress forwarder of a Warren helper, against direct TCP)
  --no-relay    skip the relay run (two helpers behind two NAT routers: iperf3 over their direct
                path, then over the coordinator's relay once UDP between the routers is blocked)
  --no-families skip the address-family run (warren-wg and wireguard-go, both configured with
                wg(8), and the whole helper, over IPv4 and IPv6 inside and outside the tunnel)
  --family-rounds N  interleaved rounds of the address-family run (default 3; medians shown)
  --coordinator-systems N  simulated systems that enrol (64 at a time) with a real coordinator
                and watch it while a policy changes and one more system joins (default 2000;
                0 skips the run; 10000 is the scale target: enrolled in 60 s, p99 under 1 s)
  --coordinator-store sqlite|postgres|both  the coordinator run's store (default sqlite: one
                coordinator); postgres starts a throwaway PostgreSQL cluster (Debian's postgresql
                package, run as the postgres user, so root) and two coordinators sharing it, the
                systems split between them, the policy applied through the first and the join
                through the second; both runs SQLite, then PostgreSQL
  --out FILE    JSON report path (default .bench/latest.json in the checkout)
The NAT flood bench (forged registrations and discovery requests at a relay and a coordinator)
runs on its own: node dist/scripts/bench/nat-flood.js --help`;

function whole(name: string, v: string | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`--${name} must be ${min}..${max}`);
  return Number(v);
}

/** NODE_FLAG is one node option word: a flag, with a plain value if any (no spaces, no quoting). */
const NODE_FLAG = /^--[a-z][a-z0-9-]*(=[A-Za-z0-9_.,:=-]+)?$/;

/** altOf reads warren-alt's environment when it is measured: WARREN_BENCH_ALT_CLI, an absolute
 * path to a .js CLI, and WARREN_BENCH_ALT_NODE_FLAGS, space-separated node flags each checked
 * against NODE_FLAG (both end up on a command line run as root). */
function altOf(impls: Impl[], env: NodeJS.ProcessEnv): { cli?: string; nodeFlags?: string[] } | null {
  if (!impls.includes('warren-alt')) return null;
  const cli = env.WARREN_BENCH_ALT_CLI;
  const raw = env.WARREN_BENCH_ALT_NODE_FLAGS;
  if (cli === undefined && raw === undefined)
    throw new Error('warren-alt needs WARREN_BENCH_ALT_CLI or WARREN_BENCH_ALT_NODE_FLAGS (which may be empty)');
  if (cli !== undefined && !/^\/[\w./+-]+\.js$/.test(cli))
    throw new Error(`WARREN_BENCH_ALT_CLI: not an absolute path to a .js file: ${JSON.stringify(cli)}`);
  if (raw === undefined) return { cli: cli! };
  const nodeFlags = raw.split(/\s+/).filter((w) => w !== '');
  const bad = nodeFlags.find((f) => !NODE_FLAG.test(f));
  if (bad !== undefined) throw new Error(`WARREN_BENCH_ALT_NODE_FLAGS: not a node flag: ${JSON.stringify(bad)}`);
  return cli === undefined ? { nodeFlags } : { cli, nodeFlags };
}

/** parseBenchArgs parses argv (without node and script) and, for warren-alt, env; it
 * throws with a usage message. */
export function parseBenchArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string' },
      only: { type: 'string' },
      parallel: { type: 'boolean' },
      pings: { type: 'string' },
      out: { type: 'string' },
      'no-exit': { type: 'boolean' },
      'no-proxy': { type: 'boolean' },
      'no-relay': { type: 'boolean' },
      'no-families': { type: 'boolean' },
      'family-rounds': { type: 'string' },
      rounds: { type: 'string' },
      'coordinator-systems': { type: 'string' },
      'coordinator-store': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  let impls: Impl[] = [...IMPLS];
  const network = values.only !== 'coordinator';
  if (!network) impls = [];
  else if (values.only !== undefined) {
    impls = values.only.split(',').map((name) => {
      const only = ALL_IMPLS.find((i) => i === name.trim());
      if (only === undefined) throw new Error(`--only must be one or more of ${ALL_IMPLS.join(', ')}, or coordinator`);
      return only;
    });
    impls = [...new Set(impls)];
  }
  return {
    seconds: whole('seconds', values.seconds, 10, 1, 600),
    impls,
    parallel: values.parallel === true,
    pings: whole('pings', values.pings, 200, 10, 100_000),
    out: values.out,
    exit: values['no-exit'] !== true,
    proxy: values['no-proxy'] !== true,
    relay: values['no-relay'] !== true,
    families: values['no-families'] !== true,
    familyRounds: whole('family-rounds', values['family-rounds'], 3, 1, 20),
    rounds: whole('rounds', values.rounds, 3, 1, 20),
    coordinatorSystems: whole('coordinator-systems', values['coordinator-systems'], 2000, network ? 0 : 1, 20_000),
    coordinatorStores: stores(values['coordinator-store']),
    alt: altOf(impls, env),
    network,
  };
}

function stores(v: string | undefined): ('sqlite' | 'postgres')[] {
  if (v === undefined || v === 'sqlite') return ['sqlite'];
  if (v === 'postgres') return ['postgres'];
  if (v === 'both') return ['sqlite', 'postgres'];
  throw new Error('--coordinator-store must be sqlite, postgres or both');
}
