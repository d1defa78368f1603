// The daemon's local API routes besides status: reload, connect, disconnect, exit nodes, enrol,
// why and metrics. Mutating routes check the caller's credentials (SO_PEERCRED) first.
import { ApiHttpError, requirePrivileged, TextBody, type ApiRequest, type RouteTable } from '../api/server.js';
import {
  ENROL_LIMITS,
  PATHS,
  type EnrolAnswer,
  type EnrolRequest,
  type ExitNodeState,
} from '../../../src-shared/wire/helper-api.js';
import type { ExitRuntime } from './exit-runtime.js';
import type { HelperMetrics } from './metrics.js';
import type { PolicyRuntime } from './policy-runtime.js';
import type { TunnelControl } from './tunnel.js';
import { enrol, InsecureEnrolment, insecureRefusal } from '../control/enrol.js';
import type { LoginRuntime } from './login-runtime.js';
import { loginRoutes } from './login-routes.js';

/** RouteContext is the part of the running daemon the routes read. */
export interface RouteContext {
  policy: PolicyRuntime | null;
  exit: ExitRuntime | null;
  tunnel: TunnelControl;
  profilePath: string;
  stateDir: string;
  login?: LoginRuntime;
}

/** apiRoutes builds the route table; reload re-reads the profile and returns what it did. */
export function apiRoutes(
  status: RouteContext,
  reload: () => Promise<string>,
  metrics: HelperMetrics | null = null,
): RouteTable {
  return {
    // Metrics show what status shows (peers, counters), so whoever may read status may read them.
    ...(metrics
      ? { [PATHS.metrics]: { GET: async () => new TextBody(metrics.contentType, await metrics.text()) } }
      : {}),
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
      GET: () =>
        (status.exit?.routes.state() ?? []).map((s) => ({
          ...s,
          allowedBy: status.policy?.routeAllowance(s.identity) ?? null,
        })),
      POST: (req) => useExitNode(status, req),
    },
    // Enrolment writes the coordinated profile; the running helper keeps its current setup
    // until it is restarted, because the adapter's address and the peers change wholesale.
    [PATHS.enrol]: { POST: (req) => enrolFromApi(status, req) },
    // Signing in writes the profile as enrolling does, once the person has signed in.
    ...(status.login ? { [PATHS.login]: loginRoutes(status.login) } : {}),
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
  const ref = body.identity.slice(0, 64);
  const routes = status.exit?.routes;
  const found = routes?.matching(ref) ?? [];
  if (found.length !== 1) throw exitNodeRefusal(ref, found, routes?.state() ?? []);
  const r = routes!.use(found[0]!.identity, body.use)!;
  status.tunnel.changed();
  return { ...r, allowedBy: status.policy?.routeAllowance(r.identity) ?? null };
}

// exitNodeRefusal says that ref names no exit node (listing the ones there are) or several.
function exitNodeRefusal(ref: string, found: ExitNodeState[], all: ExitNodeState[]): ApiHttpError {
  const label = (s: ExitNodeState): string => (s.name ? `${s.identity} (${s.name})` : s.identity);
  if (found.length > 1)
    return new ApiHttpError(
      400,
      'bad-request',
      `${JSON.stringify(ref)} names more than one exit node: ${found.map(label).join(', ')}; give the identity`,
    );
  const available = all.length
    ? `the exit nodes here are ${all.map(label).join(', ')}`
    : 'this system has no exit nodes';
  return new ApiHttpError(404, 'not-found', `no exit node ${JSON.stringify(ref)} (identity or name): ${available}`);
}

// enrolBody checks POST /v1/enrol's body: its shape and bounds here, the values' meaning in
// enrol (control/enrol.ts), which also refuses plain http:// without the coordinator key.
function enrolBody(body: unknown): EnrolRequest {
  const b = body as Partial<Record<keyof EnrolRequest, unknown>> | null;
  const text = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;
  if (
    !text(b?.coordinator, ENROL_LIMITS.coordinatorChars) ||
    !text(b.key, ENROL_LIMITS.keyChars) ||
    (b.coordinatorKey !== undefined && !text(b.coordinatorKey, ENROL_LIMITS.coordinatorKeyChars)) ||
    (b.insecure !== undefined && typeof b.insecure !== 'boolean')
  ) {
    throw new ApiHttpError(
      400,
      'bad-request',
      `expected {"coordinator": "https://...", "key": "...", "coordinatorKey": "44 characters of base64" (optional), ` +
        `"insecure": true|false (optional)}, with the URL at most ${ENROL_LIMITS.coordinatorChars} characters`,
    );
  }
  return {
    coordinator: b.coordinator,
    key: b.key,
    ...(b.coordinatorKey !== undefined ? { coordinatorKey: b.coordinatorKey } : {}),
    ...(b.insecure === true ? { insecure: true } : {}),
  };
}

// enrolFromApi enrols this system and writes the coordinated profile (POST /v1/enrol).
async function enrolFromApi(status: RouteContext, req: ApiRequest): Promise<EnrolAnswer> {
  requirePrivileged(req);
  const body = enrolBody(req.body);
  try {
    const r = await enrol({ ...body, profilePath: status.profilePath, stateDir: status.stateDir });
    const pending = r.response.state === 'pending';
    return {
      identity: r.response.identity,
      virtualAddress: r.response.virtualAddress,
      virtualAddress6:
        typeof r.response.virtualAddress6 === 'string' && r.ipv6Withheld === null ? r.response.virtualAddress6 : null,
      state: r.response.state,
      restartRequired: true,
      coordinatorKey: r.response.coordinatorPublicKey,
      fingerprint: r.fingerprint,
      keyChecked: r.keyChecked,
      message:
        `enrolled as ${r.response.identity} (${r.response.virtualAddress})${pending ? ', waiting for approval' : ''}; ` +
        `coordinator key fingerprint ${r.fingerprint}${r.keyChecked ? ' (the key you gave)' : ''}; ` +
        `${r.ipv6Withheld === null ? '' : `${r.ipv6Withheld}; `}` +
        'restart the helper (warren stop, warren start) to join the network',
    };
  } catch (e) {
    const why =
      e instanceof InsecureEnrolment
        ? insecureRefusal('give it as "coordinatorKey"', 'set "insecure": true to enrol without the check')
        : (e as Error).message;
    throw new ApiHttpError(422, 'bad-request', `enrolment failed: ${why}`);
  }
}
