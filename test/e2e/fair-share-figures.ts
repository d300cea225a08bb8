/**
 * Fairness figures from the probe's run log (pure): first start of each job, and how many slots
 * each tenant held on average over a time window. The fair-share e2e tests assert on these and
 * print them for the notes.
 */
import type { ProbeRun } from './harness.js';

/** First start of each job (a retried job counts from its first attempt). */
export function firstStarts(runs: readonly ProbeRun[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of runs) out.set(r.job, Math.min(out.get(r.job) ?? Infinity, r.start));
  return out;
}

/** Last end of each job (undefined while one of its runs has no end). */
export function lastEnds(runs: readonly ProbeRun[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of runs) if (r.end !== undefined) out.set(r.job, Math.max(out.get(r.job) ?? -Infinity, r.end));
  return out;
}

/**
 * Average number of runs of each tenant alive over [from, to) (slot-milliseconds / window):
 * the time-weighted running split. A run without an end is alive until `to`.
 */
export function meanRunning(runs: readonly ProbeRun[], tenantOf: (job: string) => string, from: number, to: number): Map<string, number> {
  const span = to - from;
  const out = new Map<string, number>();
  if (span <= 0) return out;
  for (const r of runs) {
    const s = Math.max(r.start, from);
    const e = Math.min(r.end ?? to, to);
    if (e <= s) continue;
    const t = tenantOf(r.job);
    out.set(t, (out.get(t) ?? 0) + (e - s) / span);
  }
  return out;
}

/** Runs of each tenant that started inside [from, to). */
export function startsIn(runs: readonly ProbeRun[], tenantOf: (job: string) => string, from: number, to: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of runs) {
    if (r.start < from || r.start >= to) continue;
    const t = tenantOf(r.job);
    out.set(t, (out.get(t) ?? 0) + 1);
  }
  return out;
}
