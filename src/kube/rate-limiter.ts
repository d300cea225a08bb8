import { realClock, type Clock } from '../lib/clock.js';

/** Decides how long a key waits before it is retried. */
export interface RateLimiter<K = string> {
  /** The delay for this retry of `key` (each call counts as one more failure). */
  when(key: K): number;
  forget(key: K): void;
  numRequeues(key: K): number;
}

/** Per-key exponential backoff: base · 2^failures, capped. A flapping object slows only itself. */
export class ItemExponentialRateLimiter<K = string> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();
  constructor(
    private readonly baseMs = 5,
    private readonly maxMs = 1_000_000,
  ) {}

  when(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // Guard 2^n against overflow long before it matters.
    return n > 50 ? this.maxMs : Math.min(this.maxMs, this.baseMs * Math.pow(2, n));
  }

  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }
}

/**
 * Global token bucket: protects the API server when many keys fail at once. Each call reserves a
 * token (the balance may go negative) and returns how long until that token exists.
 */
export class BucketRateLimiter<K = string> implements RateLimiter<K> {
  private tokens: number;
  private last: number;
  constructor(
    private readonly qps = 10,
    private readonly burst = 100,
    private readonly clock: Clock = realClock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  when(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }

  forget(): void {}

  numRequeues(): number {
    return 0;
  }
}

/** The worst (longest) delay of several limiters; requeue counts come from the first that counts. */
export class MaxOfRateLimiter<K = string> implements RateLimiter<K> {
  private readonly limiters: RateLimiter<K>[];
  constructor(...limiters: RateLimiter<K>[]) {
    this.limiters = limiters;
  }

  when(key: K): number {
    return Math.max(0, ...this.limiters.map((l) => l.when(key)));
  }

  forget(key: K): void {
    for (const l of this.limiters) l.forget(key);
  }

  numRequeues(key: K): number {
    return Math.max(0, ...this.limiters.map((l) => l.numRequeues(key)));
  }
}

export interface DefaultRateLimiterOptions {
  baseMs?: number;
  maxMs?: number;
  qps?: number;
  burst?: number;
  clock?: Clock;
}

/** client-go's default: per-key 5 ms → 1000 s, combined with a 10 qps / 100 burst bucket. */
export function defaultControllerRateLimiter<K = string>(opts: DefaultRateLimiterOptions = {}): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(
    new ItemExponentialRateLimiter<K>(opts.baseMs ?? 5, opts.maxMs ?? 1_000_000),
    new BucketRateLimiter<K>(opts.qps ?? 10, opts.burst ?? 100, opts.clock ?? realClock),
  );
}
