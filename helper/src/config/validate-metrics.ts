// The profile's Metrics section: {"Listen": "127.0.0.1:9465"} serves GET /metrics there, like
// `warren run --metrics-listen` (which wins when both are given). Unauthenticated and read-only
// (src-shared/lib/metrics-listener.ts), so it is off unless the profile or the flag asks.
import { parseHostPort } from '../../../src-shared/lib/cli-args.js';
import { isObject, typeName, type Issues } from '../../../src-shared/lib/errors.js';
import type { Profile } from './schema.js';

/** METRICS_KEYS are the keys the Metrics object may hold. */
export const METRICS_KEYS = ['Listen'] as const;

/** MetricsListen is where the metrics listener binds. */
export interface MetricsListen {
  host: string;
  port: number;
}

/** checkMetrics validates the raw Metrics value, adding what is wrong to is; the listen address
 * or null when the section is absent or has no Listen. */
export function checkMetrics(v: unknown, is: Issues): MetricsListen | null {
  if (!isObject(v)) {
    is.add('Metrics', `must be an object like {"Listen": "127.0.0.1:9465"}, not ${typeName(v)}`);
    return null;
  }
  for (const k of Object.keys(v)) {
    if (!(METRICS_KEYS as readonly string[]).includes(k))
      is.add(`Metrics.${k.slice(0, 64)}`, 'unknown key (only Listen)');
  }
  if (!Object.hasOwn(v, 'Listen')) return null;
  const text = v.Listen;
  if (typeof text !== 'string' || text.length > 300) {
    is.add('Metrics.Listen', 'must be "ADDR:PORT" text, e.g. "127.0.0.1:9465" or "[::1]:9465"');
    return null;
  }
  const r = parseHostPort(text, '127.0.0.1:9465 or [::1]:9465');
  if ('problem' in r) {
    is.add('Metrics.Listen', r.problem);
    return null;
  }
  return r;
}

/** metricsListenOf reads the validated profile's Metrics.Listen, or null. */
export function metricsListenOf(profile: Pick<Profile, 'reserved'>): MetricsListen | null {
  const v = profile.reserved.Metrics;
  if (!isObject(v) || typeof v.Listen !== 'string') return null;
  const r = parseHostPort(v.Listen);
  return 'problem' in r ? null : r;
}
