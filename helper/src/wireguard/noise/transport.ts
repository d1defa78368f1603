// Reference implementation of transport data messages, WireGuard whitepaper §5.4.6: one
// node:crypto ChaCha20-Poly1305 call per message with the counter as nonce and no AAD. The
// device's fast path may batch differently but must produce the same bytes; tests use this.
import { createCipheriv } from 'node:crypto';
import { REJECT_AFTER_MESSAGES, TAG_SIZE } from './constants.js';
import { aeadOpen, counterNonce, EMPTY_BYTES } from './crypto.js';
import type { NoiseCore } from './core.js';
import type { Keypair } from './keypair.js';
import { parseTransportHeader, TRANSPORT_HEADER_SIZE, writeTransportHeader } from './messages.js';
import type { NoisePeer } from './peer.js';
import type { DropReason } from './types.js';

/** PADDING_MULTIPLE: plaintexts are padded to a multiple of 16 bytes (§5.4.6) to blur lengths. */
export const PADDING_MULTIPLE = 16;

/** paddingFor returns how many zero bytes to append to an IP packet of `size` bytes before
 * sealing, never growing it past the tunnel MTU (wireguard-go's calculatePaddingSize). */
export function paddingFor(size: number, mtu: number): number {
  let last = size;
  if (mtu > 0 && size > mtu) last %= mtu;
  let padded = Math.ceil(last / PADDING_MULTIPLE) * PADDING_MULTIPLE;
  if (mtu > 0 && padded > mtu) padded = mtu;
  return padded - last;
}

/** sealTransport encrypts `plaintext` (already padded, empty for a keepalive) as a type-4
 * message with the keypair's next counter, which it uses up. Throws if the keypair may not
 * send: the caller should have asked peer.sendKeypair(now). */
export function sealTransport(kp: Keypair, plaintext: Buffer): Buffer {
  if (kp.isZeroed || kp.sendCounter >= REJECT_AFTER_MESSAGES) throw new Error('keypair cannot send');
  const counter = kp.sendCounter++;
  const out = Buffer.allocUnsafe(TRANSPORT_HEADER_SIZE + plaintext.length + TAG_SIZE);
  writeTransportHeader(out, kp.remoteIndex, counter);
  const c = createCipheriv('chacha20-poly1305', kp.sendKey, counterNonce(counter), { authTagLength: TAG_SIZE });
  const body = c.update(plaintext);
  c.final();
  body.copy(out, TRANSPORT_HEADER_SIZE);
  c.getAuthTag().copy(out, TRANSPORT_HEADER_SIZE + plaintext.length);
  return out;
}

/** openTransport decrypts a type-4 message: session lookup, expiry, replay pre-check, AEAD,
 * then replay update. It does not call core.receivedData; the caller does that on success
 * (with isKeepalive = plaintext.length === 0). Never throws on bad input. */
export function openTransport(
  core: NoiseCore,
  msg: Buffer,
  now: number,
): { peer: NoisePeer; keypair: Keypair; plaintext: Buffer } | { drop: DropReason } {
  const h = parseTransportHeader(msg);
  if (typeof h === 'string') return { drop: h };
  const found = core.keypairForIndex(h.receiver);
  if (!found) return { drop: 'unknown-index' };
  const { keypair, peer } = found;
  if (keypair.expired(now)) return { drop: 'expired-keypair' };
  if (h.counter >= REJECT_AFTER_MESSAGES) return { drop: 'counter-limit' };
  if (!keypair.replay.check(h.counter)) return { drop: 'replayed-counter' };
  const plaintext = aeadOpen(keypair.recvKey, h.counter, h.sealed, EMPTY_BYTES);
  if (!plaintext) return { drop: 'decrypt-failed' };
  if (!keypair.replay.update(h.counter)) return { drop: 'replayed-counter' };
  return { peer, keypair, plaintext };
}
