import type { JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { realClock, sleep, type Clock } from '../lib/clock.js';
import type { JobEvent } from '../queue/job-events.js';
import { publishJobEvent } from '../queue/publisher.js';

/**
 * Publishes job events in order, retrying across NATS outages (the msgID makes a
 * retried publish a no-op). `publish()` resolves once the event is stored, so the
 * agent can sequence e.g. "failed" before the NAK that starts the next attempt.
 * Sparse events (heartbeat, progress) are dropped when the backlog is long.
 */
export class EventOutbox {
  private queue: { ev: JobEvent; macKey: Buffer | undefined; done: (ok: boolean) => void }[] = [];
  private running = false;
  private closed = false;
  private wake?: () => void;
  private readonly clock: Clock;

  constructor(
    private readonly js: JetStreamClient,
    private readonly log: Logger,
    private readonly opts: {
      maxBacklog?: number;
      retryMs?: number;
      clock?: Clock;
      /** The event key of a job (looked up when the event is queued, while the job is held). */
      macKeyFor?: (jobUid: string) => Buffer | undefined;
    } = {},
  ) {
    this.clock = opts.clock ?? realClock;
  }

  get backlog(): number {
    return this.queue.length;
  }

  /** Resolves true when stored, false when dropped or the outbox closed first. */
  publish(ev: JobEvent): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    const sparse = ev.type === 'heartbeat' || ev.type === 'progress';
    if (sparse && this.queue.length >= (this.opts.maxBacklog ?? 1000)) return Promise.resolve(false);
    return new Promise((done) => {
      this.queue.push({ ev, macKey: ev.jobUid ? this.opts.macKeyFor?.(ev.jobUid) : undefined, done });
      void this.pump();
    });
  }

  /** Waits until the backlog is empty or `timeoutMs` passed, then drops the rest. */
  async close(timeoutMs: number): Promise<void> {
    const deadline = this.clock.now() + timeoutMs;
    while (this.queue.length > 0 && this.clock.now() < deadline) await sleep(20, undefined, this.clock);
    this.closed = true;
    this.wake?.();
    for (const item of this.queue.splice(0)) item.done(false);
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const item = this.queue[0]!;
        try {
          await publishJobEvent(this.js, item.ev, { timeoutMs: 5000, ...(item.macKey ? { macKey: item.macKey } : {}) });
          this.queue.shift();
          item.done(true);
        } catch (err) {
          this.log.warn({ err, event: item.ev.type, jobUid: item.ev.jobUid }, 'cannot publish job event; retrying');
          await new Promise<void>((r) => {
            this.wake = r;
            setTimeout(r, this.opts.retryMs ?? 500).unref();
          });
        }
      }
    } finally {
      this.running = false;
    }
  }
}
