// TurnQueue runs expensive work (signature checks) a little at a time, after the event loop's
// I/O. Work is queued, never run where it arrives; a drain runs from setImmediate, which Node
// calls once the poll phase has handled the I/O that was ready, and stops after turnMs, handing
// the rest to the next turn. So a burst of expensive requests delays whatever else the process
// does (forwarding relayed packets, answering HTTP) by at most about turnMs per turn, instead of
// the whole burst; and the queue is bounded, so the excess is refused at once rather than kept.

/** TurnQueueOptions: at most max items wait; a drain works at most turnMs (and at least one item). */
export interface TurnQueueOptions {
  max: number;
  turnMs: number;
}

export class TurnQueue<T> {
  private items: T[] = [];
  private head = 0;
  private scheduled: NodeJS.Immediate | null = null;

  constructor(
    private readonly run: (item: T) => void,
    private readonly o: TurnQueueOptions,
    /** failed hears of an item whose run threw; the drain goes on with the next one. */
    private readonly failed: (e: unknown) => void,
  ) {}

  /** size is how many items wait. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** push queues item, or returns false (and drops it) when the queue is full. */
  push(item: T): boolean {
    if (this.size >= this.o.max) return false;
    this.items.push(item);
    this.scheduled ??= setImmediate(() => this.drain());
    return true;
  }

  /** clear drops everything waiting. */
  clear(): void {
    if (this.scheduled !== null) clearImmediate(this.scheduled);
    this.scheduled = null;
    this.items = [];
    this.head = 0;
  }

  private drain(): void {
    this.scheduled = null;
    if (this.size === 0) return;
    const until = performance.now() + this.o.turnMs;
    do {
      const item = this.items[this.head]!;
      this.items[this.head++] = undefined as T;
      try {
        this.run(item);
      } catch (e) {
        this.failed(e);
      }
    } while (this.head < this.items.length && performance.now() < until);
    if (this.head >= this.items.length) {
      this.items = [];
      this.head = 0;
    } else {
      if (this.head > 1024) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      // push may have scheduled a drain already (an item queued by run).
      this.scheduled ??= setImmediate(() => this.drain());
    }
  }
}
