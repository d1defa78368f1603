// Agent routes: enrolment, map, watch stream and endpoint reports (control.ts CONTROL_PATHS).
import { IPV6_MAX_TEXT } from '../../../src-shared/lib/ip/ipv6.js';
import { endpointText, reportedAddress } from '../../../src-shared/lib/ip/underlay.js';
import {
  CONTROL_LIMITS,
  CONTROL_PATHS,
  CONTROL_PROTOCOL,
  type EnrolRequest,
  type EnrolResponse,
} from '../../../src-shared/wire/control.js';
import { formatCidr, formatIPv4 } from '../../../src-shared/lib/ip/ipv4.js';
import { formatIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { parseAuthHeader, verifyAgentRequest } from '../auth/agent-auth.js';
import { enrol, parseEnrolRequest } from './enrol.js';
import { hashKey, looksLikeKey } from '../auth/enrolment-keys.js';
import { signedOf } from '../maps/publisher.js';
import { WATCH_BATCH_PARAM, WATCH_DELTA_PARAM } from '../../../src-shared/wire/map-delta.js';
import { ControlError } from '../http/errors.js';
import { parseJsonBody, readBody } from '../http/body.js';
import { sendJson, sendJsonBytes, sendNoContent } from '../http/respond.js';
import type { RequestContext, Router } from '../http/router.js';
import { sseFrame } from '../http/watch-hub.js';
import type { LiveSystem } from '../store/registry.js';
import { PostgresStore } from '../store/postgres-store.js';
import { intField, objectWithKeys, stringArrayField } from '../http/validate.js';
import type { Services } from './services.js';

/** AUDITED_AGENT_REFUSALS are the refusals of signed requests the audit log records: those
 * that say someone without the machine key (or a revoked system) tried. */
const AUDITED_AGENT_REFUSALS = new Set(['unauthorized', 'bad-signature', 'clock-skew', 'replay', 'revoked']);

/** authenticate checks a signed agent request and returns its system; a refusal is audited. */
export async function authenticate(sv: Services, ctx: RequestContext): Promise<{ system: LiveSystem; body: Buffer }> {
  try {
    return await authenticateOnce(sv, ctx);
  } catch (e) {
    if (e instanceof ControlError && AUDITED_AGENT_REFUSALS.has(e.code)) {
      // The claimed system is only a claim here: the actor stays anonymous unless the
      // signature verified (a revoked system).
      const claimed = /system=([A-Za-z0-9_-]{1,64})/.exec(ctx.req.headers.authorization ?? '')?.[1];
      const system = claimed === undefined ? undefined : sv.registry.get(claimed);
      const actor = e.code === 'revoked' && system ? system.identity : 'anonymous';
      const action = `agent.${ctx.path.split('/').pop() ?? '-'}`;
      sv.audit.refused({ actor, source: ctx.remoteIp, action, target: claimed ?? '-' }, e.code);
    }
    throw e;
  }
}

async function authenticateOnce(sv: Services, ctx: RequestContext): Promise<{ system: LiveSystem; body: Buffer }> {
  const header = parseAuthHeader(ctx.req.headers.authorization);
  const body = await readBody(ctx.req, CONTROL_LIMITS.requestBodyBytes);
  const system = sv.registry.get(header.system);
  if (!system)
    throw new ControlError(
      'unauthorized',
      'this coordinator knows no such system (never enrolled, or removed); enrol again',
    );
  const now = sv.now();
  verifyAgentRequest(
    header,
    sv.machineKeys.get(system.id, system.machineKey),
    ctx.req.method ?? 'GET',
    ctx.req.url ?? '',
    body,
    sv.nonces,
    now,
  );
  if (system.state === 'revoked')
    throw new ControlError('revoked', 'this system was revoked by the admin; it can no longer use this network');
  sv.registry.noteSeen(system, ctx.remoteIp, now);
  return { system, body };
}

/** enrolResponse answers with the map of the pass the enrolment scheduled (publisher.ts
 * settledMap), so that enrolling costs the coordinator O(the system's own peers), not a
 * resolution of the whole policy against every system. */
export async function enrolResponse(sv: Services, s: LiveSystem): Promise<EnrolResponse> {
  await sv.publisher.settledMap(s);
  const m = sv.publisher.fullMap(s);
  return {
    systemId: s.id,
    identity: s.identity,
    virtualAddress: formatIPv4(s.address),
    virtualNetwork: formatCidr(sv.registry.network),
    virtualAddress6: sv.registry.address6(s),
    virtualNetwork6: formatIpPrefix(sv.registry.network6),
    tags: s.tags,
    state: s.state,
    coordinatorPublicKey: sv.signingKey.publicKey,
    map: m ? signedOf(m) : null,
    name: s.name,
  };
}

/** enrolAudited runs enrol and writes a new system, or a refusal, to the audit log. */
function enrolAudited(sv: Services, req: EnrolRequest, source: string | null): ReturnType<typeof enrol> {
  let r: ReturnType<typeof enrol>;
  try {
    // A new system's entry is written in the transaction that stores it: one fsync, not two.
    r = enrol(sv.registry, req, source, sv.now(), (s) =>
      sv.audit.okWithin({
        actor: s.identity,
        source,
        action: 'enrol',
        target: s.keyId ?? '-',
        detail: `${s.name}, ${s.state}`,
      }),
    );
  } catch (e) {
    if (e instanceof ControlError) {
      const key = looksLikeKey(req.enrolmentKey) ? sv.registry.store.keyByHash(hashKey(req.enrolmentKey)) : null;
      sv.audit.refused({ actor: 'anonymous', source, action: 'enrol', target: key?.id ?? '-' }, e.code);
    }
    throw e;
  }
  if (r.retaggedFrom !== undefined) {
    const s = r.system;
    sv.audit.ok({
      actor: s.identity,
      source,
      action: 'enrol',
      target: s.keyId ?? '-',
      detail: `${s.name} enrolled again with another key: tags ${r.retaggedFrom.join(',') || '(none)'} -> ${s.tags.join(',') || '(none)'}`,
    });
  }
  return r;
}

/** watchSince reads a watch's since (the map version the agent holds). A helper holding a newer
 * map than this coordinator made for it got it from another coordinator on the same database
 * (it failed over): it gets this one's own map, signed anew under a newer version, since what
 * this coordinator lists (its UDP port, its relay) differs. On PostgreSQL the same version may
 * also come from another coordinator (versions used in memory only, soft-writes.ts), so there
 * an equal version is signed anew too. */
function watchSince(sv: Services, system: LiveSystem, sinceText: string | null): number | null {
  if (sinceText === null) return null;
  if (!/^[0-9]{1,15}$/.test(sinceText))
    throw new ControlError('bad-request', 'since must be a map version (a whole number)');
  const since = Number(sinceText);
  const published = sv.publisher.published(system.id);
  const shared = sv.registry.store instanceof PostgresStore;
  if (published ? since > published.version || (shared && since === published.version) : since >= sv.registry.version) {
    sv.registry.atLeast(since);
    sv.publisher.forget(system.id);
  }
  return since;
}

/** openWatch serves GET watch: the stream, then the map the agent lacks (or a ping). An agent
 * that asked for deltas (map-delta.ts WATCH_DELTA_PARAM) and already holds the current version
 * gets the next change as a delta against it, even across reconnects. */
async function openWatch(sv: Services, ctx: RequestContext): Promise<void> {
  const { system } = await authenticate(sv, ctx);
  const since = watchSince(sv, system, ctx.query.get('since'));
  const deltas = ctx.query.get(WATCH_DELTA_PARAM) === '1';
  const batch = ctx.query.get(WATCH_BATCH_PARAM) === '1';
  const onClose = (): void => {
    sv.registry.setOnline(system, false, sv.now());
    sv.log.debug(`watch closed: ${system.identity}`);
  };
  const stream = sv.hub.open(system.id, ctx.res, onClose, deltas, batch);
  sv.registry.setOnline(system, true, sv.now());
  sv.log.debug(`watch opened: ${system.identity} from ${ctx.remoteIp ?? '?'}`);
  if (system.state === 'pending') {
    sv.hub.send(system.id, sseFrame({ type: 'pending' }));
    return;
  }
  // A fleet coming online while others enrol must not cost a World per stream: the map comes
  // from the pending pass, if there is one (which may also have delivered it already).
  const m = await sv.publisher.settledMap(system);
  if (m && stream.mapVersion >= m.version) return;
  // An agent that already holds this version gets a ping, so it still knows the stream is up.
  const full = m && (since === null || since < m.version) ? sv.publisher.fullMap(system) : null;
  if (full) {
    if (sv.hub.send(system.id, full.frame, full.version)) sv.metrics.mapPushed();
    return;
  }
  if (m && since === m.version && stream.mapVersion < since) stream.mapVersion = since;
  sv.hub.send(system.id, sseFrame({ type: 'ping', ts: sv.now() }));
}

/** addAgentRoutes registers the agent side of the API. */
export function addAgentRoutes(router: Router, sv: Services): void {
  router.add('GET', CONTROL_PATHS.info, ({ res }) =>
    sendJson(res, 200, { publicKey: sv.signingKey.publicKey, protocol: CONTROL_PROTOCOL }),
  );

  router.add('POST', CONTROL_PATHS.enrol, async (ctx) => {
    let outcome: ReturnType<typeof enrol>;
    try {
      const body = await readBody(ctx.req, CONTROL_LIMITS.requestBodyBytes);
      const req = parseEnrolRequest(parseJsonBody(body));
      // Concurrent enrolments (a roll-out) share one commit (registry-batch.ts).
      outcome = await sv.registry.batched(() => enrolAudited(sv, req, ctx.remoteIp));
    } catch (e) {
      sv.metrics.enrolment(e instanceof ControlError ? e.code : 'internal');
      throw e;
    }
    const { system, created } = outcome;
    sv.metrics.enrolment(!created ? 'repeat' : system.state === 'pending' ? 'pending' : 'enrolled');
    if (created) {
      sv.log.info(
        `enrolled ${system.identity} (${system.name}, ${formatIPv4(system.address)}) as ${system.state} with key ${system.keyId ?? '-'}${system.ephemeral ? ', ephemeral' : ''} from ${ctx.remoteIp ?? '?'}`,
      );
    }
    sendJson(ctx.res, created ? 201 : 200, await enrolResponse(sv, system));
  });

  router.add('GET', CONTROL_PATHS.map, async (ctx) => {
    const { system } = await authenticate(sv, ctx);
    if (system.state === 'pending')
      throw new ControlError('pending-approval', 'this system waits for an admin to approve it');
    const m = sv.publisher.fullMap(system);
    if (!m) throw new ControlError('internal', 'no map could be computed for this system; see the coordinator log');
    sendJsonBytes(ctx.res, 200, m.signedJson);
  });

  router.add('GET', CONTROL_PATHS.watch, (ctx) => openWatch(sv, ctx));

  router.add('POST', CONTROL_PATHS.endpoints, async (ctx) => {
    const { system, body } = await authenticate(sv, ctx);
    const o = objectWithKeys(parseJsonBody(body), ['listenPort', 'addresses'], [], 'the endpoint report');
    const listenPort = intField(o, 'listenPort', 1, 65535);
    const texts = stringArrayField(o, 'addresses', CONTROL_LIMITS.endpointsPerSystem, IPV6_MAX_TEXT);
    const addresses = texts.map((text) => {
      const a = reportedAddress(text);
      if (typeof a === 'object') throw new ControlError('bad-request', `address ${JSON.stringify(text)} ${a.problem}`);
      return a;
    });
    const reported = [...new Set(addresses)].map((a) => endpointText(a, listenPort));
    if (system.listenPort !== listenPort || JSON.stringify(system.reported) !== JSON.stringify(reported)) {
      sv.registry.patch(system, { listenPort, reported });
      sv.log.debug(`endpoints of ${system.identity}: ${reported.join(' ') || '(none)'} (port ${listenPort})`);
    }
    sendNoContent(ctx.res);
  });
}
