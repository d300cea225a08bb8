import { every, type Clock } from '../lib/clock.js';

export interface HeartbeatDeps {
  clock: Clock;
  /** The consumer's ack_wait: working() goes out three times per ack_wait. */
  ackWaitMs: number;
  /** Gap between heartbeat events (the controller's liveness view; much sparser than working()). */
  eventIntervalMs: number;
  /** True when a newer delivery claimed the job; throws when the attempt store is unreachable. */
  isSuperseded(): Promise<boolean>;
  /** Stops the attempt: it is stale and must not ack. */
  onSuperseded(): void;
  /** Sends working() (+WPI) on the attempt's ack subject. */
  working(): void;
  /** Publishes a heartbeat event. */
  publishEvent(): void;
}

/** How often working() is sent for a given ack_wait: a third of it, at least every 100 ms. */
export function workingIntervalMs(ackWaitMs: number): number {
  return Math.max(100, Math.floor(ackWaitMs / 3));
}

/**
 * Keeps one running attempt's message from being redelivered: working() every third of
 * ack_wait, each preceded by the supersession check (a newer claim means this attempt is stale
 * and is stopped instead), plus a sparse heartbeat event.
 */
export class Heartbeat {
  private stops: (() => void)[] = [];

  constructor(private readonly deps: HeartbeatDeps) {}

  start(): void {
    if (this.stops.length > 0) return;
    this.stops = [
      every(this.deps.clock, workingIntervalMs(this.deps.ackWaitMs), () => void this.tick()),
      every(this.deps.clock, this.deps.eventIntervalMs, () => this.deps.publishEvent()),
    ];
  }

  stop(): void {
    for (const stop of this.stops.splice(0)) stop();
  }

  /**
   * The process has ended and its ack / nak / term is being sent: keep only the working()
   * beats. That send is retried across elections and outages (ack-sender.ts) for longer than
   * what is left of ack_wait, and a message whose ack_wait runs out meanwhile is redelivered:
   * finished work would run a second time. No supersession check (there is no process to
   * stop) and no heartbeat events (the outcome event comes next). stop() ends it.
   */
  settling(): void {
    this.stop();
    this.stops = [every(this.deps.clock, workingIntervalMs(this.deps.ackWaitMs), () => this.deps.working())];
  }

  /** One working() beat, unless the attempt was superseded. */
  async tick(): Promise<void> {
    try {
      if (await this.deps.isSuperseded()) {
        this.deps.onSuperseded();
        return;
      }
    } catch {
      // NATS down: keep heartbeating (buffered until reconnect).
    }
    this.deps.working();
  }
}
