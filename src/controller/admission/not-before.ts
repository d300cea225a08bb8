/**
 * Delayed jobs (spec.notBefore): pure helpers for the admission pass. The wait is recomputed from
 * the spec on every pass, so a controller restart or a leader change loses nothing, and an edit
 * of notBefore while the job waits takes effect on the next pass (the edit triggers one).
 */
import type { VisionJobObject } from '../manager/context-types.js';

/** The job's notBefore in epoch ms, or undefined when absent or unparsable (schema checks the format). */
export function notBeforeMs(job: VisionJobObject): number | undefined {
  const t = (job.spec as { notBefore?: unknown } | undefined)?.notBefore;
  if (typeof t !== 'string') return undefined;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms : undefined;
}

export interface DelaySplit {
  /** Jobs whose notBefore has passed (or have none). */
  ready: VisionJobObject[];
  /** Jobs still held back, with their notBefore. */
  delayed: { job: VisionJobObject; at: number }[];
  /** ms until the earliest delayed job is due (undefined when none is delayed). */
  nextInMs: number | undefined;
}

export function splitByNotBefore(jobs: Iterable<VisionJobObject>, nowMs: number): DelaySplit {
  const ready: VisionJobObject[] = [];
  const delayed: { job: VisionJobObject; at: number }[] = [];
  let next: number | undefined;
  for (const job of jobs) {
    const at = notBeforeMs(job);
    if (at === undefined || at <= nowMs) {
      ready.push(job);
      continue;
    }
    delayed.push({ job, at });
    next = next === undefined ? at : Math.min(next, at);
  }
  return { ready, delayed, nextInMs: next === undefined ? undefined : next - nowMs };
}

/** The Pending message of a delayed job: names the time, stable across passes (no countdown). */
export function notBeforeMessage(at: number): string {
  return `the job is not admitted before ${new Date(at).toISOString()} (spec.notBefore)`;
}

/** The earlier of two optional requeue delays. */
export function earlierRequeue(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
