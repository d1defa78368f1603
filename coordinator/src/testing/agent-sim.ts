// A reference agent: the smallest client of the control contract (control.ts). It enrols with
// generated keys, signs requests with its machine key and parses the watch stream. Tests and
// the bench use it; the helper's real client lives in helper/src/control and shares nothing
// with this file but the contract.
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import {
  AGENT_AUTH,
  CONTROL_LIMITS,
  CONTROL_PATHS,
  CONTROL_PROTOCOL,
  type DiscoveryKeyResponse,
  type EndpointReport,
  type EnrolRequest,
  type EnrolResponse,
  type NetworkMap,
  type RelayTokenResponse,
  type SignedMap,
  type WatchEvent,
} from '../../../src-shared/wire/control.js';
import { NAT_CONTEXT, signedBytes, withMac, withSignature } from '../../../src-shared/wire/nat-wire.js';
import { natMac } from '../../../src-shared/lib/nat-keys.js';
import { discoveryRequestBody } from '../../../src-shared/wire/nat-discovery.js';
import { enrolProofMessage } from '../api/enrol.js';
import { signingString } from '../auth/agent-auth.js';
import { ED25519, privateKeyFromSeed, rawPublicKey as rawEd25519PublicKey } from '../../../src-shared/lib/ed25519.js';
import { generatePrivateKey, publicKeyFromPrivate } from '../../../src-shared/lib/keys.js';
import { openStream, send, type HttpResponse } from '../http/client.js';
import { verifySignedMap } from '../auth/signing.js';
import { SseParser } from '../../../src-shared/lib/sse.js';

/** AgentKeys are an agent's WireGuard (X25519) and machine (Ed25519) keys. */
export interface AgentKeys {
  wireguardPublicKey: string;
  machinePublicKey: string;
  machinePrivateKey: KeyObject;
}

/** generateAgentKeys makes a fresh key pair of each kind from random bytes, as the helper does.
 * Not generateKeyPairSync: in Node 20 a collected key-generation job can deadlock the thread
 * when the GC runs it during a JWK export of the key it made (seen as a hung test run). */
export function generateAgentKeys(): AgentKeys {
  const machine = privateKeyFromSeed(randomBytes(ED25519.seed));
  return {
    wireguardPublicKey: publicKeyFromPrivate(generatePrivateKey()).toString('base64'),
    machinePublicKey: rawEd25519PublicKey(machine).toString('base64'),
    machinePrivateKey: machine,
  };
}

/** buildEnrolRequest makes a correctly signed EnrolRequest (tests then break pieces of it). */
export function buildEnrolRequest(
  keys: AgentKeys,
  enrolmentKey: string,
  hostname: string,
  endpoints: string[] = [],
  ts = Date.now(),
): EnrolRequest {
  const proof = sign(
    null,
    enrolProofMessage(enrolmentKey, keys.wireguardPublicKey, ts),
    keys.machinePrivateKey,
  ).toString('base64');
  return {
    protocol: CONTROL_PROTOCOL,
    enrolmentKey,
    wireguardPublicKey: keys.wireguardPublicKey,
    machinePublicKey: keys.machinePublicKey,
    hostname,
    ts,
    proof,
    endpoints,
  };
}

/** authHeader signs one request (control.ts AGENT_AUTH). */
export function authHeader(
  keys: AgentKeys,
  systemId: string,
  method: string,
  pathWithQuery: string,
  body: Uint8Array,
  ts = Date.now(),
  nonce = randomBytes(16).toString('hex'),
): string {
  const sig = sign(
    null,
    Buffer.from(signingString(method, pathWithQuery, ts, nonce, body), 'utf8'),
    keys.machinePrivateKey,
  );
  return `${AGENT_AUTH.scheme} system=${systemId},ts=${ts},nonce=${nonce},sig=${sig.toString('base64')}`;
}

/** AgentError is a non-2xx answer with its control.ts code. */
export class AgentError extends Error {
  override name = 'AgentError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}

function errorOf(r: HttpResponse): AgentError {
  try {
    const b = JSON.parse(r.body.toString('utf8')) as { error?: { code?: string; message?: string } };
    return new AgentError(r.status, b.error?.code ?? '?', b.error?.message ?? '');
  } catch {
    return new AgentError(r.status, '?', r.body.toString('utf8').slice(0, 200));
  }
}

/** WatchHandle is an open watch stream. */
export interface WatchHandle {
  close(): void;
  /** done settles when the stream ends (by either side). */
  done: Promise<void>;
}

/** SimAgent is one simulated system. */
export class SimAgent {
  readonly keys: AgentKeys;
  systemId = '';
  identity = '';
  coordinatorPublicKey = '';
  /** discoveryKey MACs discovery requests: fetchDiscoveryKey sets it (tests may set another). */
  discoveryKey: Buffer | null = null;

  constructor(
    readonly url: string,
    opts: { keys?: AgentKeys; ca?: string | Buffer } = {},
  ) {
    this.keys = opts.keys ?? generateAgentKeys();
    this.ca = opts.ca;
  }

  private readonly ca: string | Buffer | undefined;

  /** enrol joins the network; it remembers the system id and pins the coordinator's key. */
  async enrol(enrolmentKey: string, hostname: string, endpoints: string[] = []): Promise<EnrolResponse> {
    const body = JSON.stringify(buildEnrolRequest(this.keys, enrolmentKey, hostname, endpoints));
    const r = await send(`${this.url}${CONTROL_PATHS.enrol}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
      ca: this.ca,
    });
    if (r.status !== 200 && r.status !== 201) throw errorOf(r);
    const res = JSON.parse(r.body.toString('utf8')) as EnrolResponse;
    this.systemId = res.systemId;
    this.identity = res.identity;
    this.coordinatorPublicKey = res.coordinatorPublicKey;
    return res;
  }

  /** signed sends a signed request and returns the raw response. */
  signed(method: string, pathWithQuery: string, body = ''): Promise<HttpResponse> {
    const bytes = Buffer.from(body, 'utf8');
    const headers: Record<string, string> = {
      authorization: authHeader(this.keys, this.systemId, method, pathWithQuery, bytes),
    };
    if (body !== '') headers['content-type'] = 'application/json';
    return send(`${this.url}${pathWithQuery}`, {
      method,
      headers,
      ...(body !== '' ? { body: bytes } : {}),
      ca: this.ca,
    });
  }

  /** verify checks a signed map against the pinned key and that it is addressed to this agent. */
  verify(signed: SignedMap): NetworkMap {
    const payload = verifySignedMap(this.coordinatorPublicKey, signed);
    if (!payload) throw new Error('the map signature does not verify with the pinned coordinator key');
    const map = JSON.parse(payload.toString('utf8')) as NetworkMap;
    if (map.systemId !== this.systemId)
      throw new Error(`the map is addressed to ${map.systemId}, not ${this.systemId}`);
    return map;
  }

  async getMap(): Promise<NetworkMap> {
    const r = await this.signed('GET', CONTROL_PATHS.map);
    if (r.status !== 200) throw errorOf(r);
    return this.verify(JSON.parse(r.body.toString('utf8')) as SignedMap);
  }

  async reportEndpoints(report: EndpointReport): Promise<void> {
    const r = await this.signed('POST', CONTROL_PATHS.endpoints, JSON.stringify(report));
    if (r.status !== 204) throw errorOf(r);
  }

  /** relayToken asks for a token for the relay the map lists as relay (default: the embedded one). */
  async relayToken(relay = 'coordinator'): Promise<RelayTokenResponse> {
    const r = await this.signed('POST', CONTROL_PATHS.relayToken, JSON.stringify({ relay }));
    if (r.status !== 200) throw errorOf(r);
    return JSON.parse(r.body.toString('utf8')) as RelayTokenResponse;
  }

  /** fetchDiscoveryKey gets (and keeps) the key discoveryRequest MACs with. */
  async fetchDiscoveryKey(): Promise<Buffer> {
    const r = await this.signed('POST', CONTROL_PATHS.discoveryKey, '{}');
    if (r.status !== 200) throw errorOf(r);
    this.discoveryKey = Buffer.from((JSON.parse(r.body.toString('utf8')) as DiscoveryKeyResponse).key, 'base64');
    return this.discoveryKey;
  }

  /** punch asks the coordinator to tell peer (an identity) to probe this system now. */
  async punch(peer: string): Promise<void> {
    const r = await this.signed('POST', CONTROL_PATHS.punch, JSON.stringify({ peer }));
    if (r.status !== 204) throw errorOf(r);
  }

  /** discoveryRequest builds a MACed and signed discovery datagram (nat-discovery.ts) for the
   * UDP port; fetchDiscoveryKey (or setting discoveryKey) comes first. */
  discoveryRequest(ts = Date.now(), nonce: Uint8Array = randomBytes(16)): Uint8Array {
    if (this.discoveryKey === null) throw new Error('no discovery key: call fetchDiscoveryKey first');
    const body = discoveryRequestBody(this.systemId, ts, nonce);
    const maced = withMac(body, natMac(this.discoveryKey, NAT_CONTEXT.discoveryMac, body));
    return withSignature(
      maced,
      sign(null, signedBytes(NAT_CONTEXT.discoveryRequest, maced), this.keys.machinePrivateKey),
    );
  }

  /** watch opens the stream; onEvent gets each event's name and raw data (JSON of a WatchEvent).
   * With deltas, it asks for map deltas (map-delta.ts WATCH_DELTA_PARAM; sim-map.ts applies them),
   * with batch also for batch-signed ones (WATCH_BATCH_PARAM). */
  async watch(
    onEvent: (event: string, data: string) => void,
    since?: number,
    opts: { deltas?: boolean; batch?: boolean } = {},
  ): Promise<WatchHandle> {
    const query = [
      ...(since === undefined ? [] : [`since=${since}`]),
      ...(opts.deltas ? ['deltas=1'] : []),
      ...(opts.batch ? ['batch=1'] : []),
    ];
    const path = query.length === 0 ? CONTROL_PATHS.watch : `${CONTROL_PATHS.watch}?${query.join('&')}`;
    const headers = {
      authorization: authHeader(this.keys, this.systemId, 'GET', path, Buffer.alloc(0)),
      accept: 'text/event-stream',
    };
    const { res, abort } = await openStream(`${this.url}${path}`, { method: 'GET', headers, ca: this.ca });
    if (res.statusCode !== 200) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw errorOf({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
    }
    res.setEncoding('utf8');
    const parser = new SseParser(CONTROL_LIMITS.mapBytes * 2);
    const done = new Promise<void>((resolve) => {
      res.on('data', (chunk: string) => {
        try {
          for (const ev of parser.feed(chunk)) onEvent(ev.event, ev.data);
        } catch {
          abort(); // an oversized event ends the stream; 'close' resolves
        }
      });
      res.on('end', resolve);
      res.on('close', resolve);
      res.on('error', () => resolve());
    });
    return { close: abort, done };
  }
}

/** parseWatchEvent parses one event's data. */
export function parseWatchEvent(data: string): WatchEvent {
  return JSON.parse(data) as WatchEvent;
}

/** peekMapVersion reads a map event's version from the start of its payload without decoding
 * the rest (the bench's watchers receive megabytes; the version is in the first bytes). */
export function peekMapVersion(data: string): number | null {
  const at = data.indexOf('"payload":"');
  if (at < 0) return null;
  const head = Buffer.from(data.slice(at + 11, at + 11 + 96), 'base64').toString('utf8');
  const m = /"version":(\d+)/.exec(head);
  return m ? Number(m[1]) : null;
}
