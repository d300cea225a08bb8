import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.js';
import { condition, createJob, createPool, deleteJob, job, maxConcurrent, probeRuns, startHarness, waitAll, waitPhase, type Harness, probePool, probeJob } from './harness.js';

describe('controller e2e: admission', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ nodes: 2, gpusPerNode: 2 });
    // Concurrency limit 2 (maxReplicas 2 × 1 slot); warm workers so the order is admission's alone.
    await createPool(h, probePool(h, 'prio', { minReplicas: 2, maxReplicas: 2 }));
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('a high-priority job overtakes a low-priority backlog, and the pool limit is never exceeded', async () => {
    const lows = Array.from({ length: 6 }, (_, i) => `low-${i + 1}`);
    for (const name of lows) await createJob(h, probeJob(name, 'prio', { durationSeconds: 1.5 }));
    // The backlog waits with a condition that says why.
    await waitFor(() => condition(job(h, 'low-6'), 'Pending')?.reason === 'PoolAtCapacity', { message: 'low-6 PoolAtCapacity' });
    expect(job(h, 'low-6')?.status?.phase).toBe('Pending');
    await createJob(h, probeJob('urgent', 'prio', { durationSeconds: 1 }, { priority: 10 }));

    await waitAll(h, [...lows, 'urgent'], 'Succeeded', 90_000);
    const runs = await probeRuns(h);
    const firstStart = (name: string): number => Math.min(...runs.filter((r) => r.job === name).map((r) => r.start));
    // Jobs still waiting when urgent arrived all started after it.
    const waitingThen = lows.filter((n) => firstStart(n) > firstStart('urgent'));
    expect(waitingThen.length).toBeGreaterThanOrEqual(3);
    expect(firstStart('urgent')).toBeLessThan(firstStart('low-4'));
    expect(firstStart('urgent')).toBeLessThan(firstStart('low-5'));
    expect(firstStart('urgent')).toBeLessThan(firstStart('low-6'));
    // Low-priority jobs start in creation order. low-1 and low-2 go to the two idle workers in
    // the same admission pass, so which process starts first is a race between two pods.
    const order = [...lows].sort((a, b) => firstStart(a) - firstStart(b));
    expect(order.slice(0, 2).sort()).toEqual(['low-1', 'low-2']);
    expect(order.slice(2)).toEqual(lows.slice(2));
    expect(maxConcurrent(runs)).toBeLessThanOrEqual(2);
    expect(maxConcurrent(runs)).toBe(2);
  });
});

describe('controller e2e: a full queue', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ nodes: 1, gpusPerNode: 1, controller: false });
    // A jobs stream that holds two messages; workers can never be scheduled (64 GPUs each).
    await h.startController({ streams: { jobsMaxMsgs: 2 } });
    await createPool(h, probePool(h, 'tiny-queue', { minReplicas: 0, maxReplicas: 10 }, 64));
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('leaves jobs Pending with QueueFull, never drops one, and queues them when there is room', async () => {
    for (const n of ['qf-1', 'qf-2', 'qf-3']) await createJob(h, probeJob(n, 'tiny-queue'));
    await waitFor(() => condition(job(h, 'qf-3'), 'Pending')?.reason === 'QueueFull', { timeoutMs: 20_000, message: 'qf-3 QueueFull' });
    expect(['qf-1', 'qf-2'].map((n) => job(h, n)?.status?.phase)).toEqual(['Queued', 'Queued']);
    await deleteJob(h, 'qf-1');
    const queued = await waitPhase(h, 'qf-3', 'Queued', 20_000);
    expect(condition(queued, 'Pending')?.status).toBe('False');
  });
});
