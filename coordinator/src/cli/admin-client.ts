// The admin API client: what `warren-coordinator keys|systems|policy ...` and tests call.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_FILES, readServeInfo } from '../store/data-dir.js';
import { send } from '../http/client.js';

/** AdminTarget is where admin calls go. */
export interface AdminTarget {
  url: string;
  token: string;
  ca?: string | Buffer;
}

/** AdminResult is a decoded answer (body is the parsed JSON, or null). */
export interface AdminResult<T = unknown> {
  status: number;
  body: T;
}

/** adminCall sends one admin request; a string body is sent as is (the policy file), anything
 * else as JSON. */
export async function adminCall<T = unknown>(
  url: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  ca?: string | Buffer,
): Promise<AdminResult<T>> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const r = await send(`${url}${path}`, {
    method,
    headers,
    ...(payload !== undefined ? { body: payload } : {}),
    ...(ca ? { ca } : {}),
  });
  const text = r.body.toString('utf8');
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { error: { code: 'bad-response', message: text.slice(0, 300) } };
    }
  }
  return { status: r.status, body: parsed as T };
}

/** targetFromDataDir finds the running coordinator of a data dir (serve.json) and, unless the
 * token is given, reads its admin.token. */
export function targetFromDataDir(dir: string, token?: string): AdminTarget {
  const info = readServeInfo(dir);
  if (!info)
    throw new Error(
      `${join(dir, DATA_FILES.serve)} is missing: is \`warren-coordinator serve --data ${dir}\` running?`,
    );
  if (token === undefined) {
    try {
      token = readFileSync(join(dir, DATA_FILES.adminToken), 'utf8').trim();
    } catch (e) {
      throw new Error(`cannot read the admin token ${join(dir, DATA_FILES.adminToken)}: ${(e as Error).message}`);
    }
  }
  const target: AdminTarget = { url: info.url, token };
  if (info.tlsCert) target.ca = readFileSync(info.tlsCert);
  return target;
}
