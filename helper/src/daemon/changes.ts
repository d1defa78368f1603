// ChangeNotifier: the daemon says "something changed" (tunnel state, peers, policy, exit
// routes, coordinator reachability) and the local API's event stream sends a fresh status.
// Listeners are called synchronously and must be cheap; the API server coalesces.

/** ChangeNotifier fans one notification out to every subscriber. */
export class ChangeNotifier {
  private readonly listeners = new Set<() => void>();

  /** subscribe adds a listener and returns the function that removes it. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** notify calls every listener; a listener that throws does not stop the others. */
  notify(): void {
    for (const l of [...this.listeners]) {
      try {
        l();
      } catch {
        // A broken event stream must not break the daemon.
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
