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

/** Writes bench/results/<name>.json with a timestamp; returns the path. */
export async function writeResult(name: string, data: unknown): Promise<string> {
  const dir = join(REPO, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify({ name, time: new Date().toISOString(), ...(data as object) }, null, 2) + '\n');
  return file;
}
