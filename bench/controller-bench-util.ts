/** Helpers of the controller benchmarks: percentiles and result files. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..');

export function percentile(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function stats(samples: number[]): { median: number; p99: number; min: number; max: number; n: number } {
  const r = (x: number): number => Math.round(x * 10) / 10;
  return {
    median: r(percentile(samples, 50)),
    p99: r(percentile(samples, 99)),
    min: r(Math.min(...samples)),
    max: r(Math.max(...samples)),
    n: samples.length,
  };
}

export async function writeResult(name: string, data: object): Promise<string> {
  const dir = join(REPO, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify({ name, time: new Date().toISOString(), ...data }, null, 2) + '\n');
  return file;
}
