// Signed agent requests (control.ts AGENT_AUTH): every request after enrolment carries
//   Authorization: Warren-Sig system=ID,ts=UNIX_MS,nonce=HEX,sig=BASE64
// signed with the system's machine key over method, path, ts, nonce and the body's SHA-256.
// A request is accepted once: the (system, nonce) pair is remembered for as long as its
// timestamp could still pass the skew check.
import { createHash, type KeyObject } from 'node:crypto';
import { AGENT_AUTH, CONTROL_LIMITS, agentSigningText } from '../../../src-shared/wire/control.js';
import { publicKeyFromRaw, verifyEd25519 } from '../../../src-shared/lib/ed25519.js';
import { ControlError } from '../http/errors.js';
import { NonceCache } from '../../../src-shared/lib/nonce-cache.js';

/** AuthHeader is a parsed Authorization header. */
export interface AuthHeader {
  system: string;
  ts: number;
  nonce: string;
  sig: Buffer;
}

const HEADER_MAX = 512;
const SYSTEM_ID = /^[A-Za-z0-9_-]{1,64}$/;
const NONCE = /^[0-9a-fA-F]{16,64}$/;

/** parseAuthHeader reads the header or refuses with `unauthorized`. */
export function parseAuthHeader(value: string | undefined): AuthHeader {
  const hint = `expected "${AGENT_AUTH.scheme} system=ID,ts=MS,nonce=HEX,sig=BASE64"`;
  if (value === undefined || value === '')
    throw new ControlError('unauthorized', `this route needs a signed request (${hint})`);
  if (value.length > HEADER_MAX) throw new ControlError('unauthorized', 'the Authorization header is too long');
  const space = value.indexOf(' ');
  if (space < 0 || value.slice(0, space) !== AGENT_AUTH.scheme)
    throw new ControlError('unauthorized', `the Authorization header is not ${AGENT_AUTH.scheme} (${hint})`);
  const fields = new Map<string, string>();
  for (const part of value.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    const k = part.slice(0, eq).trim();
    if (eq < 0 || fields.has(k))
      throw new ControlError('unauthorized', `the Authorization header is malformed (${hint})`);
    fields.set(k, part.slice(eq + 1).trim());
  }
  const system = fields.get('system');
  const ts = fields.get('ts');
  const nonce = fields.get('nonce');
  const sig = fields.get('sig');
  if (fields.size !== 4 || system === undefined || ts === undefined || nonce === undefined || sig === undefined) {
    throw new ControlError(
      'unauthorized',
      `the Authorization header must have exactly system, ts, nonce and sig (${hint})`,
    );
  }
  if (!SYSTEM_ID.test(system))
    throw new ControlError('unauthorized', 'the system id in the Authorization header is malformed');
  if (!/^[0-9]{1,16}$/.test(ts)) throw new ControlError('unauthorized', 'ts must be Unix milliseconds');
  if (!NONCE.test(nonce)) throw new ControlError('unauthorized', 'nonce must be 16 to 64 hex digits');
  if (!/^[A-Za-z0-9+/]{86}==$/.test(sig))
    throw new ControlError('unauthorized', 'sig must be a base64 Ed25519 signature (64 bytes)');
  return { system, ts: Number(ts), nonce, sig: Buffer.from(sig, 'base64') };
}

/** signingString is what the machine key signs (control.ts AGENT_AUTH). */
export function signingString(
  method: string,
  pathWithQuery: string,
  ts: number,
  nonce: string,
  body: Uint8Array,
): string {
  return agentSigningText(method, pathWithQuery, ts, nonce, createHash('sha256').update(body).digest('hex'));
}

/** NONCE_LIMITS bound the replay cache: in total and per system within one window. */
export const NONCE_LIMITS = { total: 200_000, perSystem: 2_000 } as const;

/** agentNonceCache remembers agent request nonces for twice the skew window. */
export function agentNonceCache(): NonceCache {
  return new NonceCache(2 * CONTROL_LIMITS.signatureSkewMs, NONCE_LIMITS);
}

/** MachineKeys caches each system's machine key as a KeyObject (parsing costs more than verifying). */
export class MachineKeys {
  private readonly keys = new Map<string, { raw: string; key: KeyObject }>();
  get(systemId: string, raw: string): KeyObject {
    const hit = this.keys.get(systemId);
    if (hit && hit.raw === raw) return hit.key;
    const key = publicKeyFromRaw(Buffer.from(raw, 'base64'));
    this.keys.set(systemId, { raw, key });
    return key;
  }
  forget(systemId: string): void {
    this.keys.delete(systemId);
  }
}

/** verifyAgentRequest checks signature, clock and replay in that order: nothing about an
 * unsigned request is remembered, so forged requests cannot fill the nonce cache. */
export function verifyAgentRequest(
  h: AuthHeader,
  machineKey: KeyObject,
  method: string,
  pathWithQuery: string,
  body: Uint8Array,
  nonces: NonceCache,
  now: number,
): void {
  const message = Buffer.from(signingString(method, pathWithQuery, h.ts, h.nonce, body), 'utf8');
  if (!verifyEd25519(machineKey, message, h.sig)) {
    throw new ControlError('bad-signature', "the request signature does not verify with this system's machine key");
  }
  if (Math.abs(now - h.ts) > CONTROL_LIMITS.signatureSkewMs) {
    throw new ControlError(
      'clock-skew',
      `the request's timestamp is ${Math.round((h.ts - now) / 1000)} s off the coordinator's clock (at most ${CONTROL_LIMITS.signatureSkewMs / 1000} s allowed); fix the system clock`,
    );
  }
  // Hex is case-insensitive: "AB" and "ab" are the same nonce for replay purposes.
  const r = nonces.admit(h.system, h.nonce.toLowerCase(), now);
  if (r === 'replay')
    throw new ControlError(
      'replay',
      'this request (system and nonce) was already received; every request needs a fresh nonce',
    );
  if (r === 'rate-limited')
    throw new ControlError(
      'rate-limited',
      'too many signed requests from this system within the replay window; slow down and retry',
    );
}
