import { backoffDelayMs, type JobMessage } from '../queue/job-message.js';
import { classifyExit } from './exit-classifier.js';
import type { AttemptResult } from './job-runner.js';

/**
 * What an attempt's end means for its message, as pure decisions (the Settler carries them
 * out). Order matters: a superseded attempt never acks, whatever its outcome; a kill by the
 * agent (cancel, re-queue) wins over the exit code it caused.
 */
export type Settlement =
  | { kind: 'superseded' }
  | { kind: 'cancelled' }
  | { kind: 'requeued' }
  | { kind: 'succeeded' }
  | { kind: 'failed'; reason: string; retryable: boolean };

export function settlementOf(res: AttemptResult, superseded: boolean, permanentExitCodes: ReadonlySet<number>): Settlement {
  if (superseded || res.killedBy === 'superseded') return { kind: 'superseded' };
  if (res.killedBy === 'cancel') return { kind: 'cancelled' };
  if (res.killedBy === 'requeue' || res.killedBy === 'shutdown') return { kind: 'requeued' };
  const c = classifyExit(res, permanentExitCodes);
  if (c.kind === 'success') return { kind: 'succeeded' };
  return { kind: 'failed', reason: c.reason, retryable: c.kind === 'retryable' };
}

/** The agent's own permanent exit codes merged with the job's. */
export function permanentCodesFor(agentCodes: Iterable<number>, job: Pick<JobMessage, 'permanentExitCodes'>): Set<number> {
  return new Set([...agentCodes, ...job.permanentExitCodes]);
}

export interface RetryDecision {
  willRetry: boolean;
  nextDelayMs?: number;
}

/**
 * After `failures` failed attempts (this one included): retry while failures <= retries
 * and JetStream's max_deliver backstop (if any) leaves another delivery. The delay is the
 * job's own backoff (deterministic: the controller shows it as the next attempt's time).
 */
export function decideRetry(job: Pick<JobMessage, 'retries' | 'backoff'>, failures: number, deliveryCount: number, maxDeliver: number): RetryDecision {
  const deliveriesLeft = maxDeliver <= 0 || deliveryCount < maxDeliver;
  if (failures > job.retries || !deliveriesLeft) return { willRetry: false };
  return { willRetry: true, nextDelayMs: backoffDelayMs(job.backoff, failures) };
}

/** A failed attempt: a permanent failure never retries. */
export function failureDecision(
  failed: Extract<Settlement, { kind: 'failed' }>,
  job: Pick<JobMessage, 'retries' | 'backoff'>,
  failures: number,
  deliveryCount: number,
  maxDeliver: number,
): RetryDecision {
  return failed.retryable ? decideRetry(job, failures, deliveryCount, maxDeliver) : { willRetry: false };
}

export type AckAction = { op: 'none' } | { op: 'ack' } | { op: 'nak'; delayMs: number } | { op: 'term'; reason?: string };

/**
 * The ack operation for a settlement. A cancel terms with reason "cancelled" where the server
 * understands reasons; a re-queue (disruption) NAKs without delay; a failure NAKs after the
 * job's backoff while it may retry and terms when it may not.
 */
export function ackActionFor(s: Settlement, opts: { termReason: boolean; retry?: RetryDecision }): AckAction {
  switch (s.kind) {
    case 'superseded':
      return { op: 'none' };
    case 'cancelled':
      return { op: 'term', reason: opts.termReason ? 'cancelled' : undefined };
    case 'requeued':
      return { op: 'nak', delayMs: 0 };
    case 'succeeded':
      return { op: 'ack' };
    case 'failed':
      return opts.retry?.willRetry ? { op: 'nak', delayMs: opts.retry.nextDelayMs ?? 0 } : { op: 'term' };
  }
}
