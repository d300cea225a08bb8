/**
 * `npm run bench`: runs every benchmark in its own process, one after another (they
 * measure CPU and latency, so they must not share the 2 cores), and prints where each
 * wrote its JSON. Pass names to run a subset: `npm run bench -- agent-latency`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('-util.ts'))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}
const selected = wanted.length > 0 ? wanted : all;
let failed = 0;
for (const name of selected) {
  console.log(`\n=== ${name} ===`);
  const res = spawnSync(process.execPath, ['--import', 'tsx', join(here, `${name}.ts`)], { stdio: 'inherit' });
  if (res.status !== 0) {
    failed++;
    console.error(`${name} failed (exit ${res.status ?? res.signal})`);
  }
}
console.log(`\n${selected.length - failed}/${selected.length} benchmarks finished; JSON in bench/results/`);
process.exit(failed > 0 ? 1 : 0);
