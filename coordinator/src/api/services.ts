// Services are what the route handlers share.
import type { Logger } from '../../../src-shared/lib/log.js';
import type { MachineKeys } from '../auth/agent-auth.js';
import type { NonceCache } from '../../../src-shared/lib/nonce-cache.js';
import type { WatchHub } from '../http/watch-hub.js';
import type { MapPublisher } from '../maps/publisher.js';
import type { CoordinatorMetrics } from '../metrics/metrics.js';
import type { NatServices } from '../nat/services.js';
import type { Registry } from '../store/registry.js';
import type { SigningKey } from '../auth/signing.js';
import type { AuditLog } from '../store/audit.js';
import type { ConsoleAuth } from '../console/routes.js';

/** Services hold the coordinator's state for the handlers. */
export interface Services {
  registry: Registry;
  publisher: MapPublisher;
  hub: WatchHub;
  nonces: NonceCache;
  machineKeys: MachineKeys;
  signingKey: SigningKey;
  adminToken: string;
  log: Logger;
  now: () => number;
  /** nat: the UDP port, discovery and the embedded relay. */
  nat: NatServices;
  /** metrics: the Prometheus counters the routes bump (GET /metrics). */
  metrics: CoordinatorMetrics;
  /** audit: admin actions and refused attempts (store/audit.ts). */
  audit: AuditLog;
  /** console: the web console's sessions, with `serve --console` only. */
  console?: ConsoleAuth;
  /** authorities: the identity providers of `serve --oidc`, by Name and issuer (none: absent). */
  authorities?: readonly { name: string; issuer: string }[];
}
