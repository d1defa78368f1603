// The exit-node benchmark: TCP throughput from a client to a "printer" on an exit node's LAN, once
// through a Warren exit node and once through wireguard-go with the same forwarding and SNAT
// set up by hand, so the figure isolates what Warren's data path costs against the reference.
//
//   client (192.0.2.1) --veth-- exit (192.0.2.10 | 198.51.100.1) --veth-- printer (198.51.100.10)
//
// The client has no route to 198.51.100.0/24 except through its tunnel, so iperf3 traffic can
// only take the measured path. Both runs share the namespaces; each tunnel is stopped (and the
// hand-made nft table removed) before the next starts. The topology removes everything.
import {
  genKeyPair,
  iperf3,
  ping,
  procStats,
  startWarren,
  startWireguardGo,
  waitForPing,
  warrenProfile,
  type Namespace,
  type Topology,
} from '../../e2e/netns/index.js';
import { identityFromPublicKey } from '../../src-shared/lib/identity.js';
import type { BenchOptions } from './options.js';

const LAN = '198.51.100.0/24';
const EXIT_LAN_IP = '198.51.100.1';
const PRINTER = '198.51.100.10';
const OVERLAY = '100.64.0.0/10';
const CLIENT = { vip: '100.64.0.1', ip: '192.0.2.1' };
const EXIT = { vip: '100.64.0.10', ip: '192.0.2.10' };
const PORT = 51820;
/** NFT_TABLE is the wireguard-go run's own table, named apart from Warren's warren_exit_*. */
const NFT_TABLE = 'benchnat';

/** ExitImpl names the two exit nodes compared. */
export type ExitImpl = 'warren' | 'wg-go';
export const EXIT_IMPLS: readonly ExitImpl[] = ['warren', 'wg-go'];

/** ExitMeasurement is one iperf3 run client → printer through one exit node. */
export interface ExitMeasurement {
  throughputMbps: number;
  retransmits: number;
  /** cpuSeconds is user+system CPU of the tunnel processes during the iperf3 run. */
  cpuSeconds: { client: number; exit: number };
}

/** ExitResult holds both runs; ratio is warren/wg-go throughput when both ran. */
export interface ExitResult {
  results: Partial<Record<ExitImpl, ExitMeasurement>>;
  errors: Partial<Record<ExitImpl, string>>;
  ratio: number | null;
}

interface ExitLayout {
  client: Namespace;
  exit: Namespace;
  printer: Namespace;
  /** lanIf is the exit's interface towards the printer (the SNAT rule's oifname). */
  lanIf: string;
}

/** Tunnel is a started client + exit pair. */
interface Tunnel {
  pids: { client: number; exit: number };
  stop(): Promise<void>;
}

async function buildLayout(topo: Topology): Promise<ExitLayout> {
  const client = await topo.addNamespace('xcl');
  const exit = await topo.addNamespace('xex');
  const printer = await topo.addNamespace('xpr');
  await topo.link(client, exit, `${CLIENT.ip}/24`, `${EXIT.ip}/24`);
  const lan = await topo.link(exit, printer, `${EXIT_LAN_IP}/24`, `${PRINTER}/24`);
  // No route from the printer back to the overlay: with SNAT it only ever answers the exit
  // node's LAN address, and without SNAT the run would fail instead of silently measuring.
  return { client, exit, printer, lanIf: lan.aIf };
}

async function startWarrenExit(l: ExitLayout): Promise<Tunnel> {
  const kc = genKeyPair();
  const ke = genKeyPair();
  const topo = l.client.topo;
  const exitId = identityFromPublicKey(Buffer.from(ke.publicKey, 'base64'));
  // No Policies on either side: allow-all mode, the counterpart of plain wireguard-go.
  const e = await startWarren(
    l.exit,
    {
      ...warrenProfile({
        keys: ke,
        listenPort: PORT,
        virtualAddress: EXIT.vip,
        adapter: topo.ifname('w'),
        peers: [
          {
            name: 'client',
            publicKey: kc.publicKey,
            endpoint: `${CLIENT.ip}:${PORT}`,
            allowedIps: [`${CLIENT.vip}/32`],
          },
        ],
      }),
      ExitNode: { ProvidesRoutes: [LAN] },
    },
    { name: 'bench-exit-warren-exit', verbosity: 0 },
  );
  try {
    const c = await startWarren(
      l.client,
      {
        ...warrenProfile({
          keys: kc,
          listenPort: PORT,
          virtualAddress: CLIENT.vip,
          adapter: topo.ifname('w'),
          peers: [
            { name: 'exit', publicKey: ke.publicKey, endpoint: `${EXIT.ip}:${PORT}`, allowedIps: [`${EXIT.vip}/32`] },
          ],
        }),
        ExitNode: { AvailableRoutes: { [exitId]: [LAN] } },
      },
      { name: 'bench-exit-warren-client', verbosity: 0 },
    );
    return {
      pids: { client: c.pid, exit: e.pid },
      stop: async () => {
        await Promise.all([c.stop(), e.stop()]);
      },
    };
  } catch (err) {
    await e.stop();
    throw err;
  }
}

/** wgGoNftScript is the same postrouting SNAT rule and forward-chain drop rule Warren installs
 * (helper/src/exitnode/nft.ts), so both exit nodes pay for the same netfilter work. */
function wgGoNftScript(wgIf: string, lanIf: string): string {
  return [
    `table ip ${NFT_TABLE} {`,
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr ${OVERLAY} ip daddr ${LAN} oifname "${lanIf}" counter snat to ${EXIT_LAN_IP}`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    iifname != "${wgIf}" ip daddr ${OVERLAY} ct state new counter drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}

async function startWgGoExit(l: ExitLayout): Promise<Tunnel> {
  const kc = genKeyPair();
  const ke = genKeyPair();
  const e = await startWireguardGo(l.exit, {
    privateKey: ke.privateKey,
    listenPort: PORT,
    address: `${EXIT.vip}/10`,
    peers: [{ publicKey: kc.publicKey, endpoint: `${CLIENT.ip}:${PORT}`, allowedIps: [`${CLIENT.vip}/32`] }],
  });
  let c: Awaited<ReturnType<typeof startWireguardGo>> | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all([c?.stop(), e.stop()]);
    // Undo the exit's hand-made state too, so a later run in these namespaces starts clean.
    await l.exit.exec(['nft', 'delete', 'table', 'ip', NFT_TABLE], { allowFailure: true });
    await l.exit.exec(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0'], { allowFailure: true });
  };
  try {
    c = await startWireguardGo(l.client, {
      privateKey: kc.privateKey,
      listenPort: PORT,
      address: `${CLIENT.vip}/10`,
      peers: [{ publicKey: ke.publicKey, endpoint: `${EXIT.ip}:${PORT}`, allowedIps: [`${EXIT.vip}/32`, LAN] }],
    });
    // wg's AllowedIPs only filter; the kernel still needs the route into the interface.
    await l.client.exec(['ip', 'route', 'add', LAN, 'dev', c.ifname]);
    await l.exit.exec(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    await l.exit.exec(['nft', '-f', '-'], { input: wgGoNftScript(e.ifname, l.lanIf) });
    return { pids: { client: c.pid, exit: e.pid }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function measureOne(
  impl: ExitImpl,
  l: ExitLayout,
  o: BenchOptions,
  progress: (s: string) => void,
): Promise<ExitMeasurement> {
  progress(`starting ${impl} on client and exit`);
  const t = impl === 'warren' ? await startWarrenExit(l) : await startWgGoExit(l);
  try {
    await waitForPing(l.client, PRINTER, 20_000);
    await ping(l.client, PRINTER, { count: 20, interval: 0.01 }); // warm up: handshake done, conntrack/NAT entries made
    progress(`iperf3 client → printer, 1 stream, ${o.seconds} s`);
    const before = { client: procStats(t.pids.client), exit: procStats(t.pids.exit) };
    const r = await iperf3(l.printer, l.client, PRINTER, o.seconds);
    const after = { client: procStats(t.pids.client), exit: procStats(t.pids.exit) };
    return {
      throughputMbps: r.receivedBps / 1e6,
      retransmits: r.retransmits,
      cpuSeconds: {
        client: after.client.cpuSeconds - before.client.cpuSeconds,
        exit: after.exit.cpuSeconds - before.exit.cpuSeconds,
      },
    };
  } finally {
    progress(`stopping ${impl}`);
    await t.stop();
  }
}

/** measureExit builds the client/exit/printer namespaces in topo and measures both exit nodes
 * in turn. A failing run is recorded in errors and does not stop the other. */
export async function measureExit(topo: Topology, o: BenchOptions, progress: (s: string) => void): Promise<ExitResult> {
  progress(`namespaces ${topo.prefix}-xcl, -xex, -xpr (client, exit node, printer)`);
  const l = await buildLayout(topo);
  const out: ExitResult = { results: {}, errors: {}, ratio: null };
  for (const impl of EXIT_IMPLS) {
    try {
      out.results[impl] = await measureOne(impl, l, o, (s) => progress(`${impl}: ${s}`));
    } catch (e) {
      out.errors[impl] = (e as Error).message;
      process.stderr.write(`bench: exit node ${impl} failed: ${(e as Error).message}\n`);
    }
  }
  const w = out.results.warren;
  const g = out.results['wg-go'];
  if (w && g) out.ratio = w.throughputMbps / g.throughputMbps;
  return out;
}
