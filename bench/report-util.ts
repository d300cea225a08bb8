/** What every benchmark shares: percentiles over samples and its JSON result file. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..');

/** Nearest-rank percentile; `samples` need not be sorted. */
export function percentile(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** The control plane a harness-based benchmark ran on (bench/run.ts runs some on both). */
export function benchTier(): 'memory' | 'kube' {
  return process.env.VISIONQ_TEST_CONTROL_PLANE === 'kube' ? 'kube' : 'memory';
}

/** Writes bench/results/<name>.json (<name>-kube.json on the real tier) with a timestamp; returns the path. */
export async function writeResult(name: string, data: unknown): Promise<string> {
  const dir = join(REPO, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const tier = benchTier();
  const file = join(dir, `${name}${tier === 'kube' ? '-kube' : ''}.json`);
  await writeFile(file, JSON.stringify({ name, tier, time: new Date().toISOString(), ...(data as object) }, null, 2) + '\n');
  return file;
}
