import type { V1Node } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait-for.js';
import { gpuPod, readPod, startCluster, uniqueName, type Cluster } from './harness.js';

const TEMPLATE = { cpu: '8', memory: '32Gi', gpus: 1 };

function autoscaled(nodes: V1Node[]): V1Node[] {
  return nodes.filter((n) => n.metadata?.labels?.['visionq.dev/autoscaled'] === 'true');
}

describe('sandbox cluster autoscaler', () => {
  let c: Cluster | undefined;
  afterEach(async () => {
    await c?.stop();
    c = undefined;
  });

  it('adds a node after the provisioning delay, never beyond maxNodes, and the pods start', async () => {
    c = await startCluster({
      nodes: [{ name: 'as-static', ...TEMPLATE }],
      autoscaler: { nodeTemplate: TEMPLATE, maxNodes: 3, provisionDelayMs: 800, scaleDownUnneededMs: 60_000 },
    });
    const cl = c;
    const names = Array.from({ length: 5 }, () => uniqueName('burst'));
    // Track the node count the whole time: it must never exceed maxNodes.
    let maxSeen = 0;
    let firstAddedAt: number | undefined;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        try {
          const nodes = (await cl.core.listNode({})).items;
          maxSeen = Math.max(maxSeen, nodes.length);
          if (firstAddedAt === undefined && autoscaled(nodes).length > 0) firstAddedAt = Date.now();
        } catch {
          // The server is going away at the end of a failed test.
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    try {
      const t0 = Date.now();
      for (const name of names) await cl.core.createNamespacedPod({ namespace: 'default', body: gpuPod(name) });

      const event = await waitFor(async () => {
        const list = await cl.core.listNamespacedEvent({ namespace: 'default' });
        return list.items.find((e) => e.reason === 'TriggeredScaleUp' && names.includes(e.involvedObject.name ?? ''));
      }, { message: 'TriggeredScaleUp event' });
      expect(event.message).toMatch(/^pod triggered scale-up: \[\{visionq-sandbox-gpu [12]->[23] \(max: 3\)\}\]$/);

      const running = await waitFor(async () => {
        const pods = await Promise.all(names.map((n) => readPod(cl.core, n)));
        const r = pods.filter((p) => p?.status?.phase === 'Running');
        return r.length === 3 ? r : undefined;
      }, { timeoutMs: 20_000, message: 'three pods running on three nodes' });
      expect(new Set(running.map((p) => p!.spec!.nodeName)).size).toBe(3);
      const nodes = (await cl.core.listNode({})).items;
      expect(autoscaled(nodes)).toHaveLength(2);
      for (const n of autoscaled(nodes)) expect(n.status?.capacity?.['nvidia.com/gpu']).toBe('1');
      // A node boots only after the provisioning delay (a lower bound, safe on a slow machine).
      expect(firstAddedAt! - t0).toBeGreaterThanOrEqual(800);

      // The two left over stay pending and are told why no node comes for them.
      await waitFor(async () => {
        const list = await cl.core.listNamespacedEvent({ namespace: 'default' });
        return list.items.find((e) => e.reason === 'NotTriggerScaleUp' && /max node group size reached/.test(e.message ?? ''));
      }, { message: 'NotTriggerScaleUp event' });
    } finally {
      watching = false;
      await watcher;
    }
    expect(maxSeen).toBe(3);
  });

  it('removes an empty added node after the unneeded time, but never one running a safe-to-evict=false pod', async () => {
    c = await startCluster({
      nodes: [],
      autoscaler: { nodeTemplate: TEMPLATE, maxNodes: 2, provisionDelayMs: 500, scaleDownUnneededMs: 1_000 },
    });
    const cl = c;
    // An owner the garbage collector sees, so the pods count as replicated (evictable unless annotated).
    const owner = await cl.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: uniqueName('owner') } } });
    const ownerRefs = [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true }];
    // Two GPU pods make the autoscaler add two nodes: one keeps running, one finishes at once.
    const first = uniqueName('first');
    const second = uniqueName('second');
    const firstPod = gpuPod(first, 1);
    const secondPod = gpuPod(second, 1);
    secondPod.spec!.containers[0].command = ['sh', '-c', 'exit 0'];
    for (const p of [firstPod, secondPod]) {
      p.metadata!.ownerReferences = ownerRefs;
      await cl.core.createNamespacedPod({ namespace: 'default', body: p });
    }
    await waitFor(async () => autoscaled((await cl.core.listNode({})).items).length === 2, { timeoutMs: 10_000, message: 'two nodes' });
    const busyNode = await waitFor(async () => (await readPod(cl.core, first))?.spec?.nodeName);
    // A long-running, not-evictable pod on that node; no requests, so utilisation alone would not keep it.
    const pinned = uniqueName('pinned');
    await cl.core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: pinned, namespace: 'default', ownerReferences: ownerRefs, annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' } },
        spec: { nodeSelector: { 'kubernetes.io/hostname': busyNode }, terminationGracePeriodSeconds: 1, containers: [{ name: 'm', image: 'x', command: ['sleep', '600'] }] },
      },
    });
    await waitFor(async () => (await readPod(cl.core, pinned))?.status?.phase === 'Running', { message: 'pinned pod running' });
    await cl.core.deleteNamespacedPod({ name: first, namespace: 'default' });
    await waitFor(async () => !(await readPod(cl.core, first)), { message: 'first pod gone' });

    // The other added node is empty (its pod finished): it goes after the unneeded time.
    const left = await waitFor(async () => {
      const n = autoscaled((await cl.core.listNode({})).items);
      return n.length === 1 ? n : undefined;
    }, { timeoutMs: 15_000, message: 'empty node removed' });
    expect(left[0].metadata?.name).toBe(busyNode);
    const events = await cl.core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.kind=Node' });
    expect(events.items.some((e) => e.reason === 'ScaleDown')).toBe(true);

    // A negative can only be shown by waiting: three unneeded periods later it is still there.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(autoscaled((await cl.core.listNode({})).items).map((n) => n.metadata?.name)).toEqual([busyNode]);
    expect((await readPod(cl.core, pinned))?.status?.phase).toBe('Running');

    // Once that pod is gone the node is unneeded too, down to the minimum of zero.
    await cl.core.deleteNamespacedPod({ name: pinned, namespace: 'default' });
    await waitFor(async () => (await cl.core.listNode({})).items.length === 0, { timeoutMs: 15_000, message: 'all added nodes removed' });
  });
  it('drains a node whose evictable pods fit elsewhere, then removes it', async () => {
    c = await startCluster({
      nodes: [{ name: 'as-cpu-only', cpu: '8', memory: '32Gi', gpus: 0 }],
      autoscaler: { nodeTemplate: TEMPLATE, maxNodes: 2, provisionDelayMs: 500, scaleDownUnneededMs: 800 },
    });
    const cl = c;
    const owner = await cl.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: uniqueName('owner') } } });
    const ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true }];
    const gpu = uniqueName('gpu');
    await cl.core.createNamespacedPod({ namespace: 'default', body: gpuPod(gpu) });
    const added = await waitFor(async () => (await readPod(cl.core, gpu))?.spec?.nodeName, { timeoutMs: 10_000, message: 'GPU pod placed on a new node' });
    // A replicated pod with no requests, put on the added node directly (no scheduler involved).
    const mover = uniqueName('mover');
    await cl.core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: mover, namespace: 'default', ownerReferences },
        spec: { nodeName: added, terminationGracePeriodSeconds: 1, containers: [{ name: 'm', image: 'x', command: ['sleep', '600'] }] },
      },
    });
    await waitFor(async () => (await readPod(cl.core, mover))?.status?.phase === 'Running', { message: 'mover running' });
    await cl.core.deleteNamespacedPod({ name: gpu, namespace: 'default' });

    // Only the movable pod is left: the autoscaler evicts it and removes the node.
    await waitFor(async () => !(await cl.core.listNode({})).items.some((n) => n.metadata?.name === added), {
      timeoutMs: 15_000,
      message: 'drained node removed',
    });
    expect(await readPod(cl.core, mover)).toBeUndefined();
    const events = await cl.core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${mover}` });
    expect(events.items.some((e) => e.reason === 'ScaleDown' && e.message === 'deleting pod for node scale down')).toBe(true);
  });
});
