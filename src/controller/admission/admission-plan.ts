/**
 * Pure admission planning for one pool: which waiting jobs may be published now.
 *
 * In flight = Queued or Running (from the informer cache) plus jobs this controller published
 * whose status write the cache has not shown yet. A pool never has more in flight than
 * maxReplicas × slotsPerWorker; waiting jobs are admitted strictly in (priority desc, creation
 * time, name) order, so a lower-priority job is never admitted while a higher one waits.
 */
import type { VisionJobObject } from '../manager/context-types.js';
import { IN_FLIGHT_PHASES, isTerminal, type VisionJobStatus } from '../visionjob/visionjob-status.js';

export function jobStatus(job: VisionJobObject): VisionJobStatus {
  return (job.status ?? {}) as VisionJobStatus;
}

export function jobPhase(job: VisionJobObject): string {
  return jobStatus(job).phase ?? 'Pending';
}

export function jobPool(job: VisionJobObject): string | undefined {
  return typeof job.spec?.pool === 'string' ? job.spec.pool : undefined;
}

export function jobPriority(job: VisionJobObject): number {
  const p = job.spec?.priority;
  return typeof p === 'number' && Number.isFinite(p) ? p : 0;
}

/**
 * Parsed creation times by job object. Every pass reads the whole backlog again, and parsing its
 * ISO timestamps was most of a pass's time (bench/admission-fair-share.ts); the informer hands out
 * the same objects until they change. The string is kept to check the hit, so a mutated object
 * is parsed again.
 */
const createdCache = new WeakMap<VisionJobObject, { t: unknown; ms: number }>();

/** metadata.creationTimestamp in epoch ms (0 when absent or unparsable). */
export function creationMs(job: VisionJobObject): number {
  const t = job.metadata.creationTimestamp as string | Date | undefined;
  const hit = createdCache.get(job);
  if (hit !== undefined && hit.t === t) return hit.ms;
  const parsed = t === undefined ? 0 : t instanceof Date ? t.getTime() : Date.parse(t);
  const ms = Number.isFinite(parsed) ? parsed : 0;
  createdCache.set(job, { t, ms });
  return ms;
}

/** The sort key of the admission order, computed once per job (not once per comparison). */
export interface AdmissionKey {
  priority: number;
  created: number;
  name: string;
}

export function admissionKey(job: VisionJobObject): AdmissionKey {
  return { priority: jobPriority(job), created: creationMs(job), name: job.metadata.name ?? '' };
}

/** Admission order on keys: priority desc, then creation time, then name (a total order). */
export function compareAdmissionKeys(a: AdmissionKey, b: AdmissionKey): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.created !== b.created) return a.created - b.created;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Admission order: priority desc, then creation time, then name (a total order). */
export function compareAdmissionOrder(a: VisionJobObject, b: VisionJobObject): number {
  return compareAdmissionKeys(admissionKey(a), admissionKey(b));
}

/** The jobs in admission order (a new array). */
export function sortByAdmissionOrder(jobs: readonly VisionJobObject[]): VisionJobObject[] {
  const keyed = jobs.map((job) => ({ job, key: admissionKey(job) }));
  keyed.sort((a, b) => compareAdmissionKeys(a.key, b.key));
  return keyed.map((k) => k.job);
}

/** A job that waits for admission: not published, not finished, not being deleted. */
export function isWaiting(job: VisionJobObject): boolean {
  if (job.metadata.deletionTimestamp) return false;
  const st = jobStatus(job);
  if (isTerminal(st)) return false;
  // A suspended attempt still being stopped: its old message may not be gone yet.
  if (st.currentAttempt?.ended === 'suspending') return false;
  return st.phase === undefined || st.phase === 'Pending';
}

export interface AdmissionPlan {
  limit: number;
  inFlight: number;
  /** The jobs counted in `inFlight` (fair share counts them by tenant). */
  inFlightJobs: VisionJobObject[];
  /** Waiting, admissible jobs in admission order. */
  waiting: VisionJobObject[];
  /** The prefix of `waiting` that fits now. */
  admit: VisionJobObject[];
}

export interface PlanInput {
  jobs: Iterable<VisionJobObject>;
  namespace: string;
  pool: string;
  limit: number;
  /** uids published by this controller whose Queued status the cache may not show yet. */
  publishedUids?: ReadonlySet<string>;
  /** Extra filter (e.g. spec valid, not suspended). */
  eligible?: (job: VisionJobObject) => boolean;
}

export function planAdmission(input: PlanInput): AdmissionPlan {
  const inFlightJobs: VisionJobObject[] = [];
  const waiting: VisionJobObject[] = [];
  for (const job of input.jobs) {
    if (job.metadata.namespace !== input.namespace || jobPool(job) !== input.pool) continue;
    const st = jobStatus(job);
    const uid = job.metadata.uid ?? '';
    if (st.phase !== undefined && IN_FLIGHT_PHASES.has(st.phase)) {
      inFlightJobs.push(job);
      continue;
    }
    if (!isWaiting(job)) continue;
    if (input.publishedUids?.has(uid)) {
      inFlightJobs.push(job);
      continue;
    }
    if (input.eligible && !input.eligible(job)) continue;
    waiting.push(job);
  }
  const sorted = sortByAdmissionOrder(waiting);
  const inFlight = inFlightJobs.length;
  const free = Math.max(0, input.limit - inFlight);
  return { limit: input.limit, inFlight, inFlightJobs, waiting: sorted, admit: sorted.slice(0, free) };
}
