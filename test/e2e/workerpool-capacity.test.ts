/**
 * GPU capacity end to end: worker pods wait unschedulable while the simulated cluster autoscaler
 * boots nodes; the controller piles up no extra pods meanwhile, and the autoscaler never removes
 * a node that runs a busy worker.
 */
import type { V1Node } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Informer } from '../../src/kube/informer.js';
import { waitFor } from '../helpers/wait-for.js';
import { counts, createJob, createPool, eventsFor, jobsOf, samplePool, startHarness, waitAllSucceeded, GROUP, VERSION, type Harness, sampleJob } from './harness.js';
import type { WorkerPoolObject } from '../../src/controller/manager/context-types.js';

describe('WorkerPool with the cluster autoscaler', () => {
  let h: Harness;
  let poolWatch: Informer<WorkerPoolObject>;
  let nodeWatch: Informer<V1Node>;
  const capacityPendingSeen: string[] = [];
  const nodesRemoved: Array<{ node: string; at: number; busyJobs: string[] }> = [];

  beforeAll(async () => {
    h = await startHarness({ nodes: 2, maxNodes: 8, nodeProvisionSeconds: 1.5, nodeScaleDownSeconds: 1, gpusPerNode: 1, controller: 'sandbox' });
    poolWatch = new Informer({ kc: h.sandbox.kc, path: `/apis/${GROUP}/${VERSION}/workerpools`, name: 'test-pools' });
    poolWatch.addEventHandler({
      onUpdate: (_o, p) => {
        const c = p.status?.conditions?.find((x) => x.type === 'CapacityPending');
        if (c?.status === 'True') capacityPendingSeen.push(c.message);
      },
    });
    nodeWatch = new Informer<V1Node>({ kc: h.sandbox.kc, path: '/api/v1/nodes', name: 'test-nodes' });
    nodeWatch.addEventHandler({
      onDelete: (n) => {
        const node = n.metadata?.name ?? '';
        // Jobs the controller believes run on that node right now: must be none.
        const busyJobs = h.jobs.store
          .list()
          .filter((j) => j.status?.phase === 'Running' && j.status.currentAttempt?.node === node)
          .map((j) => j.metadata.name ?? '');
        nodesRemoved.push({ node, at: Date.now(), busyJobs });
      },
    });
    poolWatch.start();
    nodeWatch.start();
    await Promise.all([poolWatch.waitForSync(), nodeWatch.waitForSync()]);
  });

  afterAll(async () => {
    await poolWatch?.stop();
    await nodeWatch?.stop();
    await h?.stop();
  });

  it('8 jobs on 2 GPU nodes, maxReplicas 8: pods wait for new nodes, never more than 8 pods, no busy node removed', async () => {
    await createPool(h, samplePool('gpu', { maxReplicas: 8, scaleDownDelaySeconds: 1 }));
    const names = Array.from({ length: 8 }, (_, i) => `gpu-${i}`);
    for (const n of names) await createJob(h, sampleJob(n, 'gpu', { video: n, durationSeconds: 3 }));

    await waitFor(() => capacityPendingSeen.length > 0, { timeoutMs: 20_000, message: 'CapacityPending reported' });
    expect(capacityPendingSeen[0]).toMatch(/nvidia\.com\/gpu/);
    await waitFor(() => nodeWatch.store.list().length > 2, { timeoutMs: 20_000, message: 'autoscaler added nodes' });

    const done = await waitAllSucceeded(h, names, 90_000);
    for (const j of done) expect(counts(j)).toMatchObject({ failures: 0, disruptions: 0 });
    expect(h.pods.maxAliveOf('gpu')).toBeLessThanOrEqual(8);
    // pending pods counted as capacity on its way: one pod per job, no extras while nodes booted
    expect(h.pods.creationsOf('gpu')).toBe(8);
    expect(new Set(done.map((j) => j.status?.currentAttempt?.node)).size).toBeGreaterThan(2);
    const reasons = (await eventsFor(h, 'WorkerPool', 'gpu')).map((e) => e.reason);
    expect(reasons).toContain('CapacityPending');

    // workers go after the idle delay, then the autoscaler removes the nodes they freed
    await waitFor(() => h.pods.podsOf('gpu').length === 0, { timeoutMs: 30_000, message: 'workers removed' });
    await waitFor(() => nodesRemoved.length > 0, { timeoutMs: 30_000, message: 'autoscaler removed an idle node' });
    expect(nodesRemoved.flatMap((r) => r.busyJobs)).toEqual([]);
    expect(jobsOf(h, 'gpu').every((j) => counts(j).disruptions === 0)).toBe(true);
  });
});
