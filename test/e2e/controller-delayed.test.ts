import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.js';
import { GROUP, NS, VERSION, condition, createJob, createPool, job, patchJob, probeJob, probePool, probeRuns, startHarness, waitPhase, type Harness } from './harness.js';

/** Delayed jobs (spec.notBefore) through the whole system: held Pending, then started by a timer. */
describe('controller e2e: delayed jobs', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ nodes: 1, gpusPerNode: 2 });
    // Warm idle workers, so a start is bounded by admission alone.
    await createPool(h, probePool(h, 'later', { minReplicas: 2, maxReplicas: 2 }));
    await waitFor(async () => {
      const p = (await h.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'workerpools', name: 'later' })) as { status?: { ready?: number } };
      return (p.status?.ready ?? 0) >= 2 ? true : undefined;
    }, { timeoutMs: 60_000, message: 'two ready workers' });
    // One job through first: the agents' first pull is then behind them.
    await createJob(h, probeJob('warm-up', 'later', { durationSeconds: 0.1 }));
    await waitPhase(h, 'warm-up', 'Succeeded', 30_000);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const firstStart = async (name: string): Promise<number> => {
    const runs = (await probeRuns(h)).filter((r) => r.job === name);
    return Math.min(...runs.map((r) => r.start));
  };

  it('holds a job Pending with reason NotBefore and starts it no earlier than asked', async () => {
    const at = new Date(Date.now() + 4000);
    await createJob(h, probeJob('delayed-1', 'later', { durationSeconds: 0.2 }, { notBefore: at.toISOString() }));
    await waitFor(() => condition(job(h, 'delayed-1'), 'Pending')?.reason === 'NotBefore', { message: 'delayed-1 NotBefore' });
    expect(condition(job(h, 'delayed-1'), 'Pending')?.message).toContain(at.toISOString());
    const wide = await h.kubectl('get', 'vj', 'delayed-1', '-n', 'default', '-o', 'wide');
    expect(wide.stdout).toMatch(/Pending/);
    expect(wide.stdout).toContain(at.toISOString().slice(0, 19));

    await waitPhase(h, 'delayed-1', 'Succeeded', 30_000);
    const started = await firstStart('delayed-1');
    expect(started).toBeGreaterThanOrEqual(at.getTime());
    // A timer admits it, not the 30 s resync; the lag is reported, not timed.
    console.log(`delayed-1: started ${started - at.getTime()} ms after notBefore`);
    expect(started - at.getTime()).toBeLessThan(15_000);
  });

  it('takes an edit of notBefore while the job waits, and a controller restart in the middle changes nothing', async () => {
    await createJob(h, probeJob('delayed-2', 'later', { durationSeconds: 0.2 }, { notBefore: new Date(Date.now() + 3600_000).toISOString() }));
    await waitFor(() => condition(job(h, 'delayed-2'), 'Pending')?.reason === 'NotBefore', { message: 'delayed-2 NotBefore' });
    const at = new Date(Date.now() + 5000);
    await patchJob(h, 'delayed-2', { spec: { notBefore: at.toISOString() } });
    await waitFor(() => condition(job(h, 'delayed-2'), 'Pending')?.message?.includes(at.toISOString()), { message: 'delayed-2 message names the new time' });
    // The controller that set the timer goes away; its successor recomputes the wait from the spec.
    await h.controllers.shift()!.stop();
    await h.startController();
    await waitPhase(h, 'delayed-2', 'Succeeded', 30_000);
    const started = await firstStart('delayed-2');
    expect(started).toBeGreaterThanOrEqual(at.getTime());
    console.log(`delayed-2: started ${started - at.getTime()} ms after the edited notBefore`);
    expect(started - at.getTime()).toBeLessThan(15_000);
  });

  it('refuses an edit of notBefore once the job has started, naming the field', async () => {
    await createJob(h, probeJob('delayed-3', 'later', { durationSeconds: 0.2 }, { notBefore: new Date(Date.now() - 1000).toISOString() }));
    await waitPhase(h, 'delayed-3', 'Succeeded', 30_000);
    const err = await patchJob(h, 'delayed-3', { spec: { notBefore: new Date(Date.now() + 60_000).toISOString() } }).then(
      () => undefined,
      (e: unknown) => e as { code?: number; body?: unknown },
    );
    expect(err?.code).toBe(422);
    expect(String(typeof err?.body === 'string' ? err.body : JSON.stringify(err?.body))).toContain('spec.notBefore');
  });
});
