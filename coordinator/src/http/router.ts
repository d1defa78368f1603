// A small route table: method and path pattern (":name" segments) to a handler.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ControlError } from './errors.js';

/** RequestContext is what a handler gets. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  /** path is the URL path; query its parsed query string. */
  path: string;
  query: URLSearchParams;
  /** remoteIp is the peer's address, IPv4-mapped IPv6 written as IPv4. */
  remoteIp: string | null;
}

/** Handler serves one route. */
export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

/** Router matches requests to handlers. */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, parts: pattern.split('/'), handler });
    return this;
  }

  /** match returns the handler and params, or throws not-found / bad-request (wrong method). */
  match(method: string, path: string): { handler: Handler; params: Record<string, string> } {
    const parts = path.split('/');
    let pathMatched = false;
    for (const r of this.routes) {
      const params = matchParts(r.parts, parts);
      if (!params) continue;
      pathMatched = true;
      if (r.method === method) return { handler: r.handler, params };
    }
    if (pathMatched)
      throw new ControlError(
        'bad-request',
        `${method} is not allowed on ${path}`,
        { allowed: this.methodsFor(parts) },
        405,
      );
    throw new ControlError('not-found', `there is no route ${path.slice(0, 200)}`);
  }

  private methodsFor(parts: string[]): string[] {
    return this.routes.filter((r) => matchParts(r.parts, parts)).map((r) => r.method);
  }
}

function matchParts(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const v = parts[i]!;
    if (p.startsWith(':')) {
      if (v === '' || v.length > 128) return null;
      let decoded: string;
      try {
        decoded = decodeURIComponent(v);
      } catch {
        return null;
      }
      params[p.slice(1)] = decoded;
    } else if (p !== v) {
      return null;
    }
  }
  return params;
}
