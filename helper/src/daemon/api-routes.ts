// The daemon's local API routes besides status: reload, connect, disconnect, exit nodes, enrol
// and why. Mutating routes check the caller's credentials (SO_PEERCRED) first.
import { ApiHttpError, requirePrivileged, type ApiRequest, type RouteTable } from '../api/server.js';
import { PATHS } from '../../../src-shared/wire/helper-api.js';
import type { ExitRuntime } from './exit-runtime.js';
import type { PolicyRuntime } from './policy-runtime.js';
import type { TunnelControl } from './tunnel.js';
import { enrol } from '../control/enrol.js';

/** RouteContext is the part of the running daemon the routes read. */
export interface RouteContext {
  policy: PolicyRuntime | null;
  exit: ExitRuntime | null;
  tunnel: TunnelControl;
  profilePath: string;
  stateDir: string;
}

/** apiRoutes builds the route table; reload re-reads the profile and returns what it did. */
export function apiRoutes(status: RouteContext, reload: () => Promise<string>): RouteTable {
  return {
    [PATHS.reload]: {
      POST: async (req) => {
        requirePrivileged(req);
        return { message: await reload() };
      },
    },
    [PATHS.connect]: {
      POST: (req) => {
        requirePrivileged(req);
        return { state: status.tunnel.connect() };
      },
    },
    [PATHS.disconnect]: {
      POST: (req) => {
        requirePrivileged(req);
        return { state: status.tunnel.disconnect() };
      },
    },
    [PATHS.exitNodes]: {
      GET: () => status.exit?.routes.state() ?? [],
      POST: (req) => useExitNode(status, req),
    },
    // Enrolment writes the coordinated profile; the running helper keeps its current setup
    // until it is restarted, because the adapter's address and the peers change wholesale.
    [PATHS.enrol]: { POST: (req) => enrolFromApi(status, req) },
    [PATHS.why]: {
      GET: (req) => {
        const peer = req.query.get('peer') ?? '';
        const answer = status.policy?.why(peer) ?? null;
        if (answer === null)
          throw new ApiHttpError(404, 'not-found', `no configured peer matches ${JSON.stringify(peer.slice(0, 64))}`);
        return answer;
      },
    },
  };
}

// useExitNode switches an exit node's routes on or off (POST /v1/exit-nodes).
function useExitNode(status: RouteContext, req: ApiRequest): unknown {
  requirePrivileged(req);
  const body = req.body as { identity?: unknown; use?: unknown } | null;
  if (typeof body?.identity !== 'string' || typeof body.use !== 'boolean') {
    throw new ApiHttpError(400, 'bad-request', 'expected {"identity": "G982V", "use": true|false}');
  }
  const r = status.exit?.routes.use(body.identity.slice(0, 16), body.use) ?? null;
  status.tunnel.changed();
  if (r === null)
    throw new ApiHttpError(
      404,
      'not-found',
      `no exit node ${JSON.stringify(body.identity.slice(0, 16))} in AvailableRoutes`,
    );
  return r;
}

// enrolFromApi enrols this system and writes the coordinated profile (POST /v1/enrol).
async function enrolFromApi(status: RouteContext, req: ApiRequest): Promise<unknown> {
  requirePrivileged(req);
  const body = req.body as { coordinator?: unknown; key?: unknown } | null;
  if (typeof body?.coordinator !== 'string' || typeof body.key !== 'string') {
    throw new ApiHttpError(400, 'bad-request', 'expected {"coordinator": "https://...", "key": "..."}');
  }
  try {
    const r = await enrol({
      coordinator: body.coordinator.slice(0, 300),
      key: body.key.slice(0, 300),
      profilePath: status.profilePath,
      stateDir: status.stateDir,
    });
    const pending = r.response.state === 'pending';
    return {
      identity: r.response.identity,
      virtualAddress: r.response.virtualAddress,
      state: r.response.state,
      restartRequired: true,
      message:
        `enrolled as ${r.response.identity} (${r.response.virtualAddress})${pending ? ', waiting for approval' : ''}; ` +
        'restart the helper (warren stop, warren start) to join the network',
    };
  } catch (e) {
    throw new ApiHttpError(422, 'bad-request', `enrolment failed: ${(e as Error).message}`);
  }
}
