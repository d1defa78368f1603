// RelayProber measures one relay's round trip over UDP with probes (nat-relay.ts relayProbe,
// answered by every relay without a token) from the WireGuard socket, so the probes take the
// same way through NATs as the relayed traffic. It keeps the smoothed round trip and notices a
// relay that stops answering (relay-choice.ts); which relay to use is decided from these.
import { randomBytes } from 'node:crypto';
import { parseRelayProbeReply, relayProbe } from '../../../src-shared/wire/nat-relay.js';
import type { IpAddress } from '../../../src-shared/lib/ip/addr.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { jittered, RELAY_PROBE_TIMING, RttEstimate } from './relay-choice.js';

export interface RelayProberOptions {
  name: string;
  addr: IpAddress;
  port: number;
  sendUdp(buf: Buffer, addr: IpAddress, port: number): boolean;
  log: Logger;
  /** changed is called when the relay goes dead or comes back */
  changed(): void;
  /** revived is called when a relay that was dead answers again (before changed) */
  revived(): void;
  /** rtt carries an estimate over from the same relay in the previous map */
  rtt?: RttEstimate | undefined;
}

export class RelayProber {
  readonly rtt: RttEstimate;
  /** region is what the relay says in its answers (null before the first, '' for none) */
  region: string | null = null;
  /** inUse: this relay carries relayed sessions, so it is probed more often */
  inUse = false;
  private nonce: Buffer | null = null;
  private sentAt = 0;
  private nextAt = 0;
  /** fast: probes still to send at the short interval, so that a relay is measured a few
   * times soon after it appears (one slow first answer, an ARP lookup say, would otherwise
   * weigh on the smoothed round trip for several long intervals) */
  private fast = RELAY_PROBE_TIMING.firstProbes;

  constructor(private readonly o: RelayProberOptions) {
    this.rtt = o.rtt ?? new RttEstimate();
  }

  tick(now: number): void {
    if (this.nonce !== null && now - this.sentAt > this.rtt.timeoutMs) {
      const was = this.rtt.dead;
      this.nonce = null;
      this.rtt.miss();
      if (this.rtt.dead && !was) {
        this.o.log.warn(`relay ${this.o.name}: stopped answering probes; its sessions move to the next relay`);
        this.o.changed();
      }
    }
    if (now < this.nextAt || this.nonce !== null) return;
    this.nonce = randomBytes(16);
    this.sentAt = now;
    const often = this.inUse || this.rtt.dead || this.fast > 0;
    if (this.fast > 0) this.fast--;
    this.nextAt = now + jittered(often ? RELAY_PROBE_TIMING.inUseEvery : RELAY_PROBE_TIMING.otherEvery);
    this.o.sendUdp(Buffer.from(relayProbe(this.nonce)), this.o.addr, this.o.port);
  }

  /** remeasure probes at the next tick (the map's relay list changed). */
  remeasure(): void {
    this.nextAt = 0;
    this.fast = RELAY_PROBE_TIMING.firstProbes;
  }

  /** onReply takes a probe reply that came from this relay's UDP address. */
  onReply(msg: Buffer, now: number): void {
    const r = parseRelayProbeReply(msg);
    if (r === null || this.nonce === null || !Buffer.from(r.nonce).equals(this.nonce)) return;
    const was = this.rtt.dead;
    this.nonce = null;
    this.rtt.sample(now - this.sentAt);
    this.region = r.region;
    if (was) {
      this.o.revived();
      this.o.log.info(`relay ${this.o.name}: answers probes again (${Math.round(this.rtt.srtt!)} ms)`);
      this.o.changed();
    }
  }
}
