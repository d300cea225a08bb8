/** Helpers of the scaling benchmarks: a job phase observer, percentiles, result files. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Harness } from '../test/e2e/workerpool-harness.js';

export const REPO = resolve(import.meta.dirname, '..');

/** First time (client clock, watch arrival) each job was seen in each phase. */
export class PhaseObserver {
  readonly seen = new Map<string, Map<string, number>>();

  constructor(h: Harness) {
    const record = (j: { metadata: { name: string }; status?: { phase?: string } }): void => {
      const phase = j.status?.phase;
      if (!phase) return;
      let m = this.seen.get(j.metadata.name);
      if (!m) this.seen.set(j.metadata.name, (m = new Map()));
      if (!m.has(phase)) m.set(phase, Date.now());
    };
    h.jobs.addEventHandler({ onAdd: record, onUpdate: (_o, j) => record(j) });
  }

  at(job: string, phase: string): number | undefined {
    return this.seen.get(job)?.get(phase);
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function summary(samples: number[]): { median: number; p90: number; min: number; max: number; n: number } {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x);
  return { median: r(percentile(s, 50)), p90: r(percentile(s, 90)), min: r(s[0] ?? NaN), max: r(s[s.length - 1] ?? NaN), n: s.length };
}

export async function writeResult(name: string, data: object): Promise<string> {
  const dir = join(REPO, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify({ name, time: new Date().toISOString(), ...data }, null, 2) + '\n');
  return file;
}
