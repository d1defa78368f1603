// The coordinator's Ed25519 signing key and network map signatures (control.ts
// MAP_SIGNATURE_CONTEXT). The key is made with tweetnacl on first start and kept in
// DIR/signing.key (base64 of the 32-byte seed, mode 0600); every map is signed with it and every
// helper pins its public key at enrolment, so losing it means re-enrolling every system.
import { chmodSync, readFileSync, statSync } from 'node:fs';
import nacl from 'tweetnacl';
import { writeFileAtomic } from '../../../src-shared/lib/atomic-file.js';
import { MAP_SIGNATURE_CONTEXT, type SignedMap } from '../../../src-shared/wire/control.js';
import {
  ED25519,
  privateKeyFromSeed,
  publicKeyFromRaw,
  signEd25519,
  verifyEd25519,
} from '../../../src-shared/lib/ed25519.js';
import type { KeyObject } from 'node:crypto';

const MAP_CONTEXT_BYTES = Buffer.from(MAP_SIGNATURE_CONTEXT, 'utf8');

/** SigningKey signs maps; publicKey is base64 (what helpers pin). */
export interface SigningKey {
  readonly publicKey: string;
  sign(message: Uint8Array): Buffer;
}

/** signingKeyFromSeed builds the key and checks OpenSSL and tweetnacl agree on it, so a helper
 * verifying with either library accepts what this coordinator signs. */
export function signingKeyFromSeed(seed: Uint8Array): SigningKey {
  const pair = nacl.sign.keyPair.fromSeed(seed);
  const key = privateKeyFromSeed(seed);
  const probe = Buffer.from('warren signing self-check', 'utf8');
  const mine = signEd25519(key, probe);
  if (!mine.equals(Buffer.from(nacl.sign.detached(probe, pair.secretKey)))) {
    throw new Error('Ed25519 self-check failed: OpenSSL and tweetnacl disagree; refusing to sign maps');
  }
  return { publicKey: Buffer.from(pair.publicKey).toString('base64'), sign: (m) => signEd25519(key, m) };
}

/** loadOrCreateSigningKey reads DIR/signing.key, or creates it (0600, never overwriting). */
export function loadOrCreateSigningKey(file: string): { key: SigningKey; created: boolean } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const seed = nacl.sign.keyPair().secretKey.slice(0, ED25519.seed);
    // overwrite false fails if another process created the file meanwhile instead of replacing
    // its key; the atomic write means a crash never leaves half a key that blocks the next start.
    writeFileAtomic(file, `${Buffer.from(seed).toString('base64')}\n`, { mode: 0o600, overwrite: false });
    return { key: signingKeyFromSeed(seed), created: true };
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    chmodSync(file, 0o600);
  }
  return { key: signingKeyFromText(file, text), created: false };
}

/** readSigningKey reads DIR/signing.key and never creates one: `warren-coordinator key` must not
 * make a new key in a mistyped data dir and print it as the coordinator's. */
export function readSigningKey(file: string): SigningKey {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    throw new Error(
      `${file} does not exist: is this the coordinator's data dir? (the key is made on the first \`warren-coordinator serve --data DIR\`)`,
    );
  }
  return signingKeyFromText(file, text);
}

function signingKeyFromText(file: string, text: string): SigningKey {
  const seed = Buffer.from(text.trim(), 'base64');
  if (seed.length !== ED25519.seed || seed.toString('base64') !== text.trim()) {
    throw new Error(
      `${file} does not hold an Ed25519 key (base64 of ${ED25519.seed} bytes); restore it from a backup, or move it away to make a new key (every system must then enrol again)`,
    );
  }
  return signingKeyFromSeed(seed);
}

/** signMapPayload signs a NetworkMap's JSON bytes: Ed25519(key, context || payload). */
export function signMapPayload(key: SigningKey, payload: Buffer): SignedMap {
  const sig = key.sign(Buffer.concat([MAP_CONTEXT_BYTES, payload]));
  return { payload: payload.toString('base64'), signature: sig.toString('base64') };
}

/** verifySignedMap checks a SignedMap against a pinned base64 public key and returns the payload
 * bytes, or null. Agents (agent-sim.ts) and tests use it; helpers have their own. */
export function verifySignedMap(publicKey: string | KeyObject, signed: SignedMap): Buffer | null {
  if (typeof signed?.payload !== 'string' || typeof signed.signature !== 'string') return null;
  const payload = Buffer.from(signed.payload, 'base64');
  const sig = Buffer.from(signed.signature, 'base64');
  const key = typeof publicKey === 'string' ? publicKeyFromRaw(Buffer.from(publicKey, 'base64')) : publicKey;
  return verifyEd25519(key, Buffer.concat([MAP_CONTEXT_BYTES, payload]), sig) ? payload : null;
}
