// The helper's nameserver as the daemon runs it: it listens on the virtual address port 53 (and
// on the virtual IPv6 address when the adapter carries one),
// answers from a zone rebuilt whenever the policy changes (so names appear and vanish with
// reachability), and wires the zone into the system resolver with split DNS.
import type { DnsSummary } from '../../../src-shared/wire/status.js';
import { buildZone, type Zone } from '../dns/zone.js';
import type { DnsServer, DnsServerOptions, DnsServerStats } from '../dns/server.js';
import type { SplitDns, SplitDnsDriver } from '../dns/split/index.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import type { PolicyRuntime } from './policy-runtime.js';

/** DnsRuntime is the running nameserver and its resolver integration. */
export interface DnsRuntime {
  summary(): DnsSummary;
  /** resolve answers a name from the zone: its addresses, [] if the zone does not name it for
   * this system, or null if the name is outside the zone. */
  resolve(name: string): string[] | null;
  /** stats are the nameserver's counters (messages by outcome; never names). */
  stats(): DnsServerStats;
  close(): Promise<void>;
}

/** startDns starts the nameserver on address:53 and applies split DNS for the zone. startServer
 * and splitDns are the OS seams (the daemon's DaemonEnv). */
export async function startDns(opts: {
  address: string;
  /** address6 is this system's IPv6 address as the adapter carries it (AAAA for its own names), or null. */
  address6: string | null;
  adapter: string;
  stateDir: string;
  policy: PolicyRuntime;
  log: Logger;
  verbosity: number;
  startServer: (o: DnsServerOptions) => Promise<DnsServer>;
  splitDns: SplitDnsDriver;
}): Promise<DnsRuntime> {
  const { policy, log } = opts;
  const build = (): Zone => {
    const p = policy.current;
    const zone = buildZone({
      zone: p.dns.zone,
      self: { identity: p.identity, address: p.virtualAddress, address6: opts.address6, names: [], tags: p.tags },
      reachable: policy.reachable(),
    });
    for (const line of zone.skipped) log.warn(`DNS: ${line}`);
    return zone;
  };
  let zone = build();
  policy.onChange = () => {
    zone = build();
  };
  let server: DnsServer;
  try {
    server = await opts.startServer({
      address: opts.address,
      address6: opts.address6,
      port: 53,
      log,
      zone: () => zone,
      logQueries: policy.current.dns.logQueries && opts.verbosity >= 5,
    });
  } catch (e) {
    policy.onChange = null;
    throw new Error(`cannot start the DNS server on ${opts.address}:53: ${(e as Error).message}`);
  }
  // The system resolver is pointed at the IPv4 address only: every system has one, and a
  // resolver that knows one address of a server gains nothing from a second route to it.
  let split: SplitDns;
  try {
    split = await opts.splitDns.apply({
      adapter: opts.adapter,
      address: opts.address,
      zone: policy.current.dns.zone,
      stateDir: opts.stateDir,
      log,
    });
  } catch (e) {
    // Names still resolve with `dig @address`; only the OS integration is missing.
    log.warn(`split DNS not applied: ${(e as Error).message}`);
    split = { kind: 'none', undo: async () => {} };
  }
  const on = server.address6 === null ? `${opts.address}:53` : `${opts.address}:53 and [${server.address6}]:53`;
  log.info(`DNS: ${policy.current.dns.zone} on ${on} (${split.kind})`);
  return {
    summary: () => ({ zone: policy.current.dns.zone, address: opts.address, integration: split.kind }),
    stats: () => server.stats(),
    resolve(name) {
      // IPv4 only: the egress proxy dials what this returns, and its callers expect a.b.c.d.
      const r = zone.lookup(name, 'A');
      if (r.rcode === 'SERVFAIL') return null;
      return r.rcode === 'NOERROR' ? [...r.addresses] : [];
    },
    async close() {
      policy.onChange = null;
      await split.undo();
      await server.close();
    },
  };
}
