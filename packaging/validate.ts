// Small, bounded readers for the installer files that no tool here can check: property lists
// (plutil is macOS-only), systemd unit files (beyond `systemd-analyze verify`) and the
// macros electron-builder fills into the deb/rpm scripts. packaging.test.ts uses them.

/** PlistValue is a value of an XML property list. */
export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

/** MAX_XML bounds what parsePlist reads. */
export const MAX_XML = 256 * 1024;

interface Element {
  name: string;
  children: Element[];
  text: string;
}

/**
 * parseXml checks that text is one well-formed XML document (declaration, DOCTYPE, comments,
 * elements with attributes, character data and the five predefined entities) and returns its
 * root element. It throws with the line of the first error.
 */
export function parseXml(text: string): Element {
  if (text.length > MAX_XML) throw new Error(`document is larger than ${MAX_XML} characters`);
  let i = 0;
  const line = (): number => text.slice(0, i).split('\n').length;
  const fail = (msg: string): never => {
    throw new Error(`line ${line()}: ${msg}`);
  };
  const skip = (open: string, close: string): void => {
    const end = text.indexOf(close, i + open.length);
    if (end < 0) fail(`${open} is never closed with ${close}`);
    i = end + close.length;
  };
  const stack: Element[] = [];
  let root: Element | null = null;
  if (text.startsWith('<?xml')) skip('<?xml', '?>');
  while (i < text.length) {
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end < 0) fail('comment is never closed');
      if (text.slice(i + 4, end).includes('--')) fail('"--" inside a comment');
      i = end + 3;
    } else if (text.startsWith('<!DOCTYPE', i)) {
      if (root !== null || stack.length > 0) fail('DOCTYPE after the root element');
      skip('<!DOCTYPE', '>');
    } else if (text.startsWith('<?', i)) {
      skip('<?', '?>');
    } else if (text.startsWith('</', i)) {
      const m = /^<\/([A-Za-z_][\w.-]*)\s*>/.exec(text.slice(i, i + 200));
      if (m === null) fail('malformed end tag');
      const open = stack.pop();
      if (open === undefined || open.name !== m![1]) fail(`</${m![1]}> does not close <${open?.name ?? '(nothing)'}>`);
      i += m![0].length;
    } else if (text[i] === '<') {
      const m = /^<([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(
        text.slice(i, i + 2000),
      );
      if (m === null) fail('malformed start tag');
      const el: Element = { name: m![1]!, children: [], text: '' };
      if (stack.length === 0) {
        if (root !== null) fail(`second root element <${el.name}>`);
        root = el;
      } else {
        stack[stack.length - 1]!.children.push(el);
      }
      if (m![3] !== '/') stack.push(el);
      i += m![0].length;
    } else {
      const end = text.indexOf('<', i);
      const chunk = text.slice(i, end < 0 ? text.length : end);
      if (stack.length === 0) {
        if (chunk.trim() !== '') fail('text outside the root element');
      } else {
        stack[stack.length - 1]!.text += decodeEntities(chunk, fail);
      }
      i = end < 0 ? text.length : end;
    }
  }
  if (stack.length > 0) fail(`<${stack[stack.length - 1]!.name}> is never closed`);
  if (root === null) fail('no root element');
  return root!;
}

function decodeEntities(s: string, fail: (msg: string) => never): string {
  return s.replace(/&([^;\s]{0,10});?/g, (whole, name: string) => {
    const map: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (!whole.endsWith(';') || !(name in map)) fail(`unknown or unterminated entity ${whole}`);
    return map[name]!;
  });
}

/** parsePlist reads an XML property list (the subset Warren's files use) into a value. */
export function parsePlist(text: string): PlistValue {
  const root = parseXml(text);
  if (root.name !== 'plist' || root.children.length !== 1) throw new Error('the root must be <plist> with one value');
  return plistValue(root.children[0]!);
}

function plistValue(el: Element): PlistValue {
  switch (el.name) {
    case 'string':
      return el.text;
    case 'integer':
      if (!/^\s*-?\d{1,15}\s*$/.test(el.text)) throw new Error(`<integer> holds ${JSON.stringify(el.text)}`);
      return Number(el.text);
    case 'true':
    case 'false':
      if (el.children.length > 0 || el.text.trim() !== '') throw new Error(`<${el.name}/> must be empty`);
      return el.name === 'true';
    case 'array':
      return el.children.map(plistValue);
    case 'dict': {
      const out: { [key: string]: PlistValue } = {};
      if (el.children.length % 2 !== 0) throw new Error('<dict> must hold key/value pairs');
      for (let k = 0; k < el.children.length; k += 2) {
        const key = el.children[k]!;
        if (key.name !== 'key') throw new Error(`<dict> has <${key.name}> where a <key> belongs`);
        if (key.text in out) throw new Error(`<dict> repeats the key ${key.text}`);
        out[key.text] = plistValue(el.children[k + 1]!);
      }
      return out;
    }
    default:
      throw new Error(`<${el.name}> is not a property-list value`);
  }
}

/** UnitFile maps "Section.Key" to the values it is given, in order. */
export type UnitFile = Map<string, string[]>;

/** parseUnitFile reads a systemd unit file's sections and keys (comments and blanks ignored). */
export function parseUnitFile(text: string): UnitFile {
  const out: UnitFile = new Map();
  let section = '';
  for (const [n, raw] of text.split('\n').entries()) {
    const l = raw.trim();
    if (l === '' || l.startsWith('#') || l.startsWith(';')) continue;
    const sec = /^\[([A-Za-z]+)\]$/.exec(l);
    if (sec !== null) {
      section = sec[1]!;
      continue;
    }
    const eq = l.indexOf('=');
    if (eq <= 0 || section === '')
      throw new Error(`line ${n + 1}: not a key=value inside a section: ${l.slice(0, 80)}`);
    const key = `${section}.${l.slice(0, eq).trim()}`;
    out.set(key, [...(out.get(key) ?? []), l.slice(eq + 1).trim()]);
  }
  return out;
}

/** BUILDER_MACRO is electron-builder's macro syntax in deb/rpm scripts (FpmTarget's writeConfigFile). */
export const BUILDER_MACRO = /\$\{([a-zA-Z]+)\}/g;

/**
 * renderBuilderScript fills the macros as electron-builder does for afterInstall/afterRemove;
 * like electron-builder it fails on a macro it does not know, which would break the build.
 */
export function renderBuilderScript(text: string, macros: Record<string, string>): string {
  return text.replace(BUILDER_MACRO, (_whole, name: string) => {
    if (!(name in macros)) throw new Error(`Macro ${name} is not defined`);
    return macros[name]!;
  });
}
