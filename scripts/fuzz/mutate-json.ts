// Structure-aware mutation for JSON inputs (profiles, policy files, network maps, API bodies):
// random bytes almost never survive a JSON parser, so the validators behind it would see only
// the seeds. These mutations parse the input, change one node of the tree and write it back,
// so every mutant is JSON and the fuzzer spends its time on the checks of fields.
import type { MutationContext } from './mutate.js';
import type { Rng } from './rng.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Slot = { parent: Json[] | { [k: string]: Json }; key: string | number };

const NUMBERS = [0, -0, 1, -1, 2, 7, 24, 32, 33, 64, 65, 255, 256, 1280, 1420, 9000, 65535, 65536, 1e21, -1e21, 1.5];
const NUMBERS_EDGE = [2 ** 31, 2 ** 32, 2 ** 53, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, 1e308, 5e-324];
const STRINGS = [
  '',
  ' ',
  'a',
  '0',
  '-',
  '*',
  'tag:',
  'tag:dev',
  'TAG:Dev',
  'G982V',
  '0.0.0.0/0',
  '100.64.0.1',
  '100.64.0.0/10',
  '255.255.255.255/32',
  '10.0.0.1/33',
  '192.0.2.1:51820',
  '[::1]:1',
  'fd00::/48',
  '1-65535',
  '22,443,8000-8100',
  '65536',
  '00:00',
  '24:00',
  'Europe/Berlin',
  'Not/AZone',
  'mon',
  'http://x/',
  '\u0000',
  '\n',
  '\ud800',
  'é',
  '__proto__',
  'constructor',
  'toString',
  'x'.repeat(64),
  'x'.repeat(300),
  'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=',
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
];

function slots(root: Json, out: Slot[], depth = 0): void {
  if (depth > 80 || root === null || typeof root !== 'object') return;
  if (Array.isArray(root)) {
    root.forEach((v, i) => {
      out.push({ parent: root, key: i });
      slots(v, out, depth + 1);
    });
  } else {
    for (const k of Object.keys(root)) {
      out.push({ parent: root, key: k });
      slots(root[k]!, out, depth + 1);
    }
  }
}

function get(s: Slot): Json {
  return Array.isArray(s.parent) ? s.parent[s.key as number]! : s.parent[s.key as string]!;
}

function set(s: Slot, v: Json): void {
  if (Array.isArray(s.parent)) s.parent[s.key as number] = v;
  else Object.defineProperty(s.parent, s.key, { value: v, enumerable: true, writable: true, configurable: true });
}

function interesting(rng: Rng, words: readonly string[], any: Json[]): Json {
  switch (rng.below(8)) {
    case 0:
      return rng.pick([null, true, false]);
    case 1:
      return rng.pick(rng.chance(3) ? NUMBERS_EDGE : NUMBERS);
    case 2:
      return rng.pick(STRINGS);
    case 3:
      return words.length > 0 ? rng.pick(words) : '';
    case 4:
      return rng.chance(2) ? [] : {};
    case 5:
      return any.length > 0 ? structuredClone(rng.pick(any)) : null;
    case 6:
      return rng.below(100_000) - 50_000;
    default: {
      const w = words.length > 0 ? rng.pick(words) : 'x';
      return rng.chance(2) ? `${w}${rng.pick(STRINGS)}` : w.toUpperCase();
    }
  }
}

function change(rng: Rng, s: Slot, words: readonly string[], values: Json[]): void {
  const v = get(s);
  switch (rng.below(7)) {
    case 0: // delete the member or element
      if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
      else delete s.parent[s.key as string];
      return;
    case 1: // duplicate it
      if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 0, structuredClone(v));
      else set({ parent: s.parent, key: words.length > 0 ? rng.pick(words) : `${s.key}x` }, structuredClone(v));
      return;
    case 2: // rename a member: a known key in another case, or another known key
      if (!Array.isArray(s.parent) && words.length > 0) {
        delete s.parent[s.key as string];
        const k = rng.pick(words);
        set({ parent: s.parent, key: rng.chance(3) ? k.toLowerCase() : k }, v);
        return;
      }
      set(s, interesting(rng, words, values));
      return;
    case 3: // wrap it
      set(s, rng.chance(2) ? [v] : { [rng.pick(words.length > 0 ? words : ['x'])]: v });
      return;
    case 4: // a number nudged or a string edited
      if (typeof v === 'number') set(s, rng.pick([v + 1, v - 1, v * 2, -v, v + 0.5, v * 65536]));
      else if (typeof v === 'string') set(s, editString(rng, v));
      else set(s, interesting(rng, words, values));
      return;
    default:
      set(s, interesting(rng, words, values));
  }
}

function editString(rng: Rng, v: string): string {
  const at = rng.below(v.length + 1);
  const c = String.fromCharCode(rng.chance(4) ? rng.below(0x10000) : 0x20 + rng.below(95));
  switch (rng.below(4)) {
    case 0:
      return v.slice(0, at) + c + v.slice(at);
    case 1:
      return v.slice(0, at) + v.slice(at + 1);
    case 2:
      return v.slice(0, at) + c + v.slice(at + 1);
    default:
      return v.repeat(1 + rng.below(20));
  }
}

/** collectWords gathers the keys and short strings of JSON seeds: the dictionary of their schema. */
export function collectWords(seeds: readonly Buffer[]): string[] {
  const words = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string' && v.length <= 64) words.add(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        words.add(k);
        walk(x);
      }
    }
  };
  for (const s of seeds) {
    try {
      walk(JSON.parse(s.toString('utf8')));
    } catch {
      // not JSON: nothing to learn from it
    }
  }
  return [...words];
}

/** mutateJson changes one to three nodes of the JSON in input, or returns null when the
 * input is not JSON (the caller falls back to byte mutations). */
export function mutateJson(input: Buffer, c: MutationContext, words: readonly string[]): Buffer | null {
  let root: Json;
  try {
    root = JSON.parse(input.toString('utf8')) as Json;
  } catch {
    return null;
  }
  const box: Json[] = [root];
  for (let i = 1 + c.rng.below(3); i > 0; i--) {
    const all: Slot[] = [{ parent: box, key: 0 }];
    slots(box[0]!, all);
    const values = all.map(get);
    change(c.rng, c.rng.pick(all), words, values);
    if (box.length === 0) box.push(null);
  }
  const indent = c.rng.chance(3) ? 2 : undefined;
  const text = JSON.stringify(box[0] ?? null, null, indent);
  const out = Buffer.from(text, 'utf8');
  return out.length > c.maxLen ? null : out;
}
