/**
 * Dispatch latency with idle workers: time from `create` of a VisionJob to its algorithm process
 * starting (the probe algorithm's own start timestamp, same machine clock), one job at a time.
 * Run: npx tsx bench/controller-dispatch.ts   (BENCH_ITERATIONS, default 40)
 */
import { createJob, createPool, probeRuns, startHarness, waitPhase, probePool, probeJob } from '../test/e2e/harness.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { stats, writeResult } from './controller-bench-util.js';

const iterations = Number(process.env.BENCH_ITERATIONS ?? 40);
const h = await startHarness({ nodes: 1, gpusPerNode: 2 });
try {
  await createPool(h, probePool(h, 'dispatch', { minReplicas: 2, maxReplicas: 2 }));
  // Warm-up: workers up and connected.
  await createJob(h, probeJob('warm-1', 'dispatch', { durationSeconds: 0.1 }));
  await createJob(h, probeJob('warm-2', 'dispatch', { durationSeconds: 0.1 }));
  await waitPhase(h, 'warm-1', 'Succeeded', 120_000);
  await waitPhase(h, 'warm-2', 'Succeeded', 120_000);
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const name = `d-${i}`;
    const t0 = Date.now();
    await createJob(h, probeJob(name, 'dispatch', { durationSeconds: 0.05 }));
    const run = await waitFor(async () => (await probeRuns(h)).find((r) => r.job === name), { timeoutMs: 30_000, intervalMs: 5, message: `${name} started` });
    samples.push(run.start - t0);
    await waitPhase(h, name, 'Succeeded', 30_000);
  }
  const result = stats(samples);
  console.log('\ncreate → algorithm process start (ms), idle workers, agent via tsx');
  console.table({ dispatch: result });
  console.log('written', await writeResult('controller-dispatch', { iterations, unit: 'ms', result }));
} finally {
  await h.stop();
}
