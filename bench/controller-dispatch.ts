/**
 * Dispatch latency with idle workers: time from `create` of a VisionJob to its algorithm's first
 * instruction (same machine clock), one job at a time, for two algorithms: the Node probe
 * (whose own start-up, ~30-40 ms here, is inside the figure) and a bash one-liner that writes
 * its start time at once (what the orchestration alone costs).
 * Run: npx tsx bench/controller-dispatch.ts   (BENCH_ITERATIONS, default 40 per algorithm)
 */
import { createJob, createPool, probeRuns, startHarness, waitPhase, probePool, probeJob, type Harness } from '../test/e2e/harness.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { stats, writeResult } from './controller-bench-util.js';

const iterations = Number(process.env.BENCH_ITERATIONS ?? 40);
// Same line format as the probe's runs.log; EPOCHREALTIME is bash's clock, no extra process.
const SHELL = ['/bin/bash', '-c', 't=${EPOCHREALTIME/./}; echo "start $VISIONQ_JOB_NAME $VISIONQ_ATTEMPT ${t:0:13} $$ -" >> "$PROBE_DIR/runs.log"'];

async function measure(h: Harness, pool: string): Promise<number[]> {
  // Warm-up: workers up and connected.
  for (const n of ['warm-1', 'warm-2']) await createJob(h, probeJob(`${pool}-${n}`, pool, { durationSeconds: 0.1 }));
  for (const n of ['warm-1', 'warm-2']) await waitPhase(h, `${pool}-${n}`, 'Succeeded', 120_000);
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const name = `${pool}-d-${i}`;
    const t0 = Date.now();
    await createJob(h, probeJob(name, pool, { durationSeconds: 0.05 }));
    const run = await waitFor(async () => (await probeRuns(h)).find((r) => r.job === name), { timeoutMs: 30_000, intervalMs: 5, message: `${name} started` });
    samples.push(run.start - t0);
    await waitPhase(h, name, 'Succeeded', 30_000);
  }
  return samples;
}

const h = await startHarness({ nodes: 2, gpusPerNode: 2 });
try {
  await createPool(h, probePool(h, 'dispatch', { minReplicas: 2, maxReplicas: 2 }));
  const shellPool = probePool(h, 'dispatch-sh', { minReplicas: 2, maxReplicas: 2 }) as { spec: { template: { spec: { containers: { command: string[] }[] } } } };
  shellPool.spec.template.spec.containers[0]!.command = SHELL;
  await createPool(h, shellPool as unknown as Record<string, unknown>);
  const result = { node: stats(await measure(h, 'dispatch')), shell: stats(await measure(h, 'dispatch-sh')) };
  console.log('\ncreate → algorithm first instruction (ms), idle workers');
  console.table(result);
  console.log('written', await writeResult('controller-dispatch', { iterations, unit: 'ms', result }));
} finally {
  await h.stop();
}
