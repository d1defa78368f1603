// CPU time and peak memory of a process, from /proc (proc(5)).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** ProcStats: CPU seconds (user + system) so far and peak resident set size. */
export interface ProcStats {
  cpuSeconds: number;
  peakRssKiB: number;
}

let clkTck: number | undefined;

function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** parseStat returns utime + stime in ticks from /proc/PID/stat text. The command name (field 2)
 * may contain spaces and parentheses, so fields are counted after its last ')'. */
export function parseStatTicks(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  return Number(rest[11]) + Number(rest[12]);
}

/** parseVmHwm returns VmHWM in KiB from /proc/PID/status text, or NaN. */
export function parseVmHwm(status: string): number {
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) : NaN;
}

/** procStats reads the CPU seconds and peak RSS of pid; it throws if the process is gone. */
export function procStats(pid: number): ProcStats {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { cpuSeconds: parseStatTicks(stat) / ticksPerSecond(), peakRssKiB: parseVmHwm(status) };
}
