// Whether the data path shares its ChaCha20-Poly1305 with worker threads (the addon's crypto
// pool, native/src/pool.c) and with how many: WARREN_THREADS says so for benchmarks and
// diagnosis, the default is what was measured faster (docs/architecture.md, "Crypto threads").

/** THREADS_ENV: 'off' keeps all crypto on the JS thread, 'on' uses the cores (up to
 * MAX_THREADS), a number 1..8 is the threads to use, the JS thread included. */
export const THREADS_ENV = 'WARREN_THREADS';
/** MAX_THREADS caps the default: past four, a helper's single JS thread and its two reader
 * threads, not the crypto, bound a flow. */
export const MAX_THREADS = 4;
/** DEFAULT_ON is the default where WARREN_THREADS is unset (docs/architecture.md, "Crypto
 * threads", has the measurements it follows). */
export const DEFAULT_ON = false;
/** MIN_SHARED_BYTES: a batch smaller than this stays on the JS thread, as waking a worker
 * (a futex wake, some microseconds) would cost about as much as the crypto it takes over. */
export const MIN_SHARED_BYTES = 16 * 1024;

/** ThreadsWish is how many crypto threads to run, the JS thread included (1: no workers). */
export interface ThreadsWish {
  threads: number;
}

/**
 * threadsWish reads WARREN_THREADS: 'on' (or 1/true) is one thread per core up to MAX_THREADS,
 * 'off' (or 0/false) one, a number 1..8 that many; unset, DEFAULT_ON decides. Anything else
 * throws, so that a typo does not silently measure the default.
 */
export function threadsWish(env: NodeJS.ProcessEnv = process.env, cores = 1): ThreadsWish {
  const raw = env[THREADS_ENV]?.trim().toLowerCase();
  const auto = Math.max(1, Math.min(cores, MAX_THREADS));
  if (raw === undefined || raw === '') return { threads: DEFAULT_ON ? auto : 1 };
  if (raw === 'on' || raw === 'true') return { threads: auto };
  if (raw === 'off' || raw === 'false' || raw === '0') return { threads: 1 };
  if (/^[1-8]$/.test(raw)) return { threads: Number(raw) };
  throw new Error(`${THREADS_ENV}=${JSON.stringify(env[THREADS_ENV])}: expected 'on', 'off' or a thread count 1..8`);
}
