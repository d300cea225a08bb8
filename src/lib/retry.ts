import { Backoff, type BackoffOptions } from './backoff.js';
import { realClock, sleep, type Clock } from './clock.js';

export interface RetryOptions {
  /** Delays between attempts (capped, jittered: see Backoff). */
  backoff?: BackoffOptions;
  /** Calls of `fn` at most; the last error is thrown. Default: no limit. */
  attempts?: number;
  /** False rethrows `err` at once. `attempt` is the 1-based number of the call that failed. */
  shouldRetry?: (err: unknown, attempt: number) => boolean;
  /** Called before each wait, e.g. to log. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  clock?: Clock;
}

/**
 * Calls `fn(attempt)` until it resolves, waiting a Backoff delay after each failure. The one
 * retry loop of the runtime, so every retry is jittered: many agents that lost NATS at the same
 * moment must not come back in lockstep.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const backoff = new Backoff(opts.backoff);
  const attempts = opts.attempts ?? Infinity;
  const clock = opts.clock ?? realClock;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || (opts.shouldRetry && !opts.shouldRetry(err, attempt))) throw err;
      const delayMs = backoff.next();
      opts.onRetry?.(err, attempt, delayMs);
      await sleep(delayMs, undefined, clock);
    }
  }
}
