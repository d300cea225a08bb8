/**
 * Pure helpers over VisionJob status as the controller reads and writes it. The types are the
 * zod-derived ones of src/api (one type per concept); conditions follow src/api/conditions.ts.
 */
import { clearCondition, setCondition } from '../../api/conditions.js';
import type { Condition } from '../../api/common-schemas.js';
import type { CurrentAttempt, JobPhase, VisionJobStatus } from '../../api/vision-job.js';

export type { Condition, CurrentAttempt, JobPhase, VisionJobStatus };

export const TERMINAL_PHASES: ReadonlySet<string> = new Set(['Succeeded', 'Failed', 'Cancelled']);
export const IN_FLIGHT_PHASES: ReadonlySet<string> = new Set(['Queued', 'Running']);

/** Why a job still waits for admission. */
export type PendingReason =
  | 'PoolNotFound'
  | 'Suspended'
  | 'PoolAtCapacity'
  | 'QueueFull'
  | 'NatsUnavailable'
  | 'WaitingForAdmission'
  | 'NotBefore'
  | 'MessageLost'
  | 'TenantAtQuota'
  | 'QueueQuotaExceeded';

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
