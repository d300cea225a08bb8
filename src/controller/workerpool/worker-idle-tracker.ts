/**
 * Remembers since when each worker has been idle. In memory on purpose: after a controller restart
 * every worker counts as idle "since now", which only delays scale-down (the safe direction).
 * The pool is reconciled on every job phase change, so a job ending is seen within one reconcile.
 */
export class WorkerIdleTracker {
  private readonly idleSince = new Map<string, number>();
  private readonly known = new Set<string>();

  /** Records the current busy/idle state of the pool's workers and forgets pods that are gone. */
  observe(workers: ReadonlyArray<{ name: string; busy: boolean }>, nowMs: number): ReadonlyMap<string, number> {
    const present = new Set<string>();
    for (const w of workers) {
      present.add(w.name);
      if (w.busy) {
        this.idleSince.delete(w.name);
        this.known.add(w.name);
      } else if (!this.idleSince.has(w.name)) {
        this.idleSince.set(w.name, nowMs);
        this.known.add(w.name);
      }
    }
    for (const name of [...this.known]) {
      if (!present.has(name)) {
        this.known.delete(name);
        this.idleSince.delete(name);
      }
    }
    return this.idleSince;
  }

  /** A worker that just refused a drain has work: restart its idle clock. */
  resetIdleClock(name: string, nowMs: number): void {
    this.idleSince.set(name, nowMs);
  }
}
