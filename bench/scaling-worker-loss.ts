/**
 * Worker loss: a busy worker pod is force-deleted (grace 0: its agent cannot hand the job back,
 * only the controller's fast re-queue can); time until the job runs again on another worker.
 * ackWaitSeconds is 300, so anything under that is the fast path. Two cases: a spare idle worker
 * is there (minReplicas 2), or the replacement pod must be created first (maxReplicas 1).
 * Run: npx tsx bench/scaling-worker-loss.ts
 */
import { createJob, createPool, NS, samplePool, startHarness, sampleJob } from '../test/e2e/harness.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { summary, writeResult } from './scaling-bench-util.js';

const iterations = Number(process.env.BENCH_ITERATIONS ?? 5);
const h = await startHarness({ nodes: 3, maxNodes: 3, gpusPerNode: 1, nodeScaleDownSeconds: 2, controller: 'sandbox' });
try {
  const cases = [
    { pool: 'spare', spec: { minReplicas: 2, maxReplicas: 2 } },
    { pool: 'replace', spec: { minReplicas: 0, maxReplicas: 1 } },
  ];
  const table: Record<string, ReturnType<typeof summary>> = {};
  for (const c of cases) {
    await createPool(h, samplePool(c.pool, { ...c.spec, ackWaitSeconds: 300, scaleDownDelaySeconds: 30 }));
    const samples: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const name = `${c.pool}-${i}`;
      await createJob(h, sampleJob(name, c.pool, { video: name, durationSeconds: 30 }));
      const first = await waitFor(
        () => {
          const j = h.jobs.store.get(`${NS}/${name}`);
          return j?.status?.phase === 'Running' ? j.status.currentAttempt?.pod : undefined;
        },
        { timeoutMs: 60_000, message: `${name} running` },
      );
      if (c.pool === 'spare') {
        await waitFor(() => h.pods.podsOf(c.pool).filter((p) => p.status?.phase === 'Running').length === 2, { timeoutMs: 60_000, message: 'spare worker ready' });
      }
      const t0 = Date.now();
      await h.core.deleteNamespacedPod({ name: first, namespace: NS, gracePeriodSeconds: 0 });
      await waitFor(
        () => {
          const j = h.jobs.store.get(`${NS}/${name}`);
          return j?.status?.phase === 'Running' && j.status.currentAttempt?.pod !== first;
        },
        { timeoutMs: 120_000, intervalMs: 5, message: `${name} running again` },
      );
      samples.push(Date.now() - t0);
      await h.custom.deleteNamespacedCustomObject({ group: 'visionq.dev', version: 'v1alpha1', namespace: NS, plural: 'visionjobs', name });
      await waitFor(() => !h.jobs.store.get(`${NS}/${name}`), { timeoutMs: 60_000, message: `${name} deleted` });
    }
    table[c.pool === 'spare' ? 'idle spare worker' : 'replacement pod needed'] = summary(samples);
  }
  console.log('\nworker pod force-deleted mid-job → job Running on another worker (ms; ack wait 300 s)');
  console.table(table);
  console.log('written', await writeResult('scaling-worker-loss', { iterations, unit: 'ms', result: table }));
} finally {
  await h.stop();
}
