// In-memory split DNS for tests (DESIGN.md convention 2): it keeps which zone goes to which
// nameserver on which adapter, as the resolver would, and records every call in order.
import type { SplitDns, SplitDnsDriver, SplitDnsKind, SplitDnsOptions } from './index.js';

/** FakeSplitDns is a SplitDnsDriver whose resolver configuration is the active map. */
export class FakeSplitDns implements SplitDnsDriver {
  /** active maps an adapter to the zone routed to Warren's nameserver through it. */
  readonly active = new Map<string, { address: string; zone: string }>();
  readonly recovered: string[] = [];
  /** kind is the integration apply reports. */
  kind: SplitDnsKind = 'systemd-resolved';
  /** failApply, when set, is what the next apply() throws (once). */
  failApply: Error | null = null;

  /** calls may be shared with the other fakes, so a test sees the order across all of them. */
  constructor(readonly calls: string[] = []) {}

  async apply(opts: SplitDnsOptions): Promise<SplitDns> {
    this.calls.push(`split dns on ${opts.adapter} ${opts.zone}`);
    const fail = this.failApply;
    this.failApply = null;
    if (fail !== null) throw fail;
    this.active.set(opts.adapter, { address: opts.address, zone: opts.zone });
    let undone = false;
    return {
      kind: this.kind,
      undo: async () => {
        if (undone) return;
        undone = true;
        this.calls.push(`split dns off ${opts.adapter}`);
        this.active.delete(opts.adapter);
      },
    };
  }

  async recover(stateDir: string): Promise<void> {
    this.calls.push('split dns recover');
    this.recovered.push(stateDir);
  }
}
