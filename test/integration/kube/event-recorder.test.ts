import type { CoreV1Event, V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder } from '../../../src/kube/event-recorder.js';
import { loadKubeConfig, makeClients, type KubeClients } from '../../../src/kube/kube-clients.js';
import { startSandboxApi, type SandboxApi } from '../../helpers/sandbox-api.js';

describe('EventRecorder against the sandbox API server', () => {
  let sb: SandboxApi;
  let clients: KubeClients;
  let seq = 0;

  beforeAll(async () => {
    sb = await startSandboxApi();
    clients = makeClients(loadKubeConfig(sb.kubeconfigPath));
  });

  afterEach(() => sb.server.faults.reset());

  afterAll(async () => {
    await sb?.cleanup();
  });

  async function involved(): Promise<V1ConfigMap> {
    const namespace = `ev-${process.pid}-${++seq}`;
    await clients.core.createNamespace({ body: { metadata: { name: namespace } } });
    const created = await clients.core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'subject', namespace } },
    });
    return { ...created, apiVersion: 'v1', kind: 'ConfigMap' };
  }

  const eventsIn = async (namespace: string): Promise<CoreV1Event[]> =>
    (await clients.core.listNamespacedEvent({ namespace })).items;

  it('creates an Event with the involved object, then aggregates repeats into count', async () => {
    const obj = await involved();
    const ns = obj.metadata!.namespace!;
    const rec = new EventRecorder({ core: clients.core, component: 'visionq-test', instance: 'pod-1' });
    await rec.event(obj, 'Normal', 'Queued', 'published to the queue');
    let events = await eventsIn(ns);
    expect(events).toHaveLength(1);
    const [ev] = events;
    expect(ev).toMatchObject({
      type: 'Normal',
      reason: 'Queued',
      message: 'published to the queue',
      count: 1,
      source: { component: 'visionq-test', host: 'pod-1' },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'subject',
        namespace: ns,
        uid: obj.metadata!.uid,
        resourceVersion: obj.metadata!.resourceVersion,
      },
    });
    expect(ev!.firstTimestamp).toBeTruthy();

    await Promise.all([
      rec.event(obj, 'Normal', 'Queued', 'published to the queue'),
      rec.event(obj, 'Normal', 'Queued', 'published to the queue'),
    ]);
    events = await eventsIn(ns);
    expect(events).toHaveLength(1);
    expect(events[0]!.count).toBe(3);
    expect(new Date(events[0]!.lastTimestamp!).getTime()).toBeGreaterThanOrEqual(new Date(events[0]!.firstTimestamp!).getTime());

    await rec.event(obj, 'Warning', 'Retrying', 'attempt 2 failed');
    events = await eventsIn(ns);
    expect(events.map((e) => `${e.type}/${e.reason}/${e.count}`).sort()).toEqual(['Normal/Queued/3', 'Warning/Retrying/1']);
    expect(rec.stats).toMatchObject({ created: 2, aggregated: 2, failed: 0 });
  });

  it('creates a fresh Event when the aggregated one was deleted', async () => {
    const obj = await involved();
    const ns = obj.metadata!.namespace!;
    const rec = new EventRecorder({ core: clients.core, component: 'visionq-test' });
    await rec.event(obj, 'Normal', 'Started', 'running');
    const [first] = await eventsIn(ns);
    await clients.core.deleteNamespacedEvent({ name: first!.metadata!.name!, namespace: ns });
    await rec.event(obj, 'Normal', 'Started', 'running');
    const events = await eventsIn(ns);
    expect(events).toHaveLength(1);
    expect(events[0]!.count).toBe(1);
  });

  it('never throws when the API fails, and drops floods beyond its rate limit', async () => {
    const obj = await involved();
    const ns = obj.metadata!.namespace!;
    sb.server.faults.failNext({ count: 1, status: 500, verb: 'create', path: /\/events/ });
    const rec = new EventRecorder({ core: clients.core, component: 'visionq-test', qps: 0.001, burst: 3 });
    await expect(rec.event(obj, 'Warning', 'Failed', 'boom')).resolves.toBeUndefined();
    expect(rec.stats.failed).toBe(1);
    for (let i = 0; i < 5; i++) await rec.event(obj, 'Normal', 'Progress', `step ${i}`);
    expect(rec.stats.dropped).toBe(3);
    expect(await eventsIn(ns)).toHaveLength(2);
  });
});
