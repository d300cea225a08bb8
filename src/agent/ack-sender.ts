import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import { retry } from '../lib/retry.js';
import { isNoResponders } from '../queue/errors.js';

/** Confirmed ack operations: 200 ms doubling to 2 s, jittered. */
const ACK_BACKOFF = { initialMs: 200, maxMs: 2000 };
/** While stopping with NATS down, a confirmed ack gives up after this many tries: the message comes back after ack_wait. */
const STOPPING_ACK_ATTEMPTS = 10;
/**
 * "No responders" on an ack subject means nobody holds the consumer: it was deleted, or on a
 * cluster its leader is being elected (a few seconds after the old one died). Retried this
 * long before giving up, so an election does not make finished work run again.
 */
const NO_RESPONDERS_GRACE_MS = 30_000;
/** Best-effort ack operations (a malformed message's term). */
const BEST_EFFORT_ATTEMPTS = 10;

export interface AckSenderDeps {
  nc: NatsConnection;
  clock: Clock;
  log: Logger;
  stopping(): boolean;
}

/**
 * Sends ack operations (ack, nak, term by ack subject) and retries them across NATS outages:
 * an hour of GPU work must not be redone because the ack fell into a reconnect.
 */
export class AckSender {
  constructor(private readonly deps: AckSenderDeps) {}

  /**
   * Retries `op` until the server confirms it. Gives up (false) when nobody answers on the ack
   * subject for NO_RESPONDERS_GRACE_MS (the consumer is gone), the connection is closed, the agent is stopping and NATS
   * stays away, or `isSuperseded` says a newer attempt took over meanwhile.
   */
  async confirmed(op: () => Promise<unknown>, ctx: { jobUid: string; isSuperseded: () => Promise<boolean> }): Promise<boolean> {
    let superseded = false;
    const graceUntil = this.deps.clock.now() + NO_RESPONDERS_GRACE_MS;
    try {
      await retry(
        async (attempt) => {
          if (attempt > 1 && (await ctx.isSuperseded())) {
            superseded = true;
            return;
          }
          await op();
        },
        {
          backoff: ACK_BACKOFF,
          clock: this.deps.clock,
          shouldRetry: (err, attempt) =>
            (!isNoResponders(err) || this.deps.clock.now() < graceUntil) && !this.deps.nc.isClosed() && !(this.deps.stopping() && attempt > STOPPING_ACK_ATTEMPTS),
          onRetry: (err) => this.deps.log.warn({ err: (err as Error).message, jobUid: ctx.jobUid }, 'ack operation not confirmed; retrying'),
        },
      );
      return !superseded;
    } catch {
      return false;
    }
  }

  /** Tries `op` a few times and then lets it be (the message comes back after ack_wait anyway). */
  async bestEffort(op: () => Promise<unknown>): Promise<void> {
    await retry(op, { attempts: BEST_EFFORT_ATTEMPTS, backoff: ACK_BACKOFF, clock: this.deps.clock }).catch(() => undefined);
  }
}
