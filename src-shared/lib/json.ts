// A strict JSON parser (RFC 8259) that reports where it failed. Node 20's JSON.parse names
// neither line nor column, and silently keeps the last of two equal keys; in a hand-edited
// profile a repeated key is almost always a mistake, so here it is an error with a position.

/** JsonSyntaxError is a parse failure at a 1-based line and column. */
export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
  constructor(
    readonly problem: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`line ${line}, column ${column}: ${problem}`);
  }
}

/** JSON_MAX_DEPTH bounds nesting so hostile input cannot exhaust the stack. */
export const JSON_MAX_DEPTH = 64;
/** JSON_MAX_NUMBER_CHARS bounds one numeral: no setting needs more, and a longer one is refused. */
export const JSON_MAX_NUMBER_CHARS = 400;

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** parseJson parses text as one JSON value; a leading UTF-8 byte order mark is ignored. */
export function parseJson(text: string, maxDepth = JSON_MAX_DEPTH): unknown {
  return new Parser(text, maxDepth).parseDocument();
}

class Parser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {
    if (text.charCodeAt(0) === 0xfeff) this.pos = 1;
  }

  parseDocument(): unknown {
    this.skipSpace();
    if (this.pos >= this.text.length) this.fail('the file is empty (expected a JSON object)');
    const value = this.parseValue(0);
    this.skipSpace();
    if (this.pos < this.text.length) this.fail(`unexpected ${this.describe()} after the end of the JSON value`);
    return value;
  }

  private fail(problem: string, at = this.pos): never {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at && i < this.text.length; i++) {
      if (this.text.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    throw new JsonSyntaxError(problem, line, at - lineStart + 1);
  }

  private describe(): string {
    if (this.pos >= this.text.length) return 'end of file';
    const c = this.text[this.pos]!;
    const code = c.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) return `control character U+${code.toString(16).padStart(4, '0').toUpperCase()}`;
    return `character ${JSON.stringify(c)}`;
  }

  private skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else break;
    }
  }

  private parseValue(depth: number): unknown {
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.parseObject(depth + 1);
      case '[':
        return this.parseArray(depth + 1);
      case '"':
        return this.parseString();
      case 't':
        return this.parseLiteral('true', true);
      case 'f':
        return this.parseLiteral('false', false);
      case 'n':
        return this.parseLiteral('null', null);
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.parseNumber();
        if (c === "'") this.fail('strings must use double quotes');
        return this.fail(`unexpected ${this.describe()} (expected a value)`);
    }
  }

  private enter(depth: number): void {
    if (depth > this.maxDepth) this.fail(`nesting is deeper than ${this.maxDepth} levels`);
  }

  private parseObject(depth: number): Record<string, unknown> {
    this.enter(depth);
    this.pos++; // '{'
    const out: Record<string, unknown> = {};
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] !== '"') {
        if (this.text[this.pos] === '}') this.fail('trailing comma before "}"');
        this.fail(`unexpected ${this.describe()} (expected a key in double quotes)`);
      }
      const keyAt = this.pos;
      const key = this.parseString();
      if (Object.hasOwn(out, key)) this.fail(`duplicate key ${JSON.stringify(key)}`, keyAt);
      this.skipSpace();
      if (this.text[this.pos] !== ':') this.fail(`unexpected ${this.describe()} (expected ":" after the key)`);
      this.pos++;
      this.skipSpace();
      // defineProperty keeps a key named "__proto__" as plain data instead of a prototype change.
      Object.defineProperty(out, key, {
        value: this.parseValue(depth),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.skipSpace();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        return out;
      }
      this.fail(`unexpected ${this.describe()} (expected "," or "}")`);
    }
  }

  private parseArray(depth: number): unknown[] {
    this.enter(depth);
    this.pos++; // '['
    const out: unknown[] = [];
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === ']') this.fail('trailing comma before "]"');
      out.push(this.parseValue(depth));
      this.skipSpace();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return out;
      }
      this.fail(`unexpected ${this.describe()} (expected "," or "]")`);
    }
  }

  private parseString(): string {
    const start = this.pos;
    this.pos++; // opening quote
    let out = '';
    let chunkStart = this.pos;
    const t = this.text;
    for (;;) {
      if (this.pos >= t.length) this.fail('unterminated string', start);
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        out += t.slice(chunkStart, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail(`${this.describe()} inside a string (escape it)`);
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += t.slice(chunkStart, this.pos);
      const e = t[this.pos + 1];
      if (e === 'u') {
        const hex = t.slice(this.pos + 2, this.pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape (expected 4 hex digits)');
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += 6;
      } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
        out += ESCAPES[e];
        this.pos += 2;
      } else {
        // A control character after the backslash (a line break, say) is named, not copied:
        // a problem is one line of a report or a log.
        this.pos += 1;
        const bad = e !== undefined && (e < ' ' || e === '\x7f') ? `"\\" then ${this.describe()}` : `"\\${e ?? ''}"`;
        this.pos -= 1;
        this.fail(`bad escape ${bad} in a string`);
      }
      chunkStart = this.pos;
    }
  }

  private parseNumber(): number {
    // One character past the bound shows a numeral longer than it (which would otherwise be cut
    // there and blamed on the digit after the cut).
    const window = this.text.slice(this.pos, this.pos + JSON_MAX_NUMBER_CHARS + 1);
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(window);
    if (!m) this.fail('bad number');
    if (m[0].length > JSON_MAX_NUMBER_CHARS) this.fail(`number longer than ${JSON_MAX_NUMBER_CHARS} characters`);
    const after = this.text[this.pos + m[0].length];
    if (after !== undefined && /[0-9.eE+-]/.test(after))
      this.fail('bad number (leading zeros and "+" are not allowed)');
    const n = Number(m[0]);
    if (!Number.isFinite(n)) this.fail('number out of range');
    this.pos += m[0].length;
    return n;
  }

  private parseLiteral<T>(word: string, value: T): T {
    if (this.text.startsWith(word, this.pos)) {
      const after = this.text[this.pos + word.length];
      if (after === undefined || !/[A-Za-z0-9_]/.test(after)) {
        this.pos += word.length;
        return value;
      }
    }
    return this.fail(`unexpected ${this.describe()} (expected a value)`);
  }
}
