// The coordinator bench's memory line per phase (scripts/bench/coordinator.ts): each
// coordinator's resident memory now and at its peak (/proc, the kernel's count), and how V8
// splits it (GET /v1/admin/stats: the live heap, the heap's reserved size, and what objects
// hold outside it), so a run shows in which phase memory grows and whether it is the heap.
import { readFileSync } from 'node:fs';
import type { CoordinatorStats } from '../../coordinator/src/api/admin-types.js';

const MIB = 1024 * 1024;

/** ProcStatus is a process's memory now and at its peak, and the CPU it has used so far. */
export interface ProcStatus {
  rssKiB: number;
  hwmKiB: number;
  cpuTicks: number;
}

export function procStatus(pid: number): ProcStatus {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

/** memoryLine renders one coordinator's memory after a phase, in MiB. */
export function memoryLine(pid: number, st: CoordinatorStats): string {
  const { rssKiB: rss, hwmKiB: hwm } = procStatus(pid);
  const m = (b: number): string => (b / MIB).toFixed(0);
  return (
    `RSS ${(rss / 1024).toFixed(0)} (peak ${(hwm / 1024).toFixed(0)}), heap ${m(st.heapUsedBytes)} used of ` +
    `${m(st.heapTotalBytes)}, external ${m(st.externalBytes)} (buffers ${m(st.arrayBuffersBytes)}) MiB`
  );
}

/** agentsMemoryLine renders the memory of this process, the bench's simulated agents, in MiB:
 * the process's resident memory and the agents' threads' heaps together (agent-shards.ts); each
 * agent holds its map as a helper does (decoded, with its text's hash state). */
export function agentsMemoryLine(heap: { heapUsed: number; heapTotal: number }): string {
  const { rssKiB: rss, hwmKiB: hwm } = procStatus(process.pid);
  const m = (b: number): string => (b / MIB).toFixed(0);
  return `RSS ${(rss / 1024).toFixed(0)} (peak ${(hwm / 1024).toFixed(0)}), heap ${m(heap.heapUsed)} used of ${m(heap.heapTotal)} MiB`;
}
