/**
 * A compact randomized run (fixed seed): jobs of mixed lengths arrive in bursts with pauses long
 * enough for workers to be scaled down in between. Every job must succeed and no job may be
 * disrupted: scale-down only ever removes idle workers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counts, createJob, createPool, samplePool, startHarness, waitAllSucceeded, type Harness, sampleJob } from './harness.js';
import { waitFor } from '../helpers/wait-for.js';
import { mulberry32, randomArrivals } from './workerpool-fixtures.js';

describe('randomized elastic run', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ nodes: 2, maxNodes: 5, nodeProvisionSeconds: 1, nodeScaleDownSeconds: 1, gpusPerNode: 1, controller: 'sandbox' });
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('bursts and pauses: every job Succeeded, zero disruptions, pool ends at zero', async () => {
    await createPool(h, samplePool('mixed', { maxReplicas: 5, scaleDownDelaySeconds: 1 }));
    // Pauses outlast the idle delay plus the agent's drain-refusal window (5 s after taking a job),
    // so workers are really drained and removed between bursts and new ones created after.
    const plan = randomArrivals(mulberry32(20261123), { bursts: 3, jobsPerBurst: [3, 8], durationSeconds: [0.3, 2.5], pauseMs: [6_500, 8_000] });
    const names: string[] = [];
    for (const step of plan) {
      if (step.kind === 'pause') {
        await new Promise((r) => setTimeout(r, step.ms)); // the workload's own rhythm, not a wait for a condition
        continue;
      }
      names.push(step.name);
      await createJob(h, sampleJob(step.name, 'mixed', { video: step.name, durationSeconds: step.durationSeconds }));
    }
    const done = await waitAllSucceeded(h, names, 120_000);
    for (const j of done) expect(counts(j)).toMatchObject({ phase: 'Succeeded', disruptions: 0, failures: 0 });
    expect(h.pods.maxAliveOf('mixed')).toBeLessThanOrEqual(5);
    // scale-down happened during the run (not only at the end): more pods were created than ever existed at once
    expect(h.pods.creationsOf('mixed')).toBeGreaterThan(h.pods.maxAliveOf('mixed'));
    await waitFor(() => h.pods.podsOf('mixed').length === 0, { timeoutMs: 30_000, message: 'pool back to zero' });
  });
});
