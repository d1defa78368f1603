// Ed25519 signatures of the control plane (src-shared/wire/control.ts): the agent's signed requests
// (AGENT_AUTH), the enrolment proof and the verification of network maps. tweetnacl, as
// DESIGN.md convention 10 says; Node's hot-path crypto is not needed here.
import { createHash, randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import {
  AGENT_AUTH,
  MAP_SIGNATURE_CONTEXT,
  agentSigningText,
  enrolProofText,
} from '../../../src-shared/wire/control.js';

/** MachineKey is an Ed25519 key pair made from a 32-byte seed. */
export interface MachineKey {
  seed: Buffer;
  publicKey: Buffer;
  secretKey: Uint8Array;
}

/** machineKeyFromSeed derives the key pair; newMachineSeed makes a fresh seed. */
export function machineKeyFromSeed(seed: Buffer): MachineKey {
  const kp = nacl.sign.keyPair.fromSeed(new Uint8Array(seed));
  return { seed, publicKey: Buffer.from(kp.publicKey), secretKey: kp.secretKey };
}

export function newMachineSeed(): Buffer {
  return randomBytes(32);
}

/** agentAuthorization builds the Authorization header of a signed agent request. */
export function agentAuthorization(
  key: MachineKey,
  systemId: string,
  method: string,
  pathWithQuery: string,
  body: Buffer,
  now = Date.now(),
): string {
  const nonce = randomBytes(16).toString('hex');
  const digest = createHash('sha256').update(body).digest('hex');
  const text = agentSigningText(method, pathWithQuery, now, nonce, digest);
  const sig = Buffer.from(nacl.sign.detached(Buffer.from(text, 'utf8'), key.secretKey)).toString('base64');
  return `${AGENT_AUTH.scheme} system=${systemId},ts=${now},nonce=${nonce},sig=${sig}`;
}

/** enrolProof signs the enrolment key and WireGuard key with the new machine key. */
export function enrolProof(key: MachineKey, enrolmentKey: string, wireguardPublicKey: string, ts: number): string {
  const text = enrolProofText(enrolmentKey, wireguardPublicKey, ts);
  return Buffer.from(nacl.sign.detached(Buffer.from(text, 'utf8'), key.secretKey)).toString('base64');
}

// signedMapBytes is what a map signature covers: the context, then the payload bytes.
function signedMapBytes(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(MAP_SIGNATURE_CONTEXT, 'utf8'), payload]);
}

/** verifyMapSignature checks a SignedMap's signature over its payload bytes. */
export function verifyMapSignature(coordinatorKey: Buffer, payload: Buffer, signature: Buffer): boolean {
  if (coordinatorKey.length !== 32 || signature.length !== 64) return false;
  const msg = signedMapBytes(payload);
  return nacl.sign.detached.verify(new Uint8Array(msg), new Uint8Array(signature), new Uint8Array(coordinatorKey));
}

/** signMap is the coordinator's side, used by tests of the helper to make maps. */
export function signMap(secretKey: Uint8Array, payload: Buffer): Buffer {
  const msg = signedMapBytes(payload);
  return Buffer.from(nacl.sign.detached(new Uint8Array(msg), secretKey));
}
