import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.js';
import { condition, createJob, createPool, eventsOf, job, messageInStream, patchJob, probeJob, probePool, probeRuns, startHarness, waitPhase, type Harness } from './harness.js';

/** spec.suspend on a running job stops it; resuming runs it again, nothing counted against it. */
describe('controller e2e: suspending a running job', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ nodes: 1, gpusPerNode: 2 });
    await createPool(h, probePool(h, 'pausing', { minReplicas: 1, maxReplicas: 1 }));
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('stops the attempt, holds the job Pending/Suspended as not started, and runs it again on resume', async () => {
    await createJob(h, probeJob('long', 'pausing', { durationSeconds: 4 }));
    const running = await waitPhase(h, 'long', 'Running', 60_000);
    const seq = running.status!.currentAttempt!.streamSeq!;
    await waitFor(async () => ((await probeRuns(h)).some((r) => r.job === 'long') ? true : undefined), { message: 'long started' });

    await patchJob(h, 'long', { spec: { suspend: true } });
    const held = await waitFor(() => {
      const j = job(h, 'long');
      return j?.status?.phase === 'Pending' && j.status.currentAttempt?.ended === 'suspended' ? j : undefined;
    }, { timeoutMs: 20_000, message: `long suspended (now ${JSON.stringify(job(h, 'long')?.status)})` });
    expect(condition(held, 'Pending')?.reason).toBe('Suspended');
    expect(condition(held, 'Running')).toMatchObject({ status: 'False', reason: 'Suspended' });
    expect(held.status?.failures ?? 0).toBe(0);
    expect(held.status?.disruptions ?? 0).toBe(0);
    expect(held.status?.requeueGeneration).toBe(1);
    const killed = await waitFor(async () => (await probeRuns(h)).find((r) => r.job === 'long' && r.how === 'killed'), { message: 'the algorithm was stopped' });
    expect(killed.end).toBeDefined();
    expect(await messageInStream(h, seq)).toBe(false);
    const reasons = (await eventsOf(h, 'long')).map((e) => e.reason);
    expect(reasons).toContain('Suspended');
    expect(reasons).not.toContain('Cancelled');

    await patchJob(h, 'long', { spec: { suspend: false } });
    const done = await waitPhase(h, 'long', 'Succeeded', 60_000);
    expect(done.status?.failures ?? 0).toBe(0);
    expect(done.status?.disruptions ?? 0).toBe(0);
    const runs = (await probeRuns(h)).filter((r) => r.job === 'long');
    expect(runs.map((r) => r.how).sort()).toEqual(['end', 'killed']);
  });
});
