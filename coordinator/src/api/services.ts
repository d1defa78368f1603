// Services are what the route handlers share.
import type { Logger } from '../../../helper/src/log.js';
import type { MachineKeys, NonceCache } from '../agent-auth.js';
import type { WatchHub } from '../http/watch-hub.js';
import type { MapPublisher } from '../map-publisher.js';
import type { NatServices } from '../nat-services.js';
import type { Registry } from '../registry.js';
import type { SigningKey } from '../signing.js';

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
}
