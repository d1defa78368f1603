// A CPU profile of one of the bench's agent threads (agent-shard.ts) over one phase alone, the
// policy change or the join (scripts/bench/coordinator.ts): WARREN_BENCH_AGENTS_PROFILE=DIR
// writes DIR/agents-<phase>-<pid>-<thread>.cpuprofile per thread and phase (V8's format, for
// DevTools or scripts/bench/profile-top.ts). `node --cpu-prof` on the bench would profile
// enrolment and settling too, which dwarf the change.
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

/** startAgentsProfile starts the profiler when the variable names a directory; the function it
 * returns stops it and writes the profile, returning its path (null when not profiling). */
export function startAgentsProfile(phase: string): () => string | null {
  const dir = process.env.WARREN_BENCH_AGENTS_PROFILE;
  if (dir === undefined || dir === '') return () => null;
  const session = new Session();
  session.connect();
  // A 100 µs interval: a take is ~100 µs, V8's default 1 ms would see few of them.
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 100 });
  session.post('Profiler.start');
  return () => {
    let out: string | null = null;
    session.post('Profiler.stop', (err, r) => {
      if (err !== null) throw err;
      mkdirSync(dir, { recursive: true });
      out = join(dir, `agents-${phase}-${process.pid}-${threadId}.cpuprofile`);
      writeFileSync(out, JSON.stringify(r.profile));
    });
    session.disconnect();
    return out;
  };
}
