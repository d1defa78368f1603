// AddressWatch: notices when this machine's interface addresses change (a laptop moves to
// another network, an IPv6 address arrives after boot, DHCP hands out a new lease) so the helper
// reports fresh candidates to its coordinator instead of advertising stale ones until the next
// reconnect.
//
// Two sources of "something may have changed": a netlink monitor child (`ip monitor address`,
// which prints a line for every RTM_NEWADDR / RTM_DELADDR, including the one sent when an IPv6
// address finishes duplicate address detection), and a slow periodic re-read as a safety net for
// when the monitor cannot run or misses something. Neither's output is trusted for content: any
// event only schedules a re-read of the interface list, which is compared with what was last
// reported. Bursts (a network change adds and removes several addresses within milliseconds)
// are debounced into one check, and reports are spaced at least minGapMs apart.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../../../src-shared/lib/log.js';

/** ADDRESS_WATCH holds the default timings (ms). */
export const ADDRESS_WATCH = {
  /** debounceMs: quiet time after the last event before the addresses are re-read. */
  debounceMs: 750,
  /** minGapMs: least time between two reports, however often addresses change. */
  minGapMs: 3_000,
  /** pollMs: the safety re-read, even without any event. */
  pollMs: 30_000,
  /** restartMs / maxRestartMs: backoff for restarting a monitor child that exited. */
  restartMs: 2_000,
  maxRestartMs: 60_000,
} as const;

/** MONITOR_COMMAND prints a line whenever an address is added, removed or changes flags. */
export const MONITOR_COMMAND: readonly string[] = ['ip', 'monitor', 'address'];

export interface AddressWatchOptions {
  /** read returns the current report (addresses and port) as comparable text and its value. */
  read(): { key: string; value: unknown };
  /** report sends the value; it resolves true when the coordinator took it. */
  report(value: unknown): Promise<boolean>;
  log: Logger;
  /** monitor is the command to run, or null for the periodic re-read alone. */
  monitor?: readonly string[] | null;
  debounceMs?: number;
  minGapMs?: number;
  pollMs?: number;
  restartMs?: number;
}

/** AddressWatch runs from start() to stop(); reported() tells it what the coordinator has. */
export class AddressWatch {
  private lastKey: string | null = null;
  private lastReportAt = -Infinity;
  private debounce: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  private restart: NodeJS.Timeout | null = null;
  private child: ChildProcess | null = null;
  private restartDelay: number;
  private running = false;
  private checking = false;
  private again = false;
  /** reports counts reports sent because addresses changed (for tests and status). */
  reports = 0;

  constructor(private readonly o: AddressWatchOptions) {
    this.restartDelay = o.restartMs ?? ADDRESS_WATCH.restartMs;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const pollMs = this.o.pollMs ?? ADDRESS_WATCH.pollMs;
    this.poll = setInterval(() => this.changed(), pollMs);
    this.poll.unref();
    const cmd = this.o.monitor === undefined ? MONITOR_COMMAND : this.o.monitor;
    if (cmd !== null) this.spawnMonitor(cmd);
  }

  stop(): void {
    this.running = false;
    for (const t of [this.debounce, this.restart]) if (t) clearTimeout(t);
    if (this.poll) clearInterval(this.poll);
    this.debounce = this.restart = this.poll = null;
    const c = this.child;
    this.child = null;
    c?.kill('SIGTERM');
  }

  /** reported records what the coordinator now holds (the runtime reports on every connect). */
  reported(key: string | null): void {
    this.lastKey = key;
  }

  /** changed: something may have changed; check once the burst is over. */
  changed(): void {
    if (!this.running) return;
    if (this.debounce) clearTimeout(this.debounce);
    const wait = Math.max(this.o.debounceMs ?? ADDRESS_WATCH.debounceMs, this.gapLeft());
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.check();
    }, wait);
    this.debounce.unref();
  }

  private gapLeft(): number {
    return Math.max(0, this.lastReportAt + (this.o.minGapMs ?? ADDRESS_WATCH.minGapMs) - Date.now());
  }

  // check re-reads the addresses and reports them if they differ from what was reported. One
  // check at a time; an event during a check runs another after it.
  private async check(): Promise<void> {
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = true;
    try {
      const now = this.o.read();
      if (now.key === this.lastKey || !this.running) return;
      if (this.gapLeft() > 0) return this.changed();
      this.lastReportAt = Date.now();
      this.reports++;
      if (await this.o.report(now.value)) this.lastKey = now.key;
    } catch (e) {
      this.o.log.warn(`interface addresses not re-read: ${(e as Error).message}`);
    } finally {
      this.checking = false;
      if (this.again) {
        this.again = false;
        this.changed();
      }
    }
  }

  // spawnMonitor runs the monitor; its output is never kept (each chunk is only a signal, so
  // nothing it prints can grow a buffer). A monitor that exits is restarted with backoff.
  private spawnMonitor(cmd: readonly string[]): void {
    let child: ChildProcess;
    try {
      child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    } catch (e) {
      this.monitorGone(cmd, (e as Error).message);
      return;
    }
    this.child = child;
    const started = Date.now();
    child.stdout?.on('data', () => this.changed());
    child.on('error', (e) => this.monitorGone(cmd, e.message, child));
    child.on('exit', (code, signal) => {
      // Ran long enough to count as healthy: the next restart starts from the short delay.
      if (Date.now() - started > ADDRESS_WATCH.maxRestartMs)
        this.restartDelay = this.o.restartMs ?? ADDRESS_WATCH.restartMs;
      this.monitorGone(cmd, `exited (${signal ?? code})`, child);
    });
  }

  private monitorGone(cmd: readonly string[], why: string, child?: ChildProcess): void {
    if (child !== undefined && this.child !== child) return; // already handled, or stopped
    this.child = null;
    if (!this.running || this.restart) return;
    this.o.log.warn(
      `address monitor ${cmd.join(' ')} ${why}; re-reading every ${(this.o.pollMs ?? ADDRESS_WATCH.pollMs) / 1000} s, restarting it in ${this.restartDelay / 1000} s`,
    );
    this.restart = setTimeout(() => {
      this.restart = null;
      if (!this.running) return;
      this.changed(); // something may have changed while nothing watched
      this.spawnMonitor(cmd);
    }, this.restartDelay);
    this.restart.unref();
    this.restartDelay = Math.min(this.restartDelay * 2, ADDRESS_WATCH.maxRestartMs);
  }
}
