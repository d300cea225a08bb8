/**
 * Churn of the elastic pool in a randomized run (fixed seed): jobs of mixed lengths arrive in
 * bursts with pauses; reports worker pod creations per job, peak pods, disruptions and the time
 * from the last job's end to the pool at zero. Run: npx tsx bench/scaling-churn.ts
 */
import { counts, createJob, createPool, samplePool, startHarness, waitAllSucceeded, sampleJob } from '../test/e2e/harness.js';
import { mulberry32, randomArrivals } from '../test/e2e/workerpool-fixtures.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { writeResult } from './scaling-bench-util.js';

const seed = Number(process.env.BENCH_SEED ?? 42);
const scaleDownDelaySeconds = Number(process.env.BENCH_SCALE_DOWN_DELAY ?? 2);
const maxReplicas = 6;
const h = await startHarness({ nodes: 3, maxNodes: 6, nodeProvisionSeconds: 1, nodeScaleDownSeconds: 2, gpusPerNode: 1, controller: 'sandbox' });
try {
  await createPool(h, samplePool('churn', { maxReplicas, scaleDownDelaySeconds }));
  const plan = randomArrivals(mulberry32(seed), { bursts: 8, jobsPerBurst: [3, 12], durationSeconds: [0.3, 4], pauseMs: [1_000, 10_000], prefix: 'churn' });
  const names: string[] = [];
  const t0 = Date.now();
  for (const step of plan) {
    if (step.kind === 'pause') await new Promise((r) => setTimeout(r, step.ms));
    else {
      names.push(step.name);
      await createJob(h, sampleJob(step.name, 'churn', { video: step.name, durationSeconds: step.durationSeconds }));
    }
  }
  const done = await waitAllSucceeded(h, names, 300_000);
  const lastEnd = Math.max(...done.map((j) => Date.parse(j.status?.completionTime ?? '')));
  await waitFor(() => h.pods.podsOf('churn').length === 0, { timeoutMs: 60_000, message: 'pool at zero' });
  const zeroAt = Date.now();
  const creations = h.pods.creationsOf('churn');
  const result = {
    seed,
    scaleDownDelaySeconds,
    maxReplicas,
    jobs: names.length,
    podCreations: creations,
    podCreationsPerJob: +(creations / names.length).toFixed(3),
    peakPods: h.pods.maxAliveOf('churn'),
    disruptions: done.reduce((s, j) => s + counts(j).disruptions, 0),
    failures: done.reduce((s, j) => s + counts(j).failures, 0),
    runSeconds: +((lastEnd - t0) / 1000).toFixed(1),
    lastJobEndToZeroSeconds: +((zeroAt - lastEnd) / 1000).toFixed(1),
  };
  console.log('\nrandomized elastic run (bursts and pauses)');
  console.table([result]);
  console.log('written', await writeResult('scaling-churn', { result }));
} finally {
  await h.stop();
}
