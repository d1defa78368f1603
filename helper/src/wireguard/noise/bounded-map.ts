// BoundedMap: a map of at most `max` entries that forgets the entry set longest ago first. The
// core's memories of keys (early-initiators.ts, replay-memory.ts) are filled by what arrives
// from the network and by configuration changes, so none of them may grow without bound.
export class BoundedMap<V> {
  // Insertion order is age order: a key set again is moved to the end.
  private readonly entries = new Map<string, V>();

  constructor(readonly max: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** set stores value as the newest entry, forgetting the oldest when full. */
  set(key: string, value: V): void {
    this.entries.delete(key);
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, value);
  }

  /** take returns and forgets the value under key. */
  take(key: string): V | undefined {
    const value = this.entries.get(key);
    this.entries.delete(key);
    return value;
  }
}
