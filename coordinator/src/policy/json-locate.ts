// Key path → line and column in a JSON text. The helper's parser (src-shared/lib/json.ts)
// reports where the syntax breaks; validators report key paths like Policies[2].Acls[0].Ports
// (src-shared/lib/errors.ts). This maps the second to the first, so a refused policy file
// says FILE:LINE:COL. Run it only on text that parseJson accepted.
import { childPath, indexPath } from '../../../src-shared/lib/errors.js';

/** Position is 1-based. */
export interface Position {
  line: number;
  column: number;
}

/** JsonLocator answers where a key path is written. */
export interface JsonLocator {
  /** locate returns the position of path, or of its nearest ancestor that is written. */
  locate(path: string): Position;
}

const LAST_SEGMENT = /(?:\.[A-Za-z_][A-Za-z0-9_]*|\[(?:\d+|"(?:[^"\\]|\\.)*")\])$/;

/** locateJson indexes every object member (at its key) and array element (at its value). */
export function locateJson(text: string): JsonLocator {
  const scan = new PositionScanner(text);
  scan.skipSpace();
  const root = scan.here();
  if (scan.pos < text.length) scan.value('');
  const positions = scan.positions;
  return {
    locate(path: string): Position {
      let p = path;
      for (;;) {
        const found = positions.get(p);
        if (found) return found;
        const m = LAST_SEGMENT.exec(p);
        if (!m || m.index === 0) {
          // A top-level key: "Policies" has no "." before it.
          if (p !== '' && positions.has(p)) return positions.get(p)!;
          return root;
        }
        p = p.slice(0, m.index);
      }
    },
  };
}

/** PositionScanner walks text that parseJson accepted and records where each path is written. */
class PositionScanner {
  readonly positions = new Map<string, Position>();
  pos: number;
  private line = 1;
  private lineStart = 0;

  constructor(private readonly text: string) {
    this.pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  }

  here(): Position {
    return { line: this.line, column: this.pos - this.lineStart + 1 };
  }

  skipSpace(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x0a) {
        this.line++;
        this.lineStart = this.pos + 1;
      } else if (c !== 0x20 && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  /** value skips the value at pos, recording the members and elements inside it under path. */
  value(path: string): void {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === '{') this.object(path);
    else if (c === '[') this.array(path);
    else if (c === '"') this.readString();
    else this.skipScalar();
  }

  private object(path: string): void {
    this.pos++;
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === '}') {
        this.pos++;
        return;
      }
      if (this.text[this.pos] === ',') {
        this.pos++;
        continue;
      }
      const at = this.here();
      const key = this.readString();
      const child = childPath(path, key);
      this.positions.set(child, at);
      this.skipSpace();
      this.pos++; // ':'
      this.value(child);
    }
  }

  private array(path: string): void {
    this.pos++;
    let i = 0;
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === ']') {
        this.pos++;
        return;
      }
      if (this.text[this.pos] === ',') {
        this.pos++;
        continue;
      }
      const child = indexPath(path, i++);
      this.positions.set(child, this.here());
      this.value(child);
    }
  }

  private readString(): string {
    const start = this.pos;
    this.pos++;
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x5c) this.pos += 2;
      else if (c === 0x22) break;
      else this.pos++;
    }
    this.pos++;
    return JSON.parse(this.text.slice(start, this.pos)) as string;
  }

  private skipScalar(): void {
    while (this.pos < this.text.length && !/[\s,\]}]/.test(this.text[this.pos]!)) this.pos++;
  }
}
