/**
 * Throughput: N trivial VisionJobs over 20 slots (4 warm workers × 5 slots), create → Succeeded.
 * Reports the makespan (first create → last completion) against the ideal: the total work the
 * algorithm measured itself (sum of its run times) divided by the slots.
 * Run: npx tsx bench/controller-throughput.ts   (BENCH_JOBS default 2000, BENCH_DURATION s default 0.5)
 */
import { createJob, createPool, maxConcurrent, probeRuns, startHarness, waitAll, probePool, probeJob } from '../test/e2e/harness.js';
import { writeResult } from './controller-bench-util.js';

const jobs = Number(process.env.BENCH_JOBS ?? 2000);
const duration = Number(process.env.BENCH_DURATION ?? 0.5);
const slots = 20;
const h = await startHarness({ nodes: 2, gpusPerNode: 2 });
try {
  await createPool(h, probePool(h, 'tput', { minReplicas: 4, maxReplicas: 4, slotsPerWorker: 5 }));
  const names = Array.from({ length: jobs }, (_, i) => `t-${i}`);
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < names.length) await createJob(h, probeJob(names[next++]!, 'tput', { durationSeconds: duration }));
    }),
  );
  const created = Date.now();
  await waitAll(h, names, 'Succeeded', 60 * 60_000);
  const runs = await probeRuns(h);
  const lastEnd = Math.max(...runs.map((r) => r.end ?? 0));
  const work = runs.reduce((s, r) => s + ((r.end ?? r.start) - r.start), 0);
  const makespan = lastEnd - t0;
  const ideal = work / slots;
  const result = {
    jobs,
    slots,
    jobDurationSeconds: duration,
    createAllMs: created - t0,
    makespanMs: makespan,
    idealMs: Math.round(ideal),
    makespanOverIdeal: Math.round((makespan / ideal) * 100) / 100,
    jobsPerSecond: Math.round((jobs / (makespan / 1000)) * 10) / 10,
    peakConcurrentRuns: maxConcurrent(runs),
    attemptsAboveOne: runs.length - jobs,
  };
  console.table({ throughput: result });
  console.log('written', await writeResult('controller-throughput', { result }));
} finally {
  await h.stop();
}
