// Ed25519 signatures of the control plane (src-shared/wire/control.ts): the agent's signed
// requests (AGENT_AUTH) and the enrolment proof (maps are verified by src-shared/lib/netmap/open.ts), through the
// leaf library's Ed25519 (OpenSSL), the same one the NAT clients use. RFC 8032 signatures are
// deterministic, so they are the bytes any other Ed25519 implementation makes (the tests check
// maps signed with tweetnacl).
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { AGENT_AUTH, agentSigningText, enrolProofText } from '../../../src-shared/wire/control.js';
import { privateKeyFromSeed, rawPublicKey, signEd25519 } from '../../../src-shared/lib/ed25519.js';

/** MachineKey is an Ed25519 key pair made from a 32-byte seed. */
export interface MachineKey {
  seed: Buffer;
  publicKey: Buffer;
  privateKey: KeyObject;
}

/** machineKeyFromSeed derives the key pair; newMachineSeed makes a fresh seed. */
export function machineKeyFromSeed(seed: Buffer): MachineKey {
  const privateKey = privateKeyFromSeed(seed);
  return { seed, publicKey: rawPublicKey(privateKey), privateKey };
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
  const sig = signEd25519(key.privateKey, Buffer.from(text, 'utf8')).toString('base64');
  return `${AGENT_AUTH.scheme} system=${systemId},ts=${now},nonce=${nonce},sig=${sig}`;
}

/** enrolProof signs the enrolment key and WireGuard key with the new machine key. */
export function enrolProof(key: MachineKey, enrolmentKey: string, wireguardPublicKey: string, ts: number): string {
  const text = enrolProofText(enrolmentKey, wireguardPublicKey, ts);
  return signEd25519(key.privateKey, Buffer.from(text, 'utf8')).toString('base64');
}
