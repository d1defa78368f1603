// The console's one way to the admin API: same-origin fetch with the session cookie (sent by
// the browser, never visible here) and the X-Warren-Console header every changing request
// needs (coordinator/src/console/session.ts). Errors become ApiError with the coordinator's
// own message, which the pages show where the action was.
import type { ControlErrorBody } from '../src-shared/wire/control.js';

/** ApiError is a refused or failed call: HTTP status, control.ts code, message, and the body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

let onUnauthorized: () => void = () => undefined;

/** whenLoggedOut is called when a call finds the session gone (401). */
export function whenLoggedOut(fn: () => void): void {
  onUnauthorized = fn;
}

/** api sends one request; body: a string goes as is (the policy file), anything else as JSON. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { 'x-warren-console': '1' };
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    headers['content-type'] = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
  }
  let r: Response;
  try {
    r = await fetch(path, { method, headers, credentials: 'same-origin', body: payload ?? null });
  } catch (e) {
    throw new ApiError(0, 'unreachable', `the coordinator cannot be reached (${(e as Error).message})`, null);
  }
  const text = await r.text();
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (r.ok) return parsed as T;
  const err = (parsed as Partial<ControlErrorBody> | null)?.error;
  const e = new ApiError(r.status, err?.code ?? `http-${r.status}`, err?.message ?? `HTTP ${r.status}`, parsed);
  if (r.status === 401 && path !== '/v1/admin/session') onUnauthorized();
  throw e;
}

/** errorText is what to show for a failed call. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
