// Which relay a helper uses for new relayed sessions: the nearest live one by round trip.
// Each relay's round trip is measured with small probes (nat-relay.ts relayProbe) and smoothed
// as TCP smooths its RTT samples (RFC 6298 §2: SRTT <- (1 - 1/8) * SRTT + 1/8 * R', after the
// first eight samples, which are averaged), so one slow answer does not move the choice. The relay in use is replaced only by one clearly nearer
// (SWITCH_FACTOR and SWITCH_MIN_MS together, the same idea as path-choice.ts), so two relays with
// close round trips do not trade places on noise; a relay in use that stops answering is
// replaced at once by the nearest live one.

/** Probe timings (ms). The relay in use is probed often, to notice within a few seconds that it
 * went away; the others less often, to keep their round trips current for when it does. */
export const RELAY_PROBE_TIMING = {
  inUseEvery: 1000,
  otherEvery: 5000,
  /** a relay that appears (or a map that changes the list) gets this many probes at the short
   * interval before the long one */
  firstProbes: 8,
  /** each interval is drawn from [1 - jitter, 1 + jitter] times its length, so helpers that
   * started together do not probe a relay in step */
  jitter: 0.2,
  /** a probe unanswered after max(this, 3 * SRTT) is lost */
  timeoutMs: 800,
  /** this many lost probes in a row, and a relay that has answered before is dead */
  deadAfterLost: 2,
} as const;

/** SRTT_GAIN is RFC 6298's alpha. */
export const SRTT_GAIN = 1 / 8;
/** A relay replaces the one in use only when its SRTT is below SWITCH_FACTOR times the one in
 * use's AND at least SWITCH_MIN_MS lower: both, so neither a few ms on a near relay nor a few
 * percent on a far one makes the choice flap. */
export const SWITCH_FACTOR = 0.8;
export const SWITCH_MIN_MS = 5;

/** RttEstimate is one relay's smoothed round trip and liveness, from its probes. */
export class RttEstimate {
  /** srtt: smoothed round trip (ms), null until the first answer */
  srtt: number | null = null;
  /** lost: probes lost in a row since the last answer */
  lost = 0;
  /** answered: whether this relay has ever answered a probe (relays from before probes never do) */
  answered = false;
  /** samples taken so far */
  samples = 0;

  // The first samples are averaged (gain 1/n) and only then smoothed with RFC 6298's 1/8: a
  // helper that just started answers its first probes late (its event loop is busy starting),
  // and with the gain at 1/8 from the start one such sample would weigh on the estimate for a
  // dozen more.
  sample(rttMs: number): void {
    const r = Math.max(0, rttMs);
    this.samples++;
    const gain = Math.max(SRTT_GAIN, 1 / this.samples);
    this.srtt = this.srtt === null ? r : this.srtt + gain * (r - this.srtt);
    this.lost = 0;
    this.answered = true;
  }

  miss(): void {
    this.lost++;
  }

  /** dead: a relay that answered probes and then stopped. One that never answered (an older
   * relay without probes, or UDP blocked on the way) is judged by its registration instead. */
  get dead(): boolean {
    return this.answered && this.lost >= RELAY_PROBE_TIMING.deadAfterLost;
  }

  /** timeoutMs is how long a probe may go unanswered before it counts as lost. */
  get timeoutMs(): number {
    return Math.max(RELAY_PROBE_TIMING.timeoutMs, 3 * (this.srtt ?? 0));
  }
}

/** measuredWay is what a relay's probes say about the way packets go to it now (transport):
 * probes travel over UDP, so they measure a relay reached over UDP and nothing else. A relay
 * reached over TCP (TCP-only, or UDP blocked since it answered) is not measured (srtt null, so
 * it comes after measured ones, in map order) and its lost probes do not make it unusable:
 * they only show again that UDP does not get through. */
export function measuredWay(
  transport: 'udp' | 'tcp' | null,
  rtt: RttEstimate | null,
): { usable: boolean; srtt: number | null } {
  if (transport === 'tcp') return { usable: true, srtt: null };
  return { usable: transport !== null && !(rtt?.dead ?? false), srtt: rtt?.srtt ?? null };
}

/** ChoiceRelay is what the choice looks at of one relay. */
export interface ChoiceRelay {
  /** usable: registered (over UDP or TCP) and not dead by its probes */
  usable: boolean;
  srtt: number | null;
}

/** nearest returns the index of the usable relay with the lowest SRTT (unmeasured ones after
 * measured ones, in map order), or -1 if none is usable. */
export function nearest(relays: readonly ChoiceRelay[]): number {
  let best = -1;
  for (let i = 0; i < relays.length; i++) {
    const r = relays[i]!;
    if (!r.usable) continue;
    if (best < 0) {
      best = i;
      continue;
    }
    const b = relays[best]!;
    if (r.srtt !== null && (b.srtt === null || r.srtt < b.srtt)) best = i;
  }
  return best;
}

/** chooseRelay returns the relay to use given the one in use now (current, -1 for none): the
 * current one while it is usable and no usable relay is clearly nearer, else the nearest. */
export function chooseRelay(relays: readonly ChoiceRelay[], current: number): number {
  const best = nearest(relays);
  const cur = current >= 0 ? relays[current] : undefined;
  if (cur === undefined || !cur.usable || best < 0 || best === current) return best;
  const b = relays[best]!;
  if (b.srtt === null) return current;
  if (cur.srtt === null) return best;
  return b.srtt < cur.srtt * SWITCH_FACTOR && cur.srtt - b.srtt >= SWITCH_MIN_MS ? best : current;
}

/** jittered spreads an interval by RELAY_PROBE_TIMING.jitter (random: a number in [0, 1)). */
export function jittered(ms: number, random: number = Math.random()): number {
  const j = RELAY_PROBE_TIMING.jitter;
  return Math.round(ms * (1 - j + 2 * j * random));
}

/** leads tells whether this side (ownId) picks the relay for a pair, given the peer's id: the
 * side with the lower peer id leads, the other follows it (docs/relay.md "Several relays"). */
export function leads(ownId: Uint8Array, peerId: Uint8Array): boolean {
  return (
    Buffer.compare(
      Buffer.from(ownId.buffer, ownId.byteOffset, ownId.byteLength),
      Buffer.from(peerId.buffer, peerId.byteOffset, peerId.byteLength),
    ) < 0
  );
}
