/**
 * The controller rides through API faults it cannot see coming: 500 bursts, dropped and expired
 * watches. Uses the in-memory API server's fault switches, so it runs on that tier only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.js';
import { createJob, createPool, eventsOf, startHarness, waitAll, waitPhase, type Harness, probePool, probeJob } from './harness.js';

describe('controller e2e: API faults', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('recovers by itself from API 500s and dropped / expired watches', async () => {
    h = await startHarness({ nodes: 2, gpusPerNode: 2 });
    await createPool(h, probePool(h, 'flaky-api', { minReplicas: 2, maxReplicas: 2 }));
    await createJob(h, probeJob('api-1', 'flaky-api', { durationSeconds: 2 }));
    await waitPhase(h, 'api-1', 'Running', 60_000);
    const api = h.sandbox.api;
    if (!api) throw new Error('the API-fault test needs the in-memory control plane');
    const faults = api.faults;
    faults.failNext({ count: 40, status: 500, path: /visionjobs/ });
    faults.dropWatches();
    faults.expireWatches({ count: 2 });
    await createJob(h, probeJob('api-2', 'flaky-api', { durationSeconds: 1 })).catch(async () => {
      // The create itself may hit an injected 500: retry once the burst is over.
      await waitFor(async () => {
        try {
          await createJob(h!, probeJob('api-2', 'flaky-api', { durationSeconds: 1 }));
          return true;
        } catch (err) {
          return (err as { code?: number }).code === 409;
        }
      }, { timeoutMs: 20_000, message: 'api-2 created' });
    });
    faults.dropWatches();
    await waitAll(h, ['api-1', 'api-2'], 'Succeeded', 90_000);
  });

  it('a status write the API server refuses (422) is never retried for ever: a progress event is dropped, a success marks the job Failed naming why', async () => {
    h = await startHarness({ nodes: 1, gpusPerNode: 1 });
    const api = h.sandbox.api;
    if (!api) throw new Error('the API-fault test needs the in-memory control plane');
    await createPool(h, probePool(h, 'strict-api', { minReplicas: 1, maxReplicas: 1 }));
    // The body filter picks the one write: the first progress, then the success.
    api.faults.failNext({ count: 1, status: 422, path: /visionjobs\/dropped\/status$/, body: /"progress":\{/ });
    await createJob(h, probeJob('dropped', 'strict-api', { durationSeconds: 2 }));
    const ok = await waitPhase(h, 'dropped', 'Succeeded', 60_000);
    expect(ok.status?.attempts).toBe(1);
    const dropped = await waitFor(async () => (await eventsOf(h!, 'dropped')).find((e) => e.reason === 'StatusRejected'), { message: 'StatusRejected event' });
    expect(dropped.message).toMatch(/progress event of attempt 1 was refused by the API server and dropped/);

    api.faults.failNext({ count: 1, status: 422, path: /visionjobs\/refused\/status$/, body: /"phase":"Succeeded"/ });
    await createJob(h, probeJob('refused', 'strict-api', { durationSeconds: 0.5 }));
    const failed = await waitPhase(h, 'refused', 'Failed', 60_000);
    expect(failed.status?.attempts).toBe(1);
    const cond = failed.status?.conditions?.find((c) => c.type === 'Failed');
    expect(cond?.reason).toBe('StatusRejected');
    expect(cond?.message).toMatch(/succeeded event of attempt 1 was refused by the API server: .*invalid/);
    const metrics = await fetch(`${h.controllers[0]!.metricsUrl}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/visionq_job_events_total\{[^}]*type="progress"[^}]*outcome="rejected"[^}]*\} 1|visionq_job_events_total\{[^}]*outcome="rejected"[^}]*type="progress"[^}]*\} 1/);
    // The pool goes on: the next job runs normally.
    await createJob(h, probeJob('after', 'strict-api', { durationSeconds: 0.1 }));
    await waitPhase(h, 'after', 'Succeeded', 60_000);
  });
});
