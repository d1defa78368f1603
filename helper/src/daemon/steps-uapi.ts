// The helper's UAPI socket: `wg show ADAPTER` (and any tool of the cross-platform userspace
// API, https://www.wireguard.com/xplatform/) reads the helper's data plane as it reads
// wireguard-go's. It is read-only: the profile, or in coordinated mode the coordinator's map,
// is what configures the helper, and a peer added behind their back would bypass the firewall's
// view of peers and vanish at the next reload; so every set is refused with -EPERM and a log
// line (docs/warren-wg.md, "On the helper"). The socket is a convenience: when it cannot be
// claimed (another process serves that name, say a helper in another network namespace with
// the same adapter name), the helper runs on without it.
import { DeviceTarget } from '../wireguard/uapi/device-target.js';
import { startUapiServer } from '../wireguard/uapi/server.js';
import type { Step } from './lifecycle.js';
import { started } from './state.js';
import type { StepContext } from './steps.js';

/** READ_ONLY_REASON is what the log says when a set is refused. */
export const READ_ONLY_REASON =
  'the helper is configured by its profile or its coordinator; change the peers there (wg set works on warren-wg)';

/** uapiStep serves the UAPI on env.uapiDir/ADAPTER.sock; a null uapiDir turns it off. */
export function uapiStep({ log, env, state }: StepContext): Step {
  return {
    name: 'UAPI socket',
    async start() {
      if (env.uapiDir === null) return null;
      const device = started(state.device, 'the device');
      try {
        const server = await startUapiServer({
          name: state.adapter,
          dir: env.uapiDir,
          log,
          handler: new DeviceTarget(device, { log, readOnly: READ_ONLY_REASON }),
        });
        log.info(`wg(8) can read the data plane: wg show ${state.adapter} (socket ${server.path})`);
        return () => server.close();
      } catch (e) {
        log.warn(`no UAPI socket for wg(8): ${(e as Error).message}`);
        return null;
      }
    },
  };
}
