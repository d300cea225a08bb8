/**
 * Pure event → status reduction. The controller is the single writer of VisionJob status; every
 * event read from VISIONQ_EVENTS goes through applyJobEvent, which must be idempotent (events are
 * delivered at least once) and must ignore reports of attempts older than the current one.
 */
import { clearCondition, setCondition } from '../../api/conditions.js';
import type { JobEvent } from '../../queue/job-events.js';
import {
  cancelJob,
  failJob,
  isTerminal,
  type CurrentAttempt,
  type KubeEventSpec,
  type VisionJobStatus,
} from '../visionjob/visionjob-status.js';

/** What kind of change an event makes: transitions are written at once, the others throttled. */
export type ChangeKind = 'transition' | 'progress' | 'heartbeat' | 'none';

export interface ReduceResult {
  status: VisionJobStatus;
  kind: ChangeKind;
  events: KubeEventSpec[];
  /** Why the event changed nothing (stale attempt, duplicate, finished job...). */
  ignored?: string;
  /** Set when the job reached a terminal phase with this event. */
  finished?: 'Succeeded' | 'Failed' | 'Cancelled';
  /** Set for a failed attempt that will be retried, and for a disruption. */
  retried?: boolean;
  disrupted?: boolean;
  /** Set on the first start of the job (queue wait metric). */
  firstStart?: boolean;
  /**
   * A newer attempt that was still running when an older attempt's success (confirmed by its
   * ackAck) finished the job: its process does work nobody will read, so it is stopped.
   */
  supersededRun?: { pod: string; attempt: number };
}

export interface ReduceOptions {
  now: Date;
  generation?: number;
}

function attemptOf(ev: JobEvent): Pick<CurrentAttempt, 'streamSeq' | 'deliveryCount'> {
  return { streamSeq: ev.streamSeq, deliveryCount: ev.deliveryCount };
}

/**
 * -1 when a is older than b, 0 when the same attempt, 1 when newer. The API type leaves the
 * numbers optional (a status written by hand may lack them): a missing number is never older.
 */
export function compareAttempt(
  a: Pick<CurrentAttempt, 'streamSeq' | 'deliveryCount'>,
  b: Pick<CurrentAttempt, 'streamSeq' | 'deliveryCount'>,
): number {
  if (a.streamSeq !== b.streamSeq) return lessThan(a.streamSeq, b.streamSeq) ? -1 : 1;
  if (a.deliveryCount !== b.deliveryCount) return lessThan(a.deliveryCount, b.deliveryCount) ? -1 : 1;
  return 0;
}

function lessThan(x: number | undefined, y: number | undefined): boolean {
  return x !== undefined && y !== undefined && x < y;
}

function describeExit(ev: Extract<JobEvent, { type: 'failed' }>): string {
  if (ev.exitCode !== undefined) return `exit code ${ev.exitCode}`;
  if (ev.signal) return `signal ${ev.signal}`;
  return 'no exit code';
}

/** Events after which the job's message is gone for good (termed or cancelled). */
function endsTheJob(ev: JobEvent): boolean {
  return (ev.type === 'failed' && !ev.willRetry) || ev.type === 'rejected' || ev.type === 'cancelled';
}

function ignore(status: VisionJobStatus, why: string): ReduceResult {
  return { status, kind: 'none', events: [], ignored: why };
}

export function applyJobEvent(prev: VisionJobStatus | undefined, ev: JobEvent, opts: ReduceOptions): ReduceResult {
  const status: VisionJobStatus = { ...(prev ?? {}) };
  const now = opts.now;
  const gen = opts.generation;
  const cur = status.currentAttempt;
  const order = cur ? compareAttempt(attemptOf(ev), cur) : 1;

  // A success was confirmed by ackAck: the work is done even if the attempt was superseded.
  if (isTerminal(status)) return ignore(prev ?? {}, `job already ${status.phase}`);
  if (order < 0 && ev.type !== 'succeeded') return ignore(prev ?? {}, 'event of an older attempt');
  if (order === 0 && cur?.ended && ev.type !== 'succeeded') {
    // A re-queue the controller made because the worker pod vanished is provisional: the
    // attempt may have reached its own verdict first, with the message already terminated,
    // so dropping that verdict would leave the job Queued for ever.
    const provisional = cur.ended === 'requeued' && cur.requeuedForPod !== undefined;
    if (!(provisional && endsTheJob(ev))) {
      if (provisional && ev.type === 'failed') status.failures = Math.max(status.failures ?? 0, ev.failures);
      if (status.failures !== prev?.failures) return { status, kind: 'transition', events: [], ignored: `attempt already ${cur.ended}` };
      return ignore(prev ?? {}, `attempt already ${cur.ended}`);
    }
  }

  // The first event seen of a newer attempt opens it, even when its `started` was lost.
  const opensAttempt = order > 0;
  if (opensAttempt) {
    status.currentAttempt = {
      attempt: ev.attempt,
      pod: ev.pod,
      node: ev.node || undefined,
      startedAt: ev.time,
      streamSeq: ev.streamSeq,
      deliveryCount: ev.deliveryCount,
      ...(ev.type === 'started' ? { ackSubject: ev.ackSubject } : {}),
    };
    status.attempts = Math.max(status.attempts ?? 0, ev.attempt);
    status.progress = undefined;
  }
  const attempt = status.currentAttempt!;
  const where = `pod ${attempt.pod}${attempt.node ? ` on node ${attempt.node}` : ''}`;

  switch (ev.type) {
    case 'started': {
      if (!opensAttempt) return ignore(prev ?? {}, 'duplicate started event');
      const firstStart = status.startTime === undefined;
      status.phase = 'Running';
      status.startTime ??= ev.time;
      status.failures = Math.max(status.failures ?? 0, ev.failures);
      status.lastHeartbeatTime = ev.time;
      status.message = `attempt ${ev.attempt} running on ${where}`;
      let c = clearCondition(status.conditions, 'Pending', 'Started', 'the job has started', now);
      c = setCondition(c, { type: 'Running', status: 'True', reason: 'Started', message: `attempt ${ev.attempt} running on ${where}`, observedGeneration: gen }, now);
      status.conditions = c;
      return {
        status,
        kind: 'transition',
        events: [{ type: 'Normal', reason: 'Started', message: `Attempt ${ev.attempt} started on ${where}` }],
        firstStart,
      };
    }
    case 'heartbeat': {
      status.lastHeartbeatTime = ev.time;
      if (opensAttempt) return { ...runningAgain(status, ev, where, now, gen), kind: 'transition' };
      return { status, kind: 'heartbeat', events: [] };
    }
    case 'progress': {
      status.progress = { percent: ev.percent, message: ev.message };
      status.lastHeartbeatTime = ev.time;
      if (opensAttempt) return { ...runningAgain(status, ev, where, now, gen), kind: 'transition' };
      return { status, kind: 'progress', events: [] };
    }
    case 'succeeded': {
      status.phase = 'Succeeded';
      status.completionTime = ev.time;
      status.result = ev.result;
      status.progress = { percent: 100, message: status.progress?.message ?? 'done' };
      if (order === 0 || opensAttempt) status.currentAttempt = { ...attempt, ended: 'succeeded' };
      status.message = `attempt ${ev.attempt} succeeded on pod ${ev.pod}`;
      let c = clearCondition(status.conditions, 'Pending', 'Finished', 'the job has finished', now);
      c = setCondition(c, { type: 'Running', status: 'False', reason: 'Completed', message: 'the job has finished', observedGeneration: gen }, now);
      c = setCondition(c, { type: 'Succeeded', status: 'True', reason: 'Completed', message: `attempt ${ev.attempt} succeeded on pod ${ev.pod}`, observedGeneration: gen }, now);
      status.conditions = c;
      const stale = order < 0 && cur && !cur.ended && cur.pod ? { pod: cur.pod, attempt: cur.attempt ?? 0 } : undefined;
      return {
        status,
        kind: 'transition',
        events: [{ type: 'Normal', reason: 'Succeeded', message: `Attempt ${ev.attempt} succeeded on pod ${ev.pod}` }],
        finished: 'Succeeded',
        ...(stale ? { supersededRun: stale } : {}),
      };
    }
    case 'failed': {
      status.failures = Math.max(status.failures ?? 0, ev.failures);
      status.currentAttempt = { ...attempt, ended: 'failed' };
      const what = `attempt ${ev.attempt} failed with ${describeExit(ev)} (${ev.reason})`;
      if (ev.willRetry) {
        const delay = ev.nextDelayMs !== undefined ? `; retrying in ${Math.round(ev.nextDelayMs / 1000)}s` : '; retrying';
        status.phase = 'Queued';
        status.message = `${what}${delay}`;
        status.conditions = setCondition(status.conditions, { type: 'Running', status: 'False', reason: 'Retrying', message: `${what}${delay}`, observedGeneration: gen }, now);
        return {
          status,
          kind: 'transition',
          events: [{ type: 'Warning', reason: 'Retrying', message: `${what}${delay} (failures ${status.failures})` }],
          retried: true,
        };
      }
      const reason = ev.retryable ? 'RetriesExhausted' : 'PermanentFailure';
      return failJob(status, reason, `${what}${ev.retryable ? '; no retries left' : '; permanent failure'}`, ev.time, now, gen);
    }
    case 'rejected': {
      status.currentAttempt = { ...attempt, ended: 'rejected' };
      return failJob(status, 'Rejected', `the worker rejected the job: ${ev.reason}`, ev.time, now, gen);
    }
    case 'requeued': {
      status.currentAttempt = { ...attempt, ended: 'requeued' };
      status.disruptions = (status.disruptions ?? 0) + 1;
      status.phase = 'Queued';
      const lost = ev.reason === 'sigterm' || ev.reason === 'drain' || ev.reason === 'shutdown';
      const reason = lost ? 'WorkerLost' : 'Requeued';
      const msg = `attempt ${ev.attempt} on pod ${ev.pod} was re-queued (${ev.reason}${ev.message ? `: ${ev.message}` : ''}); not counted as a failure`;
      status.message = msg;
      status.conditions = setCondition(status.conditions, { type: 'Running', status: 'False', reason, message: msg, observedGeneration: gen }, now);
      return { status, kind: 'transition', events: [{ type: 'Warning', reason, message: msg }], disrupted: true };
    }
    case 'cancelled': {
      status.currentAttempt = { ...attempt, ended: 'cancelled' };
      return cancelJob(status, `attempt ${ev.attempt} on pod ${ev.pod} was stopped`, ev.time, now, gen);
    }
  }
}

function runningAgain(status: VisionJobStatus, ev: JobEvent, where: string, now: Date, gen?: number): Omit<ReduceResult, 'kind'> {
  const firstStart = status.startTime === undefined;
  status.phase = 'Running';
  status.startTime ??= ev.time;
  status.message = `attempt ${ev.attempt} running on ${where}`;
  status.conditions = setCondition(status.conditions, { type: 'Running', status: 'True', reason: 'Started', message: status.message, observedGeneration: gen }, now);
  return { status, events: [{ type: 'Normal', reason: 'Started', message: `Attempt ${ev.attempt} started on ${where}` }], firstStart };
}
