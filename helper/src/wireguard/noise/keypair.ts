// One transport session: the symmetric keys derived at the end of a handshake (WireGuard
// whitepaper §5.4.5) with their indices, send counter and receive replay window.
import { inspect } from 'node:util';
import { REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME } from './constants.js';
import { ReplayWindow } from './replay.js';

/** Keypair is one session. The device reads the keys for its own fast-path cipher. */
export class Keypair {
  readonly sendKey: Buffer;
  readonly recvKey: Buffer;
  readonly localIndex: number;
  readonly remoteIndex: number;
  /** sendCounter is the next counter to use; whoever encrypts increments it. */
  sendCounter = 0;
  readonly replay = new ReplayWindow();
  /** createdAt is `now` (ms) when the keys were derived. */
  readonly createdAt: number;
  readonly isInitiator: boolean;
  private zeroed = false;

  constructor(init: {
    sendKey: Buffer;
    recvKey: Buffer;
    localIndex: number;
    remoteIndex: number;
    createdAt: number;
    isInitiator: boolean;
  }) {
    this.sendKey = init.sendKey;
    this.recvKey = init.recvKey;
    this.localIndex = init.localIndex;
    this.remoteIndex = init.remoteIndex;
    this.createdAt = init.createdAt;
    this.isInitiator = init.isInitiator;
  }

  /** expired says the session is past REJECT_AFTER_TIME (or erased): it may neither send nor receive. */
  expired(now: number): boolean {
    return this.zeroed || now - this.createdAt >= REJECT_AFTER_TIME;
  }

  /** canSend says the session may encrypt one more message now. */
  canSend(now: number): boolean {
    return !this.expired(now) && this.sendCounter < REJECT_AFTER_MESSAGES;
  }

  /** isZeroed says zero() ran; a device holding a reference must stop using it. */
  get isZeroed(): boolean {
    return this.zeroed;
  }

  /** Keys never appear in logs or console output. */
  [inspect.custom](): string {
    return `Keypair(local=${this.localIndex} remote=${this.remoteIndex} counter=${this.sendCounter} initiator=${this.isInitiator}${this.zeroed ? ' zeroed' : ''})`;
  }

  /** zero erases the keys (when the session is dropped or at ZERO_KEYS_AFTER). */
  zero(): void {
    this.sendKey.fill(0);
    this.recvKey.fill(0);
    this.replay.reset();
    this.zeroed = true;
  }
}
