// POST /v1/login/start (login.ts LoginStartRequest): checked like an enrolment request, with a
// provider name where the enrolment key would be, and the proof that the agent holds its
// machine key over that name, its WireGuard key and the time (LOGIN_SIGNATURE_CONTEXT).
import { CONTROL_LIMITS } from '../../../src-shared/wire/control.js';
import { LOGIN_LIMITS, loginProofText, type LoginStartRequest } from '../../../src-shared/wire/login.js';
import { verifyEd25519 } from '../../../src-shared/lib/ed25519.js';
import { ControlError } from '../http/errors.js';
import { objectWithKeys, stringField } from '../http/validate.js';
import { parseJoinFields } from '../api/enrol.js';

const FIELDS = [
  'protocol',
  'provider',
  'wireguardPublicKey',
  'machinePublicKey',
  'hostname',
  'ts',
  'proof',
  'endpoints',
] as const;

/** parseLoginStart checks the body's shape; checkLoginProof checks the signature. */
export function parseLoginStart(body: unknown): LoginStartRequest {
  const o = objectWithKeys(body, FIELDS, [], 'the login request');
  const provider = o.provider === '' ? '' : stringField(o, 'provider', LOGIN_LIMITS.providerNameChars);
  return { ...parseJoinFields(o), provider };
}

/** checkLoginProof refuses a stale timestamp or a proof not made with the machine key. */
export function checkLoginProof(req: LoginStartRequest, now: number): void {
  if (Math.abs(now - req.ts) > CONTROL_LIMITS.signatureSkewMs)
    throw new ControlError(
      'clock-skew',
      `the request's timestamp is ${Math.round((req.ts - now) / 1000)} s off the coordinator's clock (at most ${CONTROL_LIMITS.signatureSkewMs / 1000} s allowed); fix the system clock`,
    );
  const ok = verifyEd25519(
    Buffer.from(req.machinePublicKey, 'base64'),
    Buffer.from(loginProofText(req.provider, req.wireguardPublicKey, req.ts), 'utf8'),
    Buffer.from(req.proof, 'base64'),
  );
  if (!ok)
    throw new ControlError(
      'bad-signature',
      'the login proof is not a valid signature by machinePublicKey over the provider, WireGuard key and timestamp',
    );
}
