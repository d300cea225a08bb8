/** Helpers of the scaling benchmarks: a job phase observer, percentiles, result files. */
import type { Harness, JobObject } from '../test/e2e/harness.js';

import { percentile } from './report-util.js';

export { REPO, percentile, writeResult } from './report-util.js';

/** First time (client clock, watch arrival) each job was seen in each phase. */
export class PhaseObserver {
  readonly seen = new Map<string, Map<string, number>>();

  constructor(h: Harness) {
    const record = (j: JobObject): void => {
      const phase = j.status?.phase;
      if (!phase) return;
      const name = j.metadata.name ?? '';
      let m = this.seen.get(name);
      if (!m) this.seen.set(name, (m = new Map()));
      if (!m.has(phase)) m.set(phase, Date.now());
    };
    h.jobs.addEventHandler({ onAdd: record, onUpdate: (_o, j) => record(j) });
  }

  at(job: string, phase: string): number | undefined {
    return this.seen.get(job)?.get(phase);
  }
}

export function summary(samples: number[]): { median: number; p90: number; min: number; max: number; n: number } {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x);
  return { median: r(percentile(s, 50)), p90: r(percentile(s, 90)), min: r(s[0] ?? NaN), max: r(s[s.length - 1] ?? NaN), n: s.length };
}

