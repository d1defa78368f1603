// Agent routes for NAT traversal (control.ts CONTROL_PATHS.relayToken, .discoveryKey and .punch):
// relay tokens for the relays a map lists (each MACed with that relay's key), the system's
// discovery key, and punch requests that tell a peer to probe this system now, so both sides
// send through their NATs at the same moment.
import { CONTROL_PATHS, type DiscoveryKeyResponse, type RelayTokenResponse } from '../../../src-shared/wire/control.js';
import { isIdentity } from '../../../src-shared/lib/identity.js';
import { ControlError } from '../http/errors.js';
import { parseJsonBody } from '../http/body.js';
import { sendJson, sendNoContent } from '../http/respond.js';
import type { RequestContext, Router } from '../http/router.js';
import { sseFrame } from '../http/watch-hub.js';
import { endpointsOf } from '../maps/netmap.js';
import type { LiveSystem } from '../store/registry.js';
import { issueRelayToken, RELAY_TOKEN_LIFETIME_MS } from '../../../src-shared/lib/relay-token.js';
import { objectWithKeys, stringField } from '../http/validate.js';
import { authenticate } from './agent.js';
import type { Services } from './services.js';

/** PUNCH_INTERVAL_MS: one punch per (caller, peer) pair is forwarded per interval; more are
 * answered 204 and dropped, so a caller cannot flood a peer's watch stream. */
export const PUNCH_INTERVAL_MS = 1000;

/** MAX_PUNCH_PAIRS bounds the table of recent punches. */
export const MAX_PUNCH_PAIRS = 20_000;

/** PunchLimiter remembers when each (caller, peer) pair was last forwarded. */
export class PunchLimiter {
  private readonly last = new Map<string, number>();
  /** dropped counts punches answered but not forwarded. */
  dropped = 0;

  constructor(
    private readonly intervalMs = PUNCH_INTERVAL_MS,
    private readonly maxPairs = MAX_PUNCH_PAIRS,
  ) {}

  /** allow records a punch from caller to peer at now and says whether to forward it. */
  allow(caller: string, peer: string, now: number): boolean {
    const key = `${caller} ${peer}`;
    const at = this.last.get(key);
    if (at !== undefined && now - at < this.intervalMs && now >= at) {
      this.dropped++;
      return false;
    }
    if (at === undefined && this.last.size >= this.maxPairs) {
      // Entries go in roughly in time order, so the old ones are at the front.
      for (const [k, t] of this.last) {
        if (now - t < this.intervalMs && now >= t) break;
        this.last.delete(k);
      }
      if (this.last.size >= this.maxPairs) {
        this.dropped++;
        return false;
      }
    }
    this.last.delete(key);
    this.last.set(key, now);
    return true;
  }
}

async function activeCaller(sv: Services, ctx: RequestContext): Promise<{ system: LiveSystem; body: Buffer }> {
  const r = await authenticate(sv, ctx);
  if (r.system.state === 'pending')
    throw new ControlError('pending-approval', 'this system waits for an admin to approve it');
  return r;
}

/** addNatRoutes registers the relay-token, discovery-key and punch routes. */
export function addNatRoutes(router: Router, sv: Services): void {
  const punches = new PunchLimiter();

  router.add('POST', CONTROL_PATHS.relayToken, async (ctx) => {
    const { system, body } = await activeCaller(sv, ctx);
    const o = objectWithKeys(parseJsonBody(body), ['relay'], [], 'the relay token request');
    const relay = stringField(o, 'relay', 64);
    // Only for relays the maps list: a token MACed for a name no relay has yet would be of no
    // use now, and would work at a relay started with that name later.
    if (!(sv.nat.mapFields.relays ?? []).some((r) => r.name === relay))
      throw new ControlError('not-found', `${JSON.stringify(relay)} is not a relay this network's maps list`);
    const expires = sv.now() + RELAY_TOKEN_LIFETIME_MS;
    const token = issueRelayToken(sv.signingKey, sv.nat.keys.relayKey(relay), {
      systemId: system.id,
      wireguardKey: Buffer.from(system.wgKey, 'base64'),
      machineKey: Buffer.from(system.machineKey, 'base64'),
      expires,
    });
    const answer: RelayTokenResponse = { token: token.toString('base64'), expires };
    sendJson(ctx.res, 200, answer);
  });

  router.add('POST', CONTROL_PATHS.discoveryKey, async (ctx) => {
    const { system, body } = await activeCaller(sv, ctx);
    if (body.length > 0) objectWithKeys(parseJsonBody(body), [], [], 'the discovery key request');
    const answer: DiscoveryKeyResponse = { key: sv.nat.keys.discoveryKey(system.id).toString('base64') };
    sendJson(ctx.res, 200, answer);
  });

  router.add('POST', CONTROL_PATHS.punch, async (ctx) => {
    const { system, body } = await activeCaller(sv, ctx);
    const o = objectWithKeys(parseJsonBody(body), ['peer'], [], 'the punch request');
    const ref = stringField(o, 'peer', 16).toUpperCase();
    if (!isIdentity(ref))
      throw new ControlError('bad-request', `peer ${JSON.stringify(ref)} is not an identity (5 characters like G982V)`);
    const peer = sv.registry.find(ref);
    // One answer for "no such system" and "not your peer": a caller learns nothing about
    // systems outside its map.
    if (
      !peer ||
      peer.state !== 'active' ||
      peer.identity !== ref ||
      !sv.publisher.peerIdsOf(system).includes(peer.id)
    ) {
      throw new ControlError('not-found', `${ref} is not one of this system's peers`);
    }
    if (punches.allow(system.id, peer.id, sv.now())) {
      sv.hub.send(peer.id, sseFrame({ type: 'punch', from: system.identity, endpoints: endpointsOf(system) }));
      sv.log.debug(`punch: ${system.identity} → ${peer.identity}`);
    }
    sendNoContent(ctx.res);
  });
}
