/**
 * Scale-from-zero latency (sandbox, GPU node already available): for a pool at zero workers,
 * time from creating a VisionJob to (a) the job being admitted (Queued), (b) the worker pod
 * being created, (c) the pod running, (d) the job running. Run: npx tsx bench/scaling-latency.ts
 */
import { createJob, createPool, samplePool, startHarness, sampleJob } from '../test/e2e/harness.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { PhaseObserver, summary, writeResult } from './scaling-bench-util.js';

const iterations = Number(process.env.BENCH_ITERATIONS ?? 8);
const h = await startHarness({ nodes: 2, maxNodes: 2, gpusPerNode: 1, nodeScaleDownSeconds: 2, controller: 'sandbox' });
try {
  const phases = new PhaseObserver(h);
  await createPool(h, samplePool('latency', { maxReplicas: 1, scaleDownDelaySeconds: 1 }));
  const rows = { admitted: [] as number[], podCreated: [] as number[], podRunning: [] as number[], jobRunning: [] as number[] };
  for (let i = 0; i < iterations; i++) {
    await waitFor(() => h.pods.podsOf('latency').length === 0, { timeoutMs: 60_000, message: 'pool at zero' });
    const before = new Set(h.pods.created.keys());
    const name = `lat-${i}`;
    const t0 = Date.now();
    await createJob(h, sampleJob(name, 'latency', { video: name, durationSeconds: 0.2 }));
    await waitFor(() => phases.at(name, 'Succeeded'), { timeoutMs: 60_000, message: `${name} Succeeded` });
    const pod = [...h.pods.created.keys()].find((p) => !before.has(p) && h.pods.created.get(p)?.pool === 'latency');
    if (!pod) throw new Error('no worker pod was created');
    const admitted = phases.at(name, 'Queued') ?? phases.at(name, 'Running')!;
    rows.admitted.push(admitted - t0);
    rows.podCreated.push(h.pods.created.get(pod)!.at - t0);
    rows.podRunning.push((h.pods.startedAt.get(pod) ?? NaN) - t0);
    rows.jobRunning.push(phases.at(name, 'Running')! - t0);
  }
  const table = {
    'job admitted (Queued)': summary(rows.admitted),
    'worker pod created': summary(rows.podCreated),
    'worker pod Running': summary(rows.podRunning),
    'job Running': summary(rows.jobRunning),
  };
  console.log('\nscale from zero: ms after VisionJob create (node available, agent via tsx)');
  console.table(table);
  console.log('written', await writeResult('scaling-latency', { iterations, unit: 'ms', result: table }));
} finally {
  await h.stop();
}
