// An in-memory exit node for tests (DESIGN.md convention 2): it keeps the exit nodes that are
// set up (what the nft table and ip_forward would hold) and records every call in order.
import { formatIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { ExitNode, ExitNodeDriver, ExitNodeOptions } from './index.js';

/** FAKE_LAN and FAKE_LAN_ADDRESS are where the fake says every provided route leaves. */
export const FAKE_LAN = 'lan0';
export const FAKE_LAN_ADDRESS = '192.0.2.1';
/** FAKE_LAN_ADDRESS6 is the fake's source address for IPv6 routes. */
export const FAKE_LAN_ADDRESS6 = '2001:db8::1';

/** FakeExitNodes is an ExitNodeDriver whose machine state is the active set. */
export class FakeExitNodes implements ExitNodeDriver {
  readonly active = new Set<ExitNode>();
  readonly recovered: string[] = [];
  /** unsolicitedDropped is what every node's counters() reports. */
  unsolicitedDropped = 0;
  /** failApply, when set, is what the next apply() throws (once). */
  failApply: Error | null = null;

  /** calls may be shared with the other fakes, so a test sees the order across all of them. */
  constructor(readonly calls: string[] = []) {}

  async apply(opts: ExitNodeOptions): Promise<ExitNode> {
    const cidrs = opts.routes.map(formatIpPrefix);
    this.calls.push(`exit node on ${cidrs.join(',')}`);
    const fail = this.failApply;
    this.failApply = null;
    if (fail !== null) throw fail;
    const node: ExitNode = {
      routes: opts.routes.map((r, i) => ({
        cidr: cidrs[i]!,
        via: FAKE_LAN,
        snatTo: r.addr.family === 6 ? FAKE_LAN_ADDRESS6 : FAKE_LAN_ADDRESS,
      })),
      table: `warren_exit_${opts.adapter}`,
      counters: async () => ({ unsolicitedDropped: this.unsolicitedDropped }),
      undo: async () => {
        if (!this.active.delete(node)) return;
        this.calls.push(`exit node off ${cidrs.join(',')}`);
      },
    };
    this.active.add(node);
    return node;
  }

  async recover(stateDir: string): Promise<void> {
    this.calls.push('exit node recover');
    this.recovered.push(stateDir);
  }
}
