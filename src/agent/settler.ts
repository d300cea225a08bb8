import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { ackAckByAckSubject, nakConfirmed, termByAckSubject } from '../queue/ack.js';
import type { AttemptStore } from '../queue/attempt-store.js';
import type { JobEventOf } from '../queue/job-events.js';
import type { AckSender } from './ack-sender.js';
import type { EventOutbox } from './event-outbox.js';
import type { AttemptResult } from './job-runner.js';
import type { AgentMetrics } from './metrics.js';
import type { EventBase, RunningJob } from './running-job.js';
import { ackActionFor, failureDecision, permanentCodesFor, settlementOf, type AckAction } from './settle-policy.js';

export interface SettlerDeps {
  nc: NatsConnection;
  acks: AckSender;
  outbox: EventOutbox;
  attempts: AttemptStore;
  metrics: AgentMetrics;
  log: Logger;
  /** The agent's own permanent exit codes (each job adds its own). */
  permanentCodes: ReadonlySet<number>;
  /** The pool consumer's max_deliver now (re-read, cached: src/agent/consumer-limits.ts). */
  maxDeliver(): Promise<number>;
  termReason: boolean;
  /** Why running jobs are being re-queued (set when the agent stops). */
  requeueReason(): 'sigterm' | 'shutdown';
  eventBase(r: RunningJob): EventBase;
  /** Retries an attempt-store write across outages (the agent's retry policy). */
  retry<T>(what: string, fn: () => Promise<T>, attempts: number): Promise<T>;
}

/**
 * Carries out the settle policy for a finished attempt: its event and its ack / nak / term, in
 * the order the controller relies on (a failure's event is stored before the NAK that starts the
 * next attempt; a success's event only once the ack is confirmed).
 */
export class Settler {
  constructor(private readonly deps: SettlerDeps) {}

  /** Resolves true when the job is done for good here: its success was acked (confirmed). */
  async settle(r: RunningJob, res: AttemptResult): Promise<boolean> {
    const d = this.deps;
    const base = d.eventBase(r);
    const log = d.log.child({ jobUid: r.job.uid, job: r.job.name, attempt: r.attempt, ...r.ref });
    const superseded = res.killedBy === 'superseded' || (await this.isSuperseded(r));
    const s = settlementOf(res, superseded, permanentCodesFor(d.permanentCodes, r.job));
    switch (s.kind) {
      case 'superseded':
        d.metrics.jobs.inc({ outcome: 'superseded' });
        log.warn('attempt superseded: no ack, no event');
        return false;
      case 'cancelled':
        await this.ack(r, ackActionFor(s, { termReason: d.termReason }));
        await d.outbox.publish({ ...base, type: 'cancelled', durationMs: res.durationMs });
        this.count('cancelled', res);
        log.info('job cancelled');
        return false;
      case 'requeued':
        await d.outbox.publish({ ...base, type: 'requeued', reason: d.requeueReason(), message: 'worker stopping' });
        await this.ack(r, ackActionFor(s, { termReason: d.termReason }));
        this.count('requeued', res);
        log.info('job re-queued (disruption)');
        return false;
      case 'succeeded': {
        if (!(await this.ack(r, ackActionFor(s, { termReason: d.termReason })))) {
          log.warn('ack not confirmed (superseded or consumer gone): no succeeded event');
          return false;
        }
        if (res.resultError) log.warn({ resultError: res.resultError }, 'result file ignored');
        await d.outbox.publish({ ...base, type: 'succeeded', result: res.result, durationMs: res.durationMs });
        this.count('succeeded', res);
        log.info({ durationMs: res.durationMs }, 'job succeeded');
        return true;
      }
      case 'failed': {
        const { failures, superseded: lost } = await d.retry('record failure', () => d.attempts.recordFailure(r.job.uid, r.ref), 20);
        if (lost) return false;
        const decision = failureDecision(s, r.job, failures, r.ref.deliveryCount, await d.maxDeliver());
        const ev: JobEventOf<'failed'> = {
          ...base,
          type: 'failed',
          reason: s.reason,
          exitCode: res.exitCode ?? undefined,
          signal: res.signal ?? undefined,
          retryable: s.retryable,
          willRetry: decision.willRetry,
          nextDelayMs: decision.nextDelayMs,
          failures,
          durationMs: res.durationMs,
        };
        // The event goes first so that it is stored before the next attempt's "started".
        await d.outbox.publish(ev);
        await this.ack(r, ackActionFor(s, { termReason: d.termReason, retry: decision }));
        this.count(decision.willRetry ? 'failed-retry' : 'failed', res);
        log.info({ reason: s.reason, failures, willRetry: decision.willRetry, nextDelayMs: decision.nextDelayMs }, 'job attempt failed');
        return false;
      }
    }
  }

  /** The attempt store's view, false when it cannot be read (NATS down: assume still current). */
  async isSuperseded(r: RunningJob): Promise<boolean> {
    try {
      return await this.deps.attempts.isSuperseded(r.job.uid, r.ref);
    } catch {
      return false;
    }
  }

  private ack(r: RunningJob, action: AckAction): Promise<boolean> {
    const { nc } = this.deps;
    let op: () => Promise<unknown>;
    switch (action.op) {
      case 'none':
        return Promise.resolve(true);
      case 'ack':
        op = () => ackAckByAckSubject(nc, r.ackSubject);
        break;
      case 'nak':
        op = () => nakConfirmed(nc, r.ackSubject, action.delayMs);
        break;
      case 'term':
        op = () => termByAckSubject(nc, r.ackSubject, { reason: action.reason });
        break;
    }
    return this.deps.acks.confirmed(op, { jobUid: r.job.uid, isSuperseded: () => this.isSuperseded(r) });
  }

  private count(outcome: string, res: AttemptResult): void {
    this.deps.metrics.jobs.inc({ outcome });
    this.deps.metrics.duration.observe({ outcome }, res.durationMs / 1000);
  }
}
