// The identity providers the coordinator accepts sign-ins from (`serve --oidc FILE`,
// docs/coordinator.md "Signing in"). The file is JSON:
//   { "PublicUrl": "https://coord.example.com:8443",
//     "Providers": [ { "Name": "corp", "Issuer": "https://login.example.com", "ClientId": "warren",
//       "ClientSecretFile": "/etc/warren/oidc-corp.secret", "Scopes": ["openid", "email", "groups"],
//       "EmailClaim": "email", "GroupsClaim": "groups", "AllowedDomains": ["example.com"],
//       "Approval": "automatic" } ],
//     "RecheckSeconds": 300 }
// The client secret lives in its own file, readable by the coordinator's user only, so it is
// never on a command line (visible in ps) or in a file that is shared to show the setup.
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { childPath, didYouMean, indexPath, isObject, quote, typeName } from '../../../src-shared/lib/errors.js';
import { normaliseTag } from '../../../src-shared/lib/policy-parse.js';
import { LOGIN_LIMITS } from '../../../src-shared/wire/login.js';

/** OIDC_LIMITS bound the file. */
export const OIDC_LIMITS = {
  fileBytes: 64 * 1024,
  providers: 16,
  secretBytes: 4096,
  scopes: 32,
  domains: 256,
  /** recheck bounds RecheckSeconds: not so often that every user costs the provider a request a
   * second, not so seldom that a group change waits more than a day. */
  recheckMinS: 2,
  recheckMaxS: 86_400,
  recheckDefaultS: 300,
} as const;

/** ProviderConfig is one identity provider. */
export interface ProviderConfig {
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  emailClaim: string;
  groupsClaim: string;
  /** allowedDomains: when not empty, only emails in these domains may sign in. */
  allowedDomains: string[];
  /** approval: 'gated' holds systems enrolled by signing in for an admin's approval. */
  approval: 'automatic' | 'gated';
  /** allowHttp: the issuer may be http:// (a lab or a test; never across a network you do not trust). */
  allowHttp: boolean;
}

/** OidcConfig is the whole file. */
export interface OidcConfig {
  /** publicUrl is the coordinator as people's browsers reach it; the callback is under it. */
  publicUrl: string;
  providers: ProviderConfig[];
  /** recheckMs is how often each signed-in user's groups are checked with the refresh token of
   * their sign-in (oidc/recheck.ts), or 0: never (RecheckSeconds: 0). */
  recheckMs: number;
}

const TOP_KEYS = ['PublicUrl', 'Providers', 'RecheckSeconds'];
const PROVIDER_KEYS = [
  'Name',
  'Issuer',
  'ClientId',
  'ClientSecretFile',
  'Scopes',
  'EmailClaim',
  'GroupsClaim',
  'AllowedDomains',
  'Approval',
  'AllowHttp',
];

/** OidcConfigError is a refusal of the file, with the key path and what to do. */
export class OidcConfigError extends Error {
  override name = 'OidcConfigError';
}

/** loadOidcConfig reads and checks the file and the secrets it names (relative paths are
 * relative to the file). */
export function loadOidcConfig(file: string): OidcConfig {
  let text: string;
  try {
    if (statSync(file).size > OIDC_LIMITS.fileBytes)
      throw new OidcConfigError(`--oidc ${file} is larger than ${OIDC_LIMITS.fileBytes} bytes`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof OidcConfigError) throw e;
    throw new OidcConfigError(`cannot read --oidc ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new OidcConfigError(`--oidc ${file} is not JSON: ${(e as Error).message}`);
  }
  return parseOidcConfig(raw, (p) => readSecret(resolve(dirname(file), p)), file);
}

/** parseOidcConfig checks the parsed file; readSecretFile reads a ClientSecretFile. */
export function parseOidcConfig(
  raw: unknown,
  readSecretFile: (path: string) => string,
  file = 'the OIDC file',
): OidcConfig {
  const fail = (key: string, problem: string): never => {
    throw new OidcConfigError(`${file}: ${key}: ${problem}`);
  };
  if (!isObject(raw)) return fail('(top)', `must be an object with PublicUrl and Providers, not ${typeName(raw)}`);
  for (const k of Object.keys(raw)) if (!TOP_KEYS.includes(k)) fail(k, `unknown key${didYouMean(k, TOP_KEYS)}`);
  const publicUrl = urlField(raw.PublicUrl, 'PublicUrl', true, fail);
  if (!Array.isArray(raw.Providers) || raw.Providers.length === 0)
    return fail('Providers', 'must be a non-empty array of providers');
  if (raw.Providers.length > OIDC_LIMITS.providers)
    fail('Providers', `has ${raw.Providers.length} providers (the limit is ${OIDC_LIMITS.providers})`);
  const providers = raw.Providers.map((p, i) => parseProvider(p, indexPath('Providers', i), readSecretFile, fail));
  const names = providers.map((p) => p.name);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) fail(indexPath('Providers', i), `the Name ${quote(n)} is used twice`);
  });
  return { publicUrl, providers, recheckMs: recheckSeconds(raw.RecheckSeconds, fail) * 1000 };
}

function recheckSeconds(v: unknown, fail: Fail): number {
  if (v === undefined) return OIDC_LIMITS.recheckDefaultS;
  const { recheckMinS: min, recheckMaxS: max } = OIDC_LIMITS;
  if (typeof v !== 'number' || !Number.isInteger(v) || (v !== 0 && (v < min || v > max)))
    fail('RecheckSeconds', `must be a whole number of seconds from ${min} to ${max}, or 0 for no token check`);
  return v as number;
}

type Fail = (key: string, problem: string) => never;

function parseProvider(p: unknown, at: string, readSecretFile: (path: string) => string, fail: Fail): ProviderConfig {
  if (!isObject(p)) return fail(at, `must be an object, not ${typeName(p)}`);
  for (const k of Object.keys(p))
    if (!PROVIDER_KEYS.includes(k)) fail(childPath(at, k), `unknown key${didYouMean(k, PROVIDER_KEYS)}`);
  const name = str(p.Name, childPath(at, 'Name'), fail, LOGIN_LIMITS.providerNameChars);
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) fail(childPath(at, 'Name'), 'must be lower-case letters, digits, - and _');
  const allowHttp = p.AllowHttp === undefined ? false : bool(p.AllowHttp, childPath(at, 'AllowHttp'), fail);
  const issuer = urlField(p.Issuer, childPath(at, 'Issuer'), allowHttp, fail);
  const clientId = str(p.ClientId, childPath(at, 'ClientId'), fail, 256);
  const secretFile = str(p.ClientSecretFile, childPath(at, 'ClientSecretFile'), fail, 4096);
  let clientSecret = '';
  try {
    clientSecret = readSecretFile(secretFile);
  } catch (e) {
    fail(childPath(at, 'ClientSecretFile'), (e as Error).message);
  }
  const scopes =
    p.Scopes === undefined ? ['openid', 'email'] : strList(p.Scopes, childPath(at, 'Scopes'), fail, OIDC_LIMITS.scopes);
  if (!scopes.includes('openid')) scopes.unshift('openid');
  const domains =
    p.AllowedDomains === undefined
      ? []
      : strList(p.AllowedDomains, childPath(at, 'AllowedDomains'), fail, OIDC_LIMITS.domains);
  const approval = p.Approval === undefined ? 'automatic' : p.Approval;
  if (approval !== 'automatic' && approval !== 'gated')
    fail(childPath(at, 'Approval'), `${quote(String(approval))} is not "automatic" or "gated"`);
  return {
    name,
    issuer,
    clientId,
    clientSecret,
    scopes,
    emailClaim: p.EmailClaim === undefined ? 'email' : claimName(p.EmailClaim, childPath(at, 'EmailClaim'), fail),
    groupsClaim: p.GroupsClaim === undefined ? 'groups' : claimName(p.GroupsClaim, childPath(at, 'GroupsClaim'), fail),
    allowedDomains: domains.map((d) => d.toLowerCase().replace(/^@/, '')),
    approval: approval as 'automatic' | 'gated',
    allowHttp,
  };
}

function str(v: unknown, at: string, fail: Fail, max: number): string {
  if (typeof v !== 'string' || v.trim() === '') return fail(at, `is required (a string), not ${typeName(v)}`);
  if (v.length > max) fail(at, `is longer than ${max} characters`);
  return v.trim();
}

function bool(v: unknown, at: string, fail: Fail): boolean {
  return typeof v === 'boolean' ? v : fail(at, `must be true or false, not ${typeName(v)}`);
}

function strList(v: unknown, at: string, fail: Fail, max: number): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 256))
    return fail(at, 'must be an array of strings');
  if (v.length > max) fail(at, `has ${v.length} entries (the limit is ${max})`);
  return [...(v as string[])];
}

function claimName(v: unknown, at: string, fail: Fail): string {
  const s = str(v, at, fail, 128);
  if (normaliseTag(s) === null && !/^[A-Za-z0-9_:/.-]+$/.test(s)) fail(at, `${quote(s)} is not a claim name`);
  return s;
}

function urlField(v: unknown, at: string, allowHttp: boolean, fail: Fail): string {
  const s = str(v, at, fail, 512);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return fail(at, `${quote(s)} is not a URL`);
  }
  if (u.protocol !== 'https:' && !(allowHttp && u.protocol === 'http:'))
    fail(at, `must be an https:// URL${at.endsWith('Issuer') ? ' (AllowHttp: true allows http:// in a lab)' : ''}`);
  if (u.search !== '' || u.hash !== '' || u.username !== '') fail(at, 'must not have a query, fragment or user name');
  return s.replace(/\/+$/, '');
}

/** readSecret reads a client secret file: private to its owner, small, one line. */
export function readSecret(path: string): string {
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0)
    throw new Error(`${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  if (st.size > OIDC_LIMITS.secretBytes) throw new Error(`${path} is larger than ${OIDC_LIMITS.secretBytes} bytes`);
  const secret = readFileSync(path, 'utf8').trim();
  if (secret === '') throw new Error(`${path} is empty; put the client secret the provider issued in it`);
  return secret;
}
