// A map's `policies` JSON (netmap.ts layout), rendered from one template per class of systems.
// Systems named by the same policies on the same sides (a class, peer-classes.ts) get the same
// policies text but for their own identity, which stands alone on the side they are on (a
// sender does not need to know its fellow senders). So the text is made once per class and
// World as a template with a gap for the identity, and each member's map fills the gap.
//
// The template also gives the delta's part digest of `policies` (delta.ts partDigests): a
// system's identity never changes (the registry issues it once, at insert), so two of its maps
// have the same policies text exactly when their templates are equal. The publisher then keeps
// one digest per class instead of hashing every map's policies (at 10,000 systems, a policy
// pass hashed 10,000 of them, some a shared service's thousands of senders).
import { hash } from 'node:crypto';
import { viaJson } from './people.js';
import type { World } from './world.js';

/** PoliciesText is a map's policies JSON and, when its class's template made it, the
 * template's SHA-256 (otherwise null: the text itself is to be hashed). */
export interface PoliciesText {
  json: string;
  digest: Buffer | null;
}

/** Template is a class's policies text as literal pieces, with null where the identity goes
 * (as a one-item JSON list). */
interface Template {
  pieces: (string | null)[];
  digest: Buffer;
}

/** TEMPLATE_DOMAIN starts a template's hash input, and GAP stands for the identity in it: JSON
 * text never holds a raw U+0000 (RFC 8259 §7: control characters are escaped), so neither can
 * be mistaken for a piece, and a template's digest never equals a text's. */
const TEMPLATE_DOMAIN = '\u0000policies template\u0000';
const GAP = '\u0000';

/** PolicyTexts renders maps' policies, one template per class key and World. */
export class PolicyTexts {
  private world: World | null = null;
  private readonly templates = new Map<string, Template>();

  /** of renders the policies of `me`, named by the World's policies `involved` (indexes) on the
   * sides its class `key` (peer-classes.ts classKey) tells. */
  of(w: World, me: string, involved: readonly number[], key: string): PoliciesText {
    // Only maps of policies that name people carry the explanation (`via`), which depends on
    // the member itself: those are rendered alone.
    if (involved.some((i) => w.policies[i]!.via.size > 0)) return { json: alone(w, me, involved), digest: null };
    if (w !== this.world) {
      this.templates.clear();
      this.world = w;
    }
    let t = this.templates.get(key);
    if (!t) this.templates.set(key, (t = template(w, me, involved)));
    const meJson = `[${JSON.stringify(me)}]`;
    let json = '';
    for (const piece of t.pieces) json += piece ?? meJson;
    return { json, digest: t.digest };
  }
}

/** template makes the class's template from one member's involvement. */
function template(w: World, me: string, involved: readonly number[]): Template {
  const pieces: (string | null)[] = [];
  let literal = '[';
  const gap = (): void => {
    pieces.push(literal, null);
    literal = '';
  };
  involved.forEach((i, n) => {
    const p = w.policies[i]!;
    const inS = p.senders.has(me);
    const inR = p.receivers.has(me);
    literal += `${n === 0 ? '' : ','}{"name":${p.nameJson},"senders":`;
    if (inS && !inR) gap();
    else literal += p.sendersJson;
    literal += ',"receivers":';
    if (inR && !inS) gap();
    else literal += p.receiversJson;
    literal += `,${p.tailJson}}`;
  });
  pieces.push(literal + ']');
  const input = TEMPLATE_DOMAIN + pieces.map((x) => x ?? GAP).join('');
  return { pieces, digest: hash('sha256', input, 'buffer') };
}

/** alone renders the policies of one system whose policies name people (with `via`). */
function alone(w: World, me: string, involved: readonly number[]): string {
  const out: string[] = [];
  for (const i of involved) {
    const p = w.policies[i]!;
    const inS = p.senders.has(me);
    const inR = p.receivers.has(me);
    const senders = inS && !inR ? `[${JSON.stringify(me)}]` : p.sendersJson;
    const receivers = inR && !inS ? `[${JSON.stringify(me)}]` : p.receiversJson;
    const via = viaJson(p.via, [...(inS && !inR ? [me] : p.senders), ...(inR && !inS ? [me] : p.receivers)]);
    out.push(`{"name":${p.nameJson},"senders":${senders},"receivers":${receivers},${p.tailJson}${via}}`);
  }
  return `[${out.join(',')}]`;
}
