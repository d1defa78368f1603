// Bounded request bodies. A body longer than its limit is refused as soon as that is known
// (from Content-Length, or while reading), and JSON is parsed strictly (duplicate keys,
// depth) with the helper's parser, whose errors carry a line and column.
import type { IncomingMessage } from 'node:http';
import { JsonSyntaxError, parseJson } from '../../../src-shared/lib/json.js';
import { ControlError } from './errors.js';

/** readBody collects the body up to limit bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(
      new ControlError('payload-too-large', `the body has ${declared} bytes (the limit is ${limit})`),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        finish(new ControlError('payload-too-large', `the body is longer than ${limit} bytes`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => finish(null));
    req.once('error', (e) =>
      finish(new ControlError('bad-request', `the request body could not be read: ${e.message}`)),
    );
    req.once('aborted', () => finish(new ControlError('bad-request', 'the request was aborted')));
  });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** decodeUtf8 refuses bytes that are not UTF-8 instead of replacing them. */
export function decodeUtf8(body: Uint8Array): string {
  try {
    return UTF8.decode(body);
  } catch {
    throw new ControlError('bad-request', 'the body is not valid UTF-8');
  }
}

/** parseJsonBody parses a JSON body or refuses it with where it broke. */
export function parseJsonBody(body: Uint8Array): unknown {
  const text = decodeUtf8(body);
  try {
    return parseJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new ControlError('bad-request', `the body is not valid JSON: ${e.message}`);
    throw e;
  }
}
