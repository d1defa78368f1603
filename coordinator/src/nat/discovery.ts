// Endpoint discovery (src-shared/wire/nat-discovery.ts): a helper sends a request signed
// with its machine key from its WireGuard socket to the coordinator's UDP port, and the
// coordinator answers with the address and port it saw the datagram come from, signed with
// its own key. That address is the socket's public NAT mapping, the best endpoint a peer can
// try, so it is also recorded on the system and goes first in its peers' maps (netmap.ts).
//
// Every datagram is untrusted. The checks run cheapest first and nothing is remembered about
// a request before its signature verified (so forged requests cannot fill the replay cache);
// the per-source rate limit comes before any of them. A refused request gets no answer at all
// (an answer would tell a prober which system ids exist) and bumps a counter for its reason.
import { NonceCache } from '../../../src-shared/lib/nonce-cache.js';
import type { MachineKeys } from '../auth/agent-auth.js';
import { verifyEd25519 } from '../../../src-shared/lib/ed25519.js';
import type { Registry } from '../store/registry.js';
import type { SigningKey } from '../auth/signing.js';
import { RateLimiter } from '../../../src-shared/lib/rate-limit.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { NAT_CONTEXT, NAT_LIMITS, signedBytes, withSignature } from '../../../src-shared/wire/nat-wire.js';
import { discoveryReplyBody, parseDiscoveryRequest } from '../../../src-shared/wire/nat-discovery.js';

/** DISCOVERY_DROPS are the reasons a discovery request goes unanswered. */
export const DISCOVERY_DROPS = [
  'not-ipv4',
  'rate-limited',
  'malformed',
  'unknown-system',
  'not-active',
  'clock-skew',
  'bad-signature',
  'replay',
  'too-many-requests',
] as const;
export type DiscoveryDrop = (typeof DISCOVERY_DROPS)[number];

/** DiscoveryStats count what the discovery port did. */
export interface DiscoveryStats {
  answered: number;
  /** recorded counts changes of a system's observed UDP mapping. */
  recorded: number;
  dropped: Record<DiscoveryDrop, number>;
}

/** DISCOVERY_RATE is the default per-source limit. Generous, because one office NAT can hide
 * dozens of systems behind one address; a verification costs about 0.1 ms. */
export const DISCOVERY_RATE = { burst: 32, perSecond: 8, maxSources: 16_384 } as const;

/** DISCOVERY_NONCES bound the replay cache: every request's nonce is kept for twice the skew
 * window; one system gets at most perSystem requests within it (a helper needs a few). */
export const DISCOVERY_NONCES = { total: 100_000, perSystem: 600 } as const;

/** SWEEP_MS: how often refilled rate buckets are forgotten (on the next request). */
const SWEEP_MS = 10_000;

/** DiscoveryOptions wire Discovery to the coordinator. */
export interface DiscoveryOptions {
  registry: Registry;
  machineKeys: MachineKeys;
  signingKey: Pick<SigningKey, 'sign'>;
  log: Logger;
  now: () => number;
  /** recordLoopback: record mappings from 127.0.0.0/8 too. Only right when the port itself is
   * on loopback (every system then runs on this host); otherwise a loopback mapping would point
   * remote peers at themselves. Requests from loopback are answered either way. */
  recordLoopback: boolean;
  rate?: { burst: number; perSecond: number; maxSources: number };
}

/** ReplyFn sends a datagram back out of the socket the request came in on. */
export type ReplyFn = (buf: Uint8Array, ip: string, port: number) => void;

/** Discovery answers discovery requests; see the file comment. */
export class Discovery {
  private readonly buckets: RateLimiter;
  private lastSweep = 0;
  private readonly nonces = new NonceCache(2 * NAT_LIMITS.skewMs, DISCOVERY_NONCES);
  private readonly counts: DiscoveryStats;

  constructor(private readonly opts: DiscoveryOptions) {
    const r = opts.rate ?? DISCOVERY_RATE;
    this.buckets = new RateLimiter(r.perSecond, r.burst, r.maxSources);
    const dropped = {} as Record<DiscoveryDrop, number>;
    for (const d of DISCOVERY_DROPS) dropped[d] = 0;
    this.counts = { answered: 0, recorded: 0, dropped };
  }

  /** stats returns a copy of the counters. */
  stats(): DiscoveryStats {
    return { answered: this.counts.answered, recorded: this.counts.recorded, dropped: { ...this.counts.dropped } };
  }

  /** handle processes one datagram whose kind is discoveryRequest; it never throws for bad input. */
  handle(msg: Uint8Array, srcIp: string, srcPort: number, reply: ReplyFn): void {
    const why = this.check(msg, srcIp, srcPort, reply);
    if (why !== null) {
      this.counts.dropped[why]++;
      if (this.opts.log.enabled('debug'))
        this.opts.log
          .rateLimited(`discovery:${why}`, 10_000)
          .debug(`discovery request from ${srcIp}:${srcPort} dropped: ${why}`);
    }
  }

  private check(msg: Uint8Array, srcIp: string, srcPort: number, reply: ReplyFn): DiscoveryDrop | null {
    const ip = srcIp.startsWith('::ffff:') ? srcIp.slice(7) : srcIp;
    // The reply carries an IPv4 address; an IPv6 source cannot be told where it is.
    if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip) || srcPort < 1 || srcPort > 65535) return 'not-ipv4';
    const now = this.opts.now();
    if (Math.abs(now - this.lastSweep) > SWEEP_MS) {
      this.lastSweep = now;
      this.buckets.sweep(now);
    }
    if (!this.buckets.allow(ip, now)) return 'rate-limited';
    const req = parseDiscoveryRequest(msg);
    if (req === null) return 'malformed';
    const system = this.opts.registry.get(req.systemId);
    if (!system) return 'unknown-system';
    if (system.state !== 'active') return 'not-active';
    if (Math.abs(now - req.ts) > NAT_LIMITS.skewMs) return 'clock-skew';
    let key;
    try {
      key = this.opts.machineKeys.get(system.id, system.machineKey);
    } catch {
      return 'bad-signature';
    }
    if (!verifyEd25519(key, signedBytes(NAT_CONTEXT.discoveryRequest, req.signed), req.signature))
      return 'bad-signature';
    const admitted = this.nonces.admit(system.id, Buffer.from(req.nonce).toString('hex'), now);
    if (admitted === 'replay') return 'replay';
    if (admitted === 'rate-limited') return 'too-many-requests';

    const body = discoveryReplyBody(req.nonce, ip, srcPort);
    reply(withSignature(body, this.opts.signingKey.sign(signedBytes(NAT_CONTEXT.discoveryReply, body))), ip, srcPort);
    this.counts.answered++;
    if (this.opts.recordLoopback || !ip.startsWith('127.')) {
      const mapping = `${ip}:${srcPort}`;
      if (this.opts.registry.noteUdp(system, mapping)) {
        this.counts.recorded++;
        this.opts.log.debug(`discovery: ${system.identity} is at ${mapping} (UDP)`);
      }
    }
    return null;
  }
}
