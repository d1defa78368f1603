// The peers' texts in a held map's prefix (delta-apply.ts MapPrefix): a delta that adds, changes
// or removes a peer writes the new peer list from each kept peer's JSON text, and a map held
// since a full map has those texts only inside its own text. Cutting them out of it is one scan
// of the bytes; writing each peer again with JSON.stringify cost a shared service's map (9,000
// peers) tens of milliseconds at its first such delta. The cut texts only stand in for
// JSON.stringify of the same peers: the map they make must still hash to the signed digest
// (delta-apply.ts applyMapDelta), so text that is not canonical costs a rewrite, never a map.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** PEERS_KEY opens the peer list's field. */
const PEERS_KEY = '"peers":[';

/** nextSeparator is the index of the first comma at the top level of text from `from` (not in a
 * string, object or array opened after from), or of the first bracket or brace that closes one
 * opened before it, or `to`; -1 when a string runs past `to`. The text is JSON that parsed, so
 * the scan only tracks strings (with their escapes) and nesting. */
function nextSeparator(text: string, from: number, to: number): number {
  let depth = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < to; i++) {
        const s = text.charCodeAt(i);
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
      if (i >= to) return -1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 0) return i;
      depth--;
    } else if (c === COMMA && depth === 0) return i;
  }
  return to;
}

/** peerTextsOf cuts the peer list's elements out of a prefix's text, in order: the prefix is
 * top-level fields, each followed by a comma, the last of them `"peers":[...]`. Null when the
 * text is not so shaped or an element is not an object. */
export function peerTextsOf(prefix: string): string[] | null {
  const end = prefix.length - 1;
  if (end < PEERS_KEY.length + 1 || prefix.charCodeAt(end) !== COMMA) return null;
  // Walk the fields to the one that opens the peer list; it must reach to the end.
  let at = 0;
  while (!prefix.startsWith(PEERS_KEY, at)) {
    const sep = nextSeparator(prefix, at, end);
    if (sep < 0 || sep >= end || prefix.charCodeAt(sep) !== COMMA) return null;
    at = sep + 1;
  }
  const out: string[] = [];
  const close = end - 1;
  if (prefix.charCodeAt(close) !== CLOSE_BRACKET) return null;
  let from = at + PEERS_KEY.length;
  if (from === close) return out;
  for (;;) {
    const sep = nextSeparator(prefix, from, close);
    if (sep < 0 || sep <= from) return null;
    if (prefix.charCodeAt(from) !== OPEN_BRACE || prefix.charCodeAt(sep - 1) !== CLOSE_BRACE) return null;
    out.push(prefix.slice(from, sep));
    if (sep === close) return out;
    if (prefix.charCodeAt(sep) !== COMMA) return null;
    from = sep + 1;
  }
}
