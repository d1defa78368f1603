// X25519 key pairs in WireGuard's format (base64 of the raw 32 bytes), made with Node's crypto
// so tests need neither `wg genkey` nor the helper under test to create identities.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';

/** KeyPair is a WireGuard private key and its public key, both base64. */
export interface KeyPair {
  privateKey: string;
  publicKey: string;
}

function b64urlToB64(s: string): string {
  return Buffer.from(s, 'base64url').toString('base64');
}

/** genKeyPair returns a fresh X25519 key pair: a clamped random private key (RFC 7748 §5), as
 * `wg genkey` makes. Not generateKeyPairSync: in Node 20 a collected key-generation job can
 * deadlock the thread when the GC runs it during a JWK export of the key it made. */
export function genKeyPair(): KeyPair {
  const raw = randomBytes(32);
  raw[0] = raw[0]! & 248;
  raw[31] = (raw[31]! & 127) | 64;
  const privateKey = raw.toString('base64');
  return { privateKey, publicKey: publicKeyOf(privateKey) };
}

/** publicKeyOf derives the public key of a base64 private key. */
export function publicKeyOf(privateKey: string): string {
  const raw = Buffer.from(privateKey, 'base64');
  if (raw.length !== 32) throw new Error('private key must be 32 bytes');
  // PKCS#8 prefix for an X25519 private key (RFC 8410 §7) followed by the raw key.
  const der = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), raw]);
  const pub = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  const x = pub.export({ format: 'jwk' }).x;
  if (x === undefined) throw new Error('x25519 JWK export lacks x');
  return b64urlToB64(x);
}
