// The coordinator's unauthenticated metrics listener (`serve --metrics-listen ADDR:PORT`): the
// one implementation in src-shared/lib/metrics-listener.ts, which the helper's
// `warren run --metrics-listen` uses too.
import type { Logger } from '../../../src-shared/lib/log.js';
import { startMetricsListener as start, type MetricsListener } from '../../../src-shared/lib/metrics-listener.js';
import type { CoordinatorMetrics } from './metrics.js';

export type { MetricsListener } from '../../../src-shared/lib/metrics-listener.js';

/** startMetricsListener serves the coordinator's metrics on host:port (port 0 picks a free one). */
export function startMetricsListener(
  at: { host: string; port: number },
  metrics: CoordinatorMetrics,
  log: Logger,
): Promise<MetricsListener> {
  return start(at, metrics, log, 'the coordinator');
}
