// The pages the person's browser gets from the sign-in routes: the outcome of the callback, the
// confirmation form, and what Confirm or Cancel did. Text only, escaped, no script and no style,
// under a Content-Security-Policy as strict as the web console's (console/static.ts) except
// that the one form may post to this origin (CSP Level 3 form-action), and never framed
// (frame-ancestors, RFC 7034 X-Frame-Options): a framed Confirm button could be clicked by a
// page the person did not mean to use. The referrer policy is same-origin rather than
// no-referrer because under no-referrer a browser sends "Origin: null" with a form's POST (Fetch
// Standard, "append a request Origin header"), and the confirmation checks that Origin.
import type { ServerResponse } from 'node:http';
import { LOGIN_PATHS } from '../../../src-shared/wire/login.js';

/** SIGN_IN_PAGE_CSP is the Content-Security-Policy of every sign-in page. */
export const SIGN_IN_PAGE_CSP = "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': SIGN_IN_PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
  'content-type': 'text/html; charset=utf-8',
};

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function send(res: ServerResponse, status: number, title: string, body: string): void {
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Warren: ${esc(title)}</title></head><body><h1>${esc(title)}</h1>${body}</body></html>`;
  res.writeHead(status, { ...HEADERS, 'content-length': Buffer.byteLength(html) });
  res.end(html);
}

/** textPage answers with a title and paragraphs. */
export function textPage(res: ServerResponse, status: number, title: string, lines: string[]): void {
  send(res, status, title, lines.map((l) => `<p>${esc(l)}</p>`).join(''));
}

/** ConfirmFacts are what the confirmation page names: the person, the system, the code. */
export interface ConfirmFacts {
  email: string;
  hostname: string;
  code: string;
  token: string;
}

/** confirmPage asks the person to confirm enrolling the system named by the login. */
export function confirmPage(res: ServerResponse, f: ConfirmFacts): void {
  const body =
    `<p>You signed in as <strong data-testid="confirm-email">${esc(f.email)}</strong>.</p>` +
    `<p>Enrol the system <strong data-testid="confirm-hostname">${esc(f.hostname)}</strong> as yours? ` +
    `It printed the code <strong data-testid="confirm-code">${esc(f.code)}</strong>.</p>` +
    '<p>Check that this code is the one your own warren login or app shows. If it is not, or you did not ' +
    'start this sign-in yourself, press Cancel: someone may have sent you their link to have their system ' +
    'enrolled as yours.</p>' +
    `<form method="post" action="${LOGIN_PATHS.confirm}">` +
    `<input type="hidden" name="token" value="${esc(f.token)}">` +
    '<button type="submit" name="action" value="confirm">Confirm</button> ' +
    '<button type="submit" name="action" value="cancel">Cancel</button>' +
    '</form>';
  send(res, 200, 'Confirm this system', body);
}
