/**
 * A worker pod that dies mid-job: the controller re-queues the job at once (NAK of its ack
 * subject) instead of waiting for ack_wait (60 s here, longer than these tests may take), the job
 * finishes on another worker, counted as a disruption and not as a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.js';
import { counts, createJob, createPool, NS, samplePool, startHarness, waitAllSucceeded, type Harness, type JobObject, sampleJob } from './harness.js';

describe('worker pod death end to end', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ nodes: 3, maxNodes: 3, gpusPerNode: 1, nodeScaleDownSeconds: 2, controller: 'sandbox' });
    await createPool(h, samplePool('fragile', { maxReplicas: 2, minReplicas: 1, ackWaitSeconds: 60, scaleDownDelaySeconds: 30 }));
  });

  afterAll(async () => {
    await h?.stop();
  });

  const running = (name: string): Promise<JobObject> =>
    waitFor(
      () => {
        const j = h.jobs.store.get(`${NS}/${name}`);
        return j?.status?.phase === 'Running' && j.status.currentAttempt?.pod ? j : undefined;
      },
      { timeoutMs: 30_000, message: `${name} running` },
    );

  it('force-deleting the worker pod mid-job: the job runs again elsewhere within seconds, disruptions 1, failures 0', async () => {
    await createJob(h, sampleJob('victim-1', 'fragile', { video: 'v1', durationSeconds: 8 }));
    const first = await running('victim-1');
    const deadPod = first.status!.currentAttempt!.pod!;
    // grace 0: the agent gets no chance to hand the job back itself; only the controller can.
    await h.core.deleteNamespacedPod({ name: deadPod, namespace: NS, gracePeriodSeconds: 0 });

    // well before ack_wait (60 s): running again on another pod
    await waitFor(
      () => {
        const j = h.jobs.store.get(`${NS}/victim-1`);
        return j?.status?.phase === 'Running' && j.status.currentAttempt?.pod && j.status.currentAttempt.pod !== deadPod;
      },
      { timeoutMs: 20_000, message: 'victim-1 running on another worker' },
    );
    const [done] = await waitAllSucceeded(h, ['victim-1'], 40_000);
    expect(counts(done)).toMatchObject({ phase: 'Succeeded', disruptions: 1, failures: 0 });
    expect(done.status?.currentAttempt?.pod).not.toBe(deadPod);
  });

  it('losing the node of a busy worker: the job runs again on another node', async () => {
    await createJob(h, sampleJob('victim-2', 'fragile', { video: 'v2', durationSeconds: 8 }));
    const first = await running('victim-2');
    const node = first.status!.currentAttempt!.node ?? h.pods.nodeOf.get(first.status!.currentAttempt!.pod!)!;
    expect(node).toBeTruthy();
    await h.sandbox.kubelet.removeNode(node);

    const [done] = await waitAllSucceeded(h, ['victim-2'], 40_000);
    expect(counts(done)).toMatchObject({ phase: 'Succeeded', disruptions: 1, failures: 0 });
    expect(done.status?.currentAttempt?.node).not.toBe(node);
  });

  it('deleting the pool: its workers go by garbage collection and none are created again', async () => {
    await waitFor(() => h.pods.podsOf('fragile').some((p) => p.status?.phase === 'Running'), { timeoutMs: 20_000, message: 'a fragile worker running' });
    const before = h.pods.creationsOf('fragile');
    await h.custom.deleteNamespacedCustomObject({ group: 'visionq.dev', version: 'v1alpha1', namespace: NS, plural: 'workerpools', name: 'fragile' });
    await waitFor(() => h.pods.podsOf('fragile').length === 0, { timeoutMs: 30_000, message: 'workers garbage collected' });
    await createJob(h, sampleJob('orphan', 'fragile', { video: 'o', durationSeconds: 1 }));
    await waitFor(() => h.jobs.store.get(`${NS}/orphan`)?.status?.phase, { timeoutMs: 10_000, message: 'orphan job reconciled' });
    expect(h.pods.creationsOf('fragile')).toBe(before);
    expect(h.jobs.store.get(`${NS}/orphan`)?.status?.phase).toBe('Pending');
  });
});
