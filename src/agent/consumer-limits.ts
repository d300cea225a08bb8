import type { Clock } from '../lib/clock.js';

/** How long a read of the pool consumer's settings is trusted. */
export const CONSUMER_SETTINGS_TTL_MS = 10_000;

/** What an agent's decisions take from the pool consumer's config. */
export interface ConsumerSettings {
  /** Deliveries the server makes of a message; -1 = unlimited. */
  maxDeliver: number;
  /** The server's ack deadline, which working() must beat. */
  ackWaitMs: number;
}

/**
 * The pool consumer's settings, as the agent's retry decisions and heartbeats need them. The
 * controller changes them when the pool's spec changes (retries, ackWaitSeconds), and an agent
 * runs for days: a value read once at start would decide "another delivery follows" (NAK)
 * where the server has none left, or heartbeat slower than a lowered deadline. So they are
 * re-read: afresh when an attempt starts (beside its claim, so it adds no latency), and at most
 * every ttlMs when one fails; a failed read keeps the last known values.
 */
export class ConsumerLimits {
  private value: ConsumerSettings;
  private readAt: number;

  constructor(
    private readonly read: () => Promise<ConsumerSettings>,
    initial: ConsumerSettings,
    private readonly clock: Clock,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly ttlMs = CONSUMER_SETTINGS_TTL_MS,
  ) {
    this.value = initial;
    this.readAt = clock.now();
  }

  /** The last values read, without a round trip (logs, status). */
  get current(): ConsumerSettings {
    return this.value;
  }

  /** fresh: read now whatever the age (an attempt's heartbeat must follow the deadline it gets). */
  async get(opts: { fresh?: boolean } = {}): Promise<ConsumerSettings> {
    if (!opts.fresh && this.clock.now() - this.readAt < this.ttlMs) return this.value;
    try {
      this.value = await this.read();
      this.readAt = this.clock.now();
    } catch (err) {
      this.onError(err);
    }
    return this.value;
  }

  async maxDeliver(): Promise<number> {
    return (await this.get()).maxDeliver;
  }
}
