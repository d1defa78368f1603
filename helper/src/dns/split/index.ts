// Split DNS: route only Warren's zone to Warren's nameserver, one
// implementation per OS behind this factory (DESIGN.md convention 2). Linux is implemented.
import type { Logger } from '../../../../src-shared/lib/log.js';
import type { CommandRunner } from '../../../../src-shared/lib/command.js';

// Re-exported so that tests and fakes build a SplitDnsEnv from this module alone.
export type { CommandResult, CommandRunner } from '../../../../src-shared/lib/command.js';

/** SplitDnsKind is the integration in use, shown by `warren status`. */
export type SplitDnsKind = 'systemd-resolved' | 'resolv.conf' | 'none';

/** SplitDnsEnv holds what tests replace; the defaults are the real machine. */
export interface SplitDnsEnv {
  run?: CommandRunner;
  /** resolvConfPath defaults to /etc/resolv.conf. */
  resolvConfPath?: string;
  /** resolvedRunDir exists while systemd-resolved runs; defaults to /run/systemd/resolve. */
  resolvedRunDir?: string;
  /** sameNetnsAsInit says whether we share PID 1's network namespace, where resolved runs. */
  sameNetnsAsInit?: () => boolean;
}

/** SplitDnsOptions is what the daemon passes once the adapter and the DNS server are up. */
export interface SplitDnsOptions extends SplitDnsEnv {
  adapter: string;
  address: string;
  zone: string;
  stateDir: string;
  log: Logger;
}

/** SplitDns is an applied integration; undo reverts it and is safe to call twice. */
export interface SplitDns {
  readonly kind: SplitDnsKind;
  undo(): Promise<void>;
}

/** applySplitDns routes the zone to address on this OS; failures degrade to kind 'none'. */
export async function applySplitDns(opts: SplitDnsOptions): Promise<SplitDns> {
  switch (process.platform) {
    case 'linux': {
      const { applyLinuxSplitDns } = await import('./split-linux.js');
      return applyLinuxSplitDns(opts);
    }
    default:
      opts.log.warn(
        `split DNS is not supported on ${process.platform} yet; Warren names resolve only with \`dig @${opts.address}\``,
      );
      return { kind: 'none', undo: async () => undefined };
  }
}

/** recoverSplitDns undoes what a helper that did not stop cleanly left in the resolver setup. */
export async function recoverSplitDns(stateDir: string, log: Logger, env: SplitDnsEnv = {}): Promise<void> {
  if (process.platform !== 'linux') return;
  const { recoverLinuxSplitDns } = await import('./split-linux.js');
  await recoverLinuxSplitDns(stateDir, log, env);
}

/** SplitDnsDriver is split DNS as the daemon uses it: this machine's (applySplitDns and
 * recoverSplitDns choose by process.platform), or split-fake.ts in tests. */
export interface SplitDnsDriver {
  apply(opts: SplitDnsOptions): Promise<SplitDns>;
  recover(stateDir: string, log: Logger): Promise<void>;
}

/** systemSplitDns is this machine's split DNS. */
export const systemSplitDns: SplitDnsDriver = {
  apply: (opts) => applySplitDns(opts),
  recover: (stateDir, log) => recoverSplitDns(stateDir, log),
};
