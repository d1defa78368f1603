// The helper's opt-in metrics listener (`warren run --metrics-listen ADDR:PORT`): the same
// metrics as the local API's GET /v1/metrics, served as GET /metrics on an address a Prometheus
// server can reach without the local socket. Unauthenticated and read-only; the one listener
// implementation the coordinator uses too (src-shared/lib/metrics-listener.ts). Started last, so
// it only ever reports a helper that is up; a port in use fails the start with a clear message.
import { startMetricsListener } from '../../../src-shared/lib/metrics-listener.js';
import type { Step } from './lifecycle.js';
import { HelperMetrics } from './metrics.js';
import type { StepContext } from './steps.js';

/** metricsListenStep serves the metrics on ctx.metricsListen, or does nothing when unset. */
export function metricsListenStep({ metricsListen, log, state }: StepContext): Step {
  return {
    name: 'metrics listener',
    async start() {
      if (!metricsListen) return null;
      const listener = await startMetricsListener(metricsListen, new HelperMetrics(state), log, 'the helper');
      return () => listener.close();
    },
  };
}
