/**
 * The controller rides through API faults it cannot see coming: 500 bursts, dropped and expired
 * watches. Uses the in-memory API server's fault switches, so it runs on that tier only.
 */
import { afterEach, describe, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.js';
import { createJob, createPool, startHarness, waitAll, waitPhase, type Harness, probePool, probeJob } from './harness.js';

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
});
