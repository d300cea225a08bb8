/**
 * Pod creations and deletions the controller made that the pod informer has not shown yet
 * (client-go's "expectations"). Without them a reconcile that runs right after a create, before
 * the watch event arrives, would see too few pods and create more: the pool would overshoot.
 */
export class PodExpectations {
  private readonly creating = new Map<string, Map<string, number>>();
  private readonly deleting = new Map<string, Map<string, number>>();

  constructor(private readonly ttlMs = 60_000) {}

  expectCreate(pool: string, pod: string, nowMs: number): void {
    mapOf(this.creating, pool).set(pod, nowMs);
  }

  expectDelete(pool: string, pod: string, nowMs: number): void {
    mapOf(this.deleting, pool).set(pod, nowMs);
  }

  /** A create that failed: nothing to wait for. */
  forgetCreate(pool: string, pod: string): void {
    this.creating.get(pool)?.delete(pod);
  }

  forgetDelete(pool: string, pod: string): void {
    this.deleting.get(pool)?.delete(pod);
  }

  /**
   * Settles the expectations against the cache and returns what is still unseen:
   * created pods not in the cache yet, and deleted pods the cache still shows as alive.
   */
  pending(
    pool: string,
    cached: ReadonlyMap<string, { deleting: boolean }>,
    nowMs: number,
  ): { creating: string[]; deleting: string[] } {
    const c = this.creating.get(pool);
    const d = this.deleting.get(pool);
    const creating: string[] = [];
    const deleting: string[] = [];
    for (const [name, at] of c ?? []) {
      if (cached.has(name) || nowMs - at > this.ttlMs) c!.delete(name);
      else creating.push(name);
    }
    for (const [name, at] of d ?? []) {
      const pod = cached.get(name);
      if (!pod || pod.deleting || nowMs - at > this.ttlMs) d!.delete(name);
      else deleting.push(name);
    }
    return { creating, deleting };
  }

  clear(pool: string): void {
    this.creating.delete(pool);
    this.deleting.delete(pool);
  }
}

function mapOf(m: Map<string, Map<string, number>>, key: string): Map<string, number> {
  let v = m.get(key);
  if (!v) m.set(key, (v = new Map()));
  return v;
}
