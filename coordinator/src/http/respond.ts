// Writing responses: JSON bodies, and errors in control.ts ControlErrorBody form.
import type { ServerResponse } from 'node:http';
import type { ControlErrorBody } from '../../../src-shared/wire/control.js';
import { ControlError } from './errors.js';

const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const;

/** sendJson writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** sendJsonBytes writes a body that already is JSON. */
export function sendJsonBytes(res: ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
  });
  res.end(body);
}

/** sendText writes a text body of the given content type (the metrics). */
export function sendText(res: ServerResponse, status: number, text: string, contentType: string): void {
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** sendNoContent writes 204. */
export function sendNoContent(res: ServerResponse): void {
  res.writeHead(204, COMMON_HEADERS);
  res.end();
}

/** sendError writes e as a ControlErrorBody; close asks the client to drop the connection
 * (used when a body was left unread). */
export function sendError(res: ServerResponse, e: ControlError, close = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body: ControlErrorBody & Record<string, unknown> = { ...e.extra, error: { code: e.code, message: e.message } };
  if (close) res.setHeader('connection', 'close');
  sendJson(res, e.status, body);
}
