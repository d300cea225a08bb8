import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait-for.js';
import { gpuPod, readPod, startCluster, uniqueName, type Cluster } from './harness.js';

describe('sandbox scheduler', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({
      nodes: [
        { name: 'sch-a', cpu: '4', memory: '8Gi', gpus: 1, labels: { pool: 'a' } },
        { name: 'sch-b', cpu: '4', memory: '8Gi', gpus: 1, labels: { pool: 'b' } },
      ],
    });
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('spreads GPU pods over nodes with room, then marks the next one Unschedulable with the usual message', async () => {
    const [p1, p2, p3] = [uniqueName('gpu'), uniqueName('gpu'), uniqueName('gpu')];
    for (const name of [p1, p2]) await c.core.createNamespacedPod({ namespace: 'default', body: gpuPod(name) });
    const nodes = await waitFor(async () => {
      const pods = await Promise.all([p1, p2].map((n) => readPod(c.core, n)));
      return pods.every((p) => p?.status?.phase === 'Running') ? pods.map((p) => p!.spec!.nodeName) : undefined;
    }, { timeoutMs: 10_000, message: 'two GPU pods running' });
    expect(new Set(nodes)).toEqual(new Set(['sch-a', 'sch-b']));

    await c.core.createNamespacedPod({ namespace: 'default', body: gpuPod(p3) });
    const cond = await waitFor(async () =>
      (await readPod(c.core, p3))?.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'False'),
    );
    expect(cond.reason).toBe('Unschedulable');
    expect(cond.message).toBe('0/2 nodes are available: 2 Insufficient nvidia.com/gpu.');
    const events = await waitFor(async () => {
      const list = await c.core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${p3}` });
      return list.items.find((e) => e.reason === 'FailedScheduling');
    });
    expect(events.type).toBe('Warning');
    expect(events.message).toBe(cond.message);

    // Freeing a GPU lets it schedule: retried on the change, no polling needed.
    await c.core.deleteNamespacedPod({ name: p1, namespace: 'default' });
    await waitFor(async () => (await readPod(c.core, p3))?.status?.phase === 'Running', { timeoutMs: 15_000, message: 'third pod runs' });
    await Promise.all([p2, p3].map((name) => c.core.deleteNamespacedPod({ name, namespace: 'default' })));
  });

  it('honours nodeSelector and NoSchedule taints with tolerations', async () => {
    const sel = uniqueName('sel');
    await c.core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: sel, namespace: 'default' }, spec: { nodeSelector: { pool: 'b' }, restartPolicy: 'Never', containers: [{ name: 'm', image: 'x', command: ['true'] }] } },
    });
    const bound = await waitFor(async () => (await readPod(c.core, sel))?.spec?.nodeName);
    expect(bound).toBe('sch-b');

    await c.core.patchNode(
      { name: 'sch-a', body: { spec: { taints: [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const nowhere = uniqueName('nowhere');
    await c.core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: nowhere, namespace: 'default' }, spec: { nodeSelector: { pool: 'a' }, containers: [{ name: 'm', image: 'x', command: ['sleep', '60'] }] } },
    });
    const cond = await waitFor(async () =>
      (await readPod(c.core, nowhere))?.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'False'),
    );
    expect(cond.message).toBe(
      "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: x}.",
    );
    const tolerant = uniqueName('tolerant');
    await c.core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: tolerant, namespace: 'default' },
        spec: {
          nodeSelector: { pool: 'a' },
          tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'x', effect: 'NoSchedule' }],
          restartPolicy: 'Never',
          containers: [{ name: 'm', image: 'x', command: ['true'] }],
        },
      },
    });
    expect(await waitFor(async () => (await readPod(c.core, tolerant))?.spec?.nodeName)).toBe('sch-a');
    await c.core.deleteNamespacedPod({ name: nowhere, namespace: 'default' });
  });
});
