// tcpTransfer: a checksummed TCP stream between namespaces (tcp-source -> tcp-sink), the
// end-to-end proof that a tunnel delivers every byte intact and in order.
import { nodeScript } from './node-script.js';
import type { TrackedProcess } from './process.js';
import type { Namespace } from './topology.js';

/** TransferResult: both sides' checksums and byte counts, and the receiver's timing. */
export interface TransferResult {
  sentSha: string;
  recvSha: string;
  sentBytes: number;
  recvBytes: number;
  seconds: number;
  mbps: number;
}

/** TransferOptions: pacing (bytes per second, 0 = as fast as possible), the sink's port (0 =
 * any free one), progress callback (bytes handed to the socket so far), overall timeout. */
export interface TransferOptions {
  rateBytesPerSec?: number;
  port?: number;
  onProgress?: (sentBytes: number) => void;
  timeoutMs?: number;
}

interface Final {
  bytes: number;
  sha256: string;
  seconds: number;
}

function finalLine(p: TrackedProcess): Final {
  const lines = p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{"bytes"'));
  const last = lines[lines.length - 1];
  if (last === undefined) throw new Error(`${p.name} printed no result:\n${p.output().slice(-3000)}`);
  return JSON.parse(last) as Final;
}

/** tcpTransfer streams `bytes` pseudo-random bytes from fromNs to toIp (an address of toNs). */
export async function tcpTransfer(
  fromNs: Namespace,
  toNs: Namespace,
  toIp: string,
  bytes: number,
  opts: TransferOptions = {},
): Promise<TransferResult> {
  const sink = toNs.spawn([...nodeScript('tcp-sink'), toIp, String(opts.port ?? 0)], {
    name: `tcp-sink-${toNs.short}-${Date.now()}`,
  });
  let source: TrackedProcess | undefined;
  const floorMs = opts.rateBytesPerSec ? (bytes / opts.rateBytesPerSec) * 1000 : 0;
  const timeoutMs = opts.timeoutMs ?? Math.max(60_000, floorMs * 2 + 30_000, (bytes / 1e6) * 1000);
  let timer: NodeJS.Timeout | undefined;
  try {
    const m = await sink.waitFor(/\{"listening":(\d+)\}/, 10_000);
    source = fromNs.spawn(
      [...nodeScript('tcp-source'), toIp, m[1] ?? '0', String(bytes), String(opts.rateBytesPerSec ?? 0)],
      { name: `tcp-source-${fromNs.short}-${Date.now()}` },
    );
    if (opts.onProgress) {
      const cb = opts.onProgress;
      source.onLine((line) => {
        const p = /^\{"sent":(\d+)\}$/.exec(line);
        if (p) cb(Number(p[1]));
      });
    }
    const src = source;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `tcpTransfer ${fromNs.short}->${toIp} (${bytes} bytes) timed out after ${timeoutMs} ms\n` +
                `source: ${src.output().slice(-1500)}\nsink: ${sink.output().slice(-1500)}`,
            ),
          ),
        timeoutMs,
      );
    });
    const [se, ke] = await Promise.race([Promise.all([src.exited, sink.exited]), timeout]);
    if (se.code !== 0 || ke.code !== 0) {
      throw new Error(
        `tcpTransfer failed: source exit ${se.code ?? se.signal}, sink exit ${ke.code ?? ke.signal}\n` +
          `source: ${src.output().slice(-1500)}\nsink: ${sink.output().slice(-1500)}`,
      );
    }
    const s = finalLine(src);
    const r = finalLine(sink);
    return {
      sentSha: s.sha256,
      recvSha: r.sha256,
      sentBytes: s.bytes,
      recvBytes: r.bytes,
      seconds: r.seconds,
      mbps: r.seconds > 0 ? (r.bytes * 8) / r.seconds / 1e6 : 0,
    };
  } finally {
    if (timer) clearTimeout(timer);
    await Promise.all([sink.stop(1000), source?.stop(1000)]);
  }
}
