/**
 * VisionJob status as the controller reads and writes it, plus the pure helpers that build it:
 * conditions (Kubernetes API conventions: lastTransitionTime only moves when status flips).
 */
import { toRfc3339 } from '../../api/conditions.js';

export type JobPhase = 'Pending' | 'Queued' | 'Running' | 'Succeeded' | 'Failed' | 'Cancelled';

export const TERMINAL_PHASES: ReadonlySet<string> = new Set(['Succeeded', 'Failed', 'Cancelled']);
export const IN_FLIGHT_PHASES: ReadonlySet<string> = new Set(['Queued', 'Running']);

export type ConditionType = 'Pending' | 'Admitted' | 'Running' | 'Succeeded' | 'Failed';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** Why a job still waits for admission. */
export type PendingReason =
  | 'PoolNotFound'
  | 'Suspended'
  | 'PoolAtCapacity'
  | 'QueueFull'
  | 'NatsUnavailable'
  | 'WaitingForAdmission';

export interface CurrentAttempt {
  /** Attempts started for the job uid (1-based), as the agent claimed it. */
  attempt: number;
  pod: string;
  node?: string;
  startedAt: string;
  /** Reply subject of the delivery: a `-NAK` published to it re-queues the job at once. */
  ackSubject?: string;
  /** Jobs stream sequence and JetStream delivery count: (streamSeq, deliveryCount) orders attempts. */
  streamSeq: number;
  deliveryCount: number;
  /** How the attempt ended, once it did; a second report of the same attempt is ignored. */
  ended?: 'succeeded' | 'failed' | 'requeued' | 'cancelled' | 'rejected';
  /** Pod whose death re-queued this attempt (requeueJobOfDeadPod is idempotent through it). */
  requeuedForPod?: string;
}

export interface VisionJobStatus {
  phase?: JobPhase;
  conditions?: Condition[];
  observedGeneration?: number;
  attempts?: number;
  failures?: number;
  disruptions?: number;
  currentAttempt?: CurrentAttempt;
  queuedAt?: string;
  startTime?: string;
  completionTime?: string;
  lastHeartbeatTime?: string;
  progress?: { percent: number; message?: string };
  result?: unknown;
  message?: string;
  /** Sequence of the job's message in VISIONQ_JOBS (to delete it when the job is cancelled). */
  queueSequence?: number;
  /** Times the job was taken back out of the queue; part of the msgID of its next publish. */
  requeueGeneration?: number;
}

/**
 * Stream sequence of the job's message. The admission records queueSequence after publishing,
 * but an idle agent can start the job first (and then the queued status is never written), so
 * the current attempt's sequence — the same message — stands in for it.
 */
export function queuedMessageSeq(status: VisionJobStatus): number | undefined {
  return status.queueSequence ?? status.currentAttempt?.streamSeq;
}

export function isTerminal(status: VisionJobStatus | undefined): boolean {
  return status?.phase !== undefined && TERMINAL_PHASES.has(status.phase);
}

export function findCondition(status: VisionJobStatus | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/**
 * Returns conditions with `type` set; keeps lastTransitionTime when the status did not flip and
 * returns the same array (by reference) when nothing changed at all, so callers can skip writes.
 */
export function setCondition(
  conditions: Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'> & { lastTransitionTime?: string },
  now: Date,
): Condition[] {
  const list = conditions ?? [];
  const i = list.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? list[i] : undefined;
  if (
    prev &&
    prev.status === next.status &&
    prev.reason === next.reason &&
    prev.message === next.message &&
    (next.observedGeneration === undefined || prev.observedGeneration === next.observedGeneration)
  ) {
    return list;
  }
  const cond: Condition = {
    type: next.type,
    status: next.status,
    reason: next.reason,
    message: next.message,
    lastTransitionTime:
      prev && prev.status === next.status ? prev.lastTransitionTime : (next.lastTransitionTime ?? toRfc3339(now)),
    ...(next.observedGeneration !== undefined ? { observedGeneration: next.observedGeneration } : {}),
  };
  const out = list.slice();
  if (i >= 0) out[i] = cond;
  else out.push(cond);
  return out;
}

/** Sets a condition only if it exists (used to flip e.g. Pending to False once admitted). */
export function clearCondition(
  conditions: Condition[] | undefined,
  type: string,
  reason: string,
  message: string,
  now: Date,
): Condition[] | undefined {
  const prev = conditions?.find((c) => c.type === type);
  if (!prev || prev.status === 'False') return conditions;
  return setCondition(conditions, { type, status: 'False', reason, message }, now);
}

/** A Kubernetes Event to record about the job along with a status change. */
export interface KubeEventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** A status that finished the job, with the events to record (a ReduceResult of the events reducer). */
export interface FinishedResult {
  status: VisionJobStatus;
  kind: 'transition';
  events: KubeEventSpec[];
  finished: 'Failed' | 'Cancelled';
}

/** Marks the job Failed (terminal): the events reducer, the reconciler (invalid spec) and the MAX_DELIVERIES watcher. */
export function failJob(
  prev: VisionJobStatus,
  reason: string,
  message: string,
  when: string,
  now: Date,
  gen?: number,
): FinishedResult {
  const status: VisionJobStatus = { ...prev, phase: 'Failed', completionTime: prev.completionTime ?? when, message };
  let c = clearCondition(status.conditions, 'Pending', 'Finished', 'the job has finished', now);
  c = status.conditions?.some((x) => x.type === 'Running')
    ? setCondition(c, { type: 'Running', status: 'False', reason: 'Failed', message: 'the job has finished', observedGeneration: gen }, now)
    : c;
  c = setCondition(c, { type: 'Failed', status: 'True', reason, message, observedGeneration: gen }, now);
  status.conditions = c;
  return { status, kind: 'transition', events: [{ type: 'Warning', reason: 'Failed', message }], finished: 'Failed' };
}

export function cancelJob(prev: VisionJobStatus, message: string, when: string, now: Date, gen?: number): FinishedResult {
  const status: VisionJobStatus = { ...prev, phase: 'Cancelled', completionTime: prev.completionTime ?? when, message };
  let c = clearCondition(status.conditions, 'Pending', 'Cancelled', 'the job was cancelled', now);
  c = status.conditions?.some((x) => x.type === 'Running')
    ? setCondition(c, { type: 'Running', status: 'False', reason: 'Cancelled', message, observedGeneration: gen }, now)
    : c;
  status.conditions = c;
  return { status, kind: 'transition', events: [{ type: 'Normal', reason: 'Cancelled', message }], finished: 'Cancelled' };
}

/** Deep equality of JSON values (status objects), used to skip no-op writes. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = canonical(x);
    }
    return out;
  }
  return v;
}
