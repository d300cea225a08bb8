import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait-for.js';
import { readPod, shPod, startCluster, uniqueName, type Cluster } from './harness.js';

describe('sandbox nodes under API faults', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ nodes: [{ name: 'fault-1', cpu: '4', memory: '8Gi', gpus: 1 }] });
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('binds, runs and finishes pods through dropped and expired watches and failing writes', async () => {
    const faults = c.api.server.faults;
    faults.failNext({ count: 2, status: 500, path: /\/binding$/ });
    faults.failNext({ count: 3, status: 500, path: /\/pods\/[^/]+\/status$/ });
    const names = [uniqueName('flaky'), uniqueName('flaky')];
    for (const name of names) {
      await c.core.createNamespacedPod({ namespace: 'default', body: shPod(name, 'sleep 0.3; echo done') });
    }
    faults.dropWatches();
    faults.expireWatches({ count: 2 });
    for (const name of names) {
      await waitFor(async () => (await readPod(c.core, name))?.status?.phase === 'Succeeded', {
        timeoutMs: 15_000,
        message: `${name} Succeeded despite faults`,
      });
      expect((await readPod(c.core, name))?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
    }
  });

  it('finishes a graceful deletion when its status write and delete call fail at first', async () => {
    const name = uniqueName('stopper');
    const marker = join(c.work, `${name}.term`);
    await c.core.createNamespacedPod({
      namespace: 'default',
      body: shPod(name, `trap 'touch ${marker}; exit 0' TERM; while true; do sleep 0.1; done`, { terminationGracePeriodSeconds: 10 }),
    });
    await waitFor(async () => (await readPod(c.core, name))?.status?.phase === 'Running', { message: 'running' });
    await c.core.deleteNamespacedPod({ name, namespace: 'default' });
    // Only the kubelet writes from here on: its terminal status and the final DELETE.
    c.api.server.faults.failNext({ count: 2, status: 500, path: /\/pods\/[^/]+\/status$/ });
    c.api.server.faults.failNext({ count: 2, status: 429, verb: 'delete', retryAfterSeconds: 0 });
    c.api.server.faults.dropWatches();
    await waitFor(async () => !(await readPod(c.core, name)), { timeoutMs: 15_000, message: 'pod deleted despite faults' });
    expect(existsSync(marker)).toBe(true);
  });
});
