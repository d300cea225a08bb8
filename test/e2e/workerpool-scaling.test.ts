/**
 * Elastic WorkerPool end to end (sandbox + nats-server + controller in-process): scale up to the
 * pool's limit and never past it, scale down to zero after the idle delay, roll a template change
 * without touching a running job.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.js';
import { kubectlBinary } from '../helpers/control-plane.js';
import { counts, createJob, createPool, eventsFor, getPool, jobsOf, maxConcurrentRuns, patchPool, samplePool, startHarness, waitAllSucceeded, type Harness, sampleJob } from './harness.js';

describe('WorkerPool scaling end to end', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ nodes: 4, maxNodes: 4, gpusPerNode: 1, nodeScaleDownSeconds: 2, controller: 'sandbox' });
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('12 jobs with maxReplicas 4: exactly 4 workers, 4 jobs at a time, then back to zero', async () => {
    await createPool(h, samplePool('burst', { maxReplicas: 4, scaleDownDelaySeconds: 1 }));
    const names = Array.from({ length: 12 }, (_, i) => `burst-${i}`);
    for (const n of names) await createJob(h, sampleJob(n, 'burst', { video: n, durationSeconds: 1.5 }));

    const done = await waitAllSucceeded(h, names, 90_000);
    expect(h.pods.maxAliveOf('burst')).toBe(4);
    expect(h.pods.creationsOf('burst')).toBe(4);
    expect(maxConcurrentRuns(done)).toBe(4);
    for (const j of done) expect(counts(j)).toMatchObject({ failures: 0, disruptions: 0 });

    // every worker goes after the idle delay, through the drain handshake
    await waitFor(() => h.pods.podsOf('burst').length === 0, { timeoutMs: 30_000, message: 'pool scaled to zero' });
    const st = await waitFor(async () => {
      const s = (await getPool(h, 'burst')).status;
      return s?.replicas === 0 && s?.running === 0 && s?.queued === 0 ? s : undefined;
    });
    expect(st.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const reasons = (await eventsFor(h, 'WorkerPool', 'burst')).map((e) => e.reason);
    expect(reasons).toContain('ScaledUp');
    expect(reasons).toContain('ScaledDown');

    // what an operator sees with the real kubectl: printer columns and events
    const kubectl = (...args: string[]) =>
      promisify(execFile)(kubectlBinary(), ['--kubeconfig', h.sandbox.kubeconfigPath, ...args]).then((r) => r.stdout);
    const row = await kubectl('get', 'wp', 'burst', '--no-headers');
    expect(row).toMatch(/^burst\s+0\s+4\s+0\s+0\s+0\s+0\s+/); // NAME MIN MAX REPLICAS BUSY QUEUED RUNNING
    const described = await kubectl('describe', 'wp', 'burst');
    expect(described).toMatch(/ScaledUp/);
    expect(described).toMatch(/ScaledDown/);
  });

  it('a template change during a run disrupts no running job and later jobs run on new workers', async () => {
    await createPool(h, samplePool('roll', { maxReplicas: 2, scaleDownDelaySeconds: 1 }));
    const first = Array.from({ length: 4 }, (_, i) => `roll-a${i}`);
    for (const n of first) await createJob(h, sampleJob(n, 'roll', { video: n, durationSeconds: 3 }));
    await waitFor(() => jobsOf(h, 'roll').filter((j) => j.status?.phase === 'Running').length === 2, {
      timeoutMs: 30_000,
      message: 'two roll jobs running',
    });
    const oldHash = h.pods.podsOf('roll')[0].metadata?.labels?.['visionq.dev/template-hash'];
    await patchPool(h, 'roll', { spec: { template: { metadata: { labels: { app: 'roll', revision: '2' } } } } });

    const done = await waitAllSucceeded(h, first, 60_000);
    for (const j of done) expect(counts(j)).toMatchObject({ failures: 0, disruptions: 0, attempts: 1 });

    // idle outdated workers are drained and removed once their jobs are over
    await waitFor(() => h.pods.podsOf('roll').every((p) => p.metadata?.labels?.['visionq.dev/template-hash'] !== oldHash), {
      timeoutMs: 30_000,
      message: 'outdated workers replaced',
    });
    const later = ['roll-b0', 'roll-b1'];
    for (const n of later) await createJob(h, sampleJob(n, 'roll', { video: n, durationSeconds: 0.5 }));
    const done2 = await waitAllSucceeded(h, later, 60_000);
    for (const j of done2) {
      expect(counts(j).disruptions).toBe(0);
      const hash = h.pods.hashOf.get(j.status?.currentAttempt?.pod ?? '');
      expect(hash).toBeTruthy();
      expect(hash).not.toBe(oldHash);
    }
    expect(h.pods.maxAliveOf('roll')).toBeLessThanOrEqual(2);
    const st = await getPool(h, 'roll');
    expect(st.status?.observedGeneration).toBe(st.metadata.generation);
  });
});
