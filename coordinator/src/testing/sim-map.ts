// SimMap: the map a simulated agent holds (agent-sim.ts), kept current from its watch stream's
// `map` and `delta` events as a helper does (helper/src/control/delta-apply.ts): a delta is
// applied only to the version held and only if the result hashes to its signed digest. The
// map is kept as its canonical text, not decoded, so the bench's thousands of agents cost about
// what their maps' bytes do. Signatures are checked when the caller asks (verify), so a bench
// pays for them where a helper would: on the maps it measures.
import { CONTROL_PROTOCOL, type SignedMap } from '../../../src-shared/wire/control.js';
import { MAP_DELTA_SIGNATURE_CONTEXT } from '../../../src-shared/wire/map-delta.js';
import { verifyEd25519 } from '../../../src-shared/lib/ed25519.js';
import { applyMapDelta, type HeldMap } from '../../../helper/src/control/delta-apply.js';
import { parseMapDelta } from '../../../helper/src/control/delta-parse.js';
import type { SimAgent } from './agent-sim.js';

/** Taken says what one event did: the version now held, whether it came as a delta, the
 * event's bytes, and what the full map of that version would have cost on the stream. */
export interface Taken {
  version: number;
  delta: boolean;
  bytes: number;
  fullBytes: number;
}

/** fullFrameBytes is the size of a full map's SSE event for a payload of n bytes. */
export function fullFrameBytes(n: number): number {
  // event line, {"type":"map","map":{"payload":"...","signature":"<88>"}}, blank line
  return 'event: map\ndata: {"type":"map","map":{"payload":"","signature":""}}\n\n'.length + Math.ceil(n / 3) * 4 + 88;
}

/** SimMap holds one agent's map. */
export class SimMap {
  version = 0;
  text = '';
  /** refused counts deltas that did not fit (another base, or a digest mismatch). */
  refused = 0;
  /** held is the decoded map deltas apply to, as the helper keeps it (delta-apply.ts). */
  private held: HeldMap | null = null;

  constructor(private readonly agent: SimAgent) {}

  /** take handles a watch event's data; null for events that carry no map (or a late one). */
  take(event: string, data: string, verify: boolean): Taken | null {
    if (event === 'map') {
      const signed = (JSON.parse(data) as { map: SignedMap }).map;
      const text = verify
        ? JSON.stringify(this.agent.verify(signed)) && Buffer.from(signed.payload, 'base64').toString('utf8')
        : Buffer.from(signed.payload, 'base64').toString('utf8');
      const v = /^\{"protocol":\d+,"version":(\d+),/.exec(text);
      if (!v) throw new Error('a map without a version');
      this.version = Number(v[1]);
      this.text = text;
      this.held = null;
      return { version: this.version, delta: false, bytes: data.length, fullBytes: data.length };
    }
    if (event !== 'delta') return null;
    const signed = (JSON.parse(data) as { delta: SignedMap }).delta;
    const bytes = Buffer.from(signed.payload, 'base64');
    if (verify) this.verifyDelta(bytes, signed.signature);
    const delta = parseMapDelta(JSON.parse(bytes.toString('utf8')));
    if (delta.systemId !== this.agent.systemId) throw new Error(`a delta for ${delta.systemId}`);
    if (delta.version <= this.version) return null;
    if (delta.baseVersion !== this.version || delta.protocol !== CONTROL_PROTOCOL) {
      this.refused++;
      return null;
    }
    const held = this.held ?? { version: this.version, raw: JSON.parse(this.text) as Record<string, unknown> };
    const next = applyMapDelta(held, delta);
    this.text = next.text;
    this.version = delta.version;
    this.held = { version: delta.version, raw: next.raw, texts: next.texts };
    return {
      version: this.version,
      delta: true,
      bytes: data.length,
      fullBytes: fullFrameBytes(Buffer.byteLength(this.text)),
    };
  }

  private verifyDelta(bytes: Buffer, signature: string): void {
    const key = Buffer.from(this.agent.coordinatorPublicKey, 'base64');
    const message = Buffer.concat([Buffer.from(MAP_DELTA_SIGNATURE_CONTEXT, 'utf8'), bytes]);
    if (!verifyEd25519(key, message, Buffer.from(signature, 'base64')))
      throw new Error('the delta signature does not verify with the pinned coordinator key');
  }
}
