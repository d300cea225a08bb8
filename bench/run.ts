/**
 * `npm run bench`: runs every benchmark in its own process, one after another (they
 * measure CPU and latency, so they must not share the 2 cores), and prints where each
 * wrote its JSON. Pass names to run a subset: `npm run bench -- agent-latency`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
/**
 * visionq's own figures that are also taken on the real control plane, right after the
 * in-memory run, so the two tiers sit side by side from one run (BENCH_TIERS=memory skips it).
 */
const BOTH_TIERS = new Set(['controller-dispatch', 'scaling-worker-loss', 'controller-scale', 'throughput-baseline']);
const tiers = (process.env.BENCH_TIERS ?? 'memory,kube').split(',');
let failed = 0;
let runs = 0;
for (const name of selected) {
  for (const tier of BOTH_TIERS.has(name) ? tiers : ['memory']) {
    runs++;
    console.log(`\n=== ${name}${tier === 'kube' ? ' (real control plane)' : ''} ===`);
    const env = { ...process.env, ...(tier === 'kube' ? { VISIONQ_TEST_CONTROL_PLANE: 'kube' } : {}) };
    const res = spawnSync(process.execPath, ['--import', 'tsx', join(here, `${name}.ts`)], { stdio: 'inherit', env });
    if (res.status !== 0) {
      failed++;
      console.error(`${name} (${tier}) failed (exit ${res.status ?? res.signal})`);
    }
  }
}
printTierTable([...BOTH_TIERS].filter((n) => selected.includes(n)));
console.log(`\n${runs - failed}/${runs} benchmark runs finished; JSON in bench/results/`);
process.exit(failed > 0 ? 1 : 0);

/** Medians of the benchmarks run on both tiers, next to each other, with the ratio. */
function printTierTable(names: string[]): void {
  const rows: Record<string, Record<string, string | number>> = {};
  const read = (file: string): any => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined);
  for (const name of names) {
    const mem = read(join(here, 'results', `${name}.json`));
    const kube = read(join(here, 'results', `${name}-kube.json`));
    if (!mem || !kube) continue;
    for (const [label, m, k] of medians(mem, kube)) {
      rows[`${name}: ${label}`] = { memory: m, kube: k, 'kube/memory': m > 0 ? +(k / m).toFixed(2) : '-' };
    }
  }
  if (Object.keys(rows).length === 0) return;
  console.log('\nvisionq on the in-memory sandbox vs the real control plane (medians; RSS in MB)');
  console.table(rows);
}

function medians(mem: any, kube: any): Array<[string, number, number]> {
  const out: Array<[string, number, number]> = [];
  if (mem.result?.median !== undefined) out.push(['create → start (ms)', mem.result.median, kube.result.median]);
  if (mem.result && mem.result.median === undefined) {
    for (const [k, v] of Object.entries(mem.result as Record<string, any>)) {
      if (v?.median !== undefined && kube.result?.[k]?.median !== undefined) out.push([`${k} (ms)`, v.median, kube.result[k].median]);
    }
  }
  for (const key of ['controllerRssMb', 'controllerHeapUsedMb', 'allReconciledMs']) {
    if (typeof mem.result?.[key] === 'number' && typeof kube.result?.[key] === 'number') out.push([key, mem.result[key], kube.result[key]]);
  }
  // throughput-baseline: each tier's ratio is to its own bare run of the same moment.
  for (const [algo, key] of [['node', 'visionqOverBare'], ['shell', 'visionqOverSleepIdeal'], ['node', 'visionqMs'], ['shell', 'visionqMs']] as const) {
    const m = mem.result?.[algo]?.[key];
    const k = kube.result?.[algo]?.[key];
    if (typeof m === 'number' && typeof k === 'number') out.push([`${algo} ${key}`, m, k]);
  }
  return out;
}
