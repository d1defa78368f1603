// Key path → line and column in a JSON text. The helper's parser (helper/src/config/json.ts)
// reports where the syntax breaks; validators report key paths like Policies[2].Acls[0].Ports
// (helper/src/config/errors.ts). This maps the second to the first, so a refused policy file
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
  const positions = new Map<string, Position>();
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let lineStart = 0;

  const here = (): Position => ({ line, column: pos - lineStart + 1 });
  const skipSpace = (): void => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x0a) {
        line++;
        lineStart = pos + 1;
      } else if (c !== 0x20 && c !== 0x0d && c !== 0x09) return;
      pos++;
    }
  };
  const readString = (): string => {
    const start = pos;
    pos++;
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x5c) pos += 2;
      else if (c === 0x22) break;
      else pos++;
    }
    pos++;
    return JSON.parse(text.slice(start, pos)) as string;
  };
  const skipScalar = (): void => {
    while (pos < text.length && !/[\s,\]}]/.test(text[pos]!)) pos++;
  };
  const value = (path: string): void => {
    skipSpace();
    const c = text[pos];
    if (c === '{') {
      pos++;
      for (;;) {
        skipSpace();
        if (text[pos] === '}') {
          pos++;
          return;
        }
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        const at = here();
        const key = readString();
        const child = childPath(path, key);
        positions.set(child, at);
        skipSpace();
        pos++; // ':'
        value(child);
      }
    } else if (c === '[') {
      pos++;
      let i = 0;
      for (;;) {
        skipSpace();
        if (text[pos] === ']') {
          pos++;
          return;
        }
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        const child = indexPath(path, i++);
        positions.set(child, here());
        value(child);
      }
    } else if (c === '"') {
      readString();
    } else {
      skipScalar();
    }
  };

  skipSpace();
  const root = here();
  if (pos < text.length) value('');
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
