import type { Clock } from '../lib/clock.js';

/** How long a read of the consumer's max_deliver is trusted. */
export const MAX_DELIVER_TTL_MS = 10_000;

/**
 * The pool consumer's max_deliver, as the agent's retry decisions need it. The controller
 * changes it when the pool's spec changes (retries, the backstop), and an agent runs for days:
 * a value read once at start would decide "another delivery follows" (NAK) where the server
 * has none left, or term a job the server would still redeliver. So the value is re-read when
 * an attempt fails, at most every ttlMs (default MAX_DELIVER_TTL_MS); a failed read keeps the last known value.
 */
export class ConsumerLimits {
  private value: number;
  private readAt: number;

  constructor(
    private readonly read: () => Promise<number>,
    initial: number,
    private readonly clock: Clock,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly ttlMs = MAX_DELIVER_TTL_MS,
  ) {
    this.value = initial;
    this.readAt = clock.now();
  }

  /** The last value read, without a round trip (logs, status). */
  get current(): number {
    return this.value;
  }

  async maxDeliver(): Promise<number> {
    if (this.clock.now() - this.readAt < this.ttlMs) return this.value;
    try {
      this.value = await this.read();
      this.readAt = this.clock.now();
    } catch (err) {
      this.onError(err);
    }
    return this.value;
  }
}
