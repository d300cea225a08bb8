import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Informer } from '../../../src/kube/informer.js';
import { loadKubeConfig, makeClients, type KubeClients } from '../../../src/kube/kube-clients.js';
import { objectKey } from '../../../src/kube/object-store.js';
import { startSandboxApi, type SandboxApi } from '../../helpers/sandbox-api.js';
import { waitFor } from '../../helpers/wait-for.js';

/**
 * A mirror built only from informer events, plus checks that the event stream is consistent:
 * no add for a key already present, no update that repeats a resourceVersion, no delete of an
 * unknown key. If the mirror equals the server's list, nothing was missed or duplicated.
 */
function mirrorOf(informer: Informer<V1ConfigMap>) {
  const mirror = new Map<string, string>();
  const anomalies: string[] = [];
  const counts = { add: 0, update: 0, delete: 0, resync: 0 };
  informer.addEventHandler({
    onAdd: (o) => {
      counts.add++;
      if (mirror.has(objectKey(o))) anomalies.push(`duplicate add ${objectKey(o)}`);
      mirror.set(objectKey(o), o.metadata!.resourceVersion!);
    },
    onUpdate: (oldObj, o) => {
      if (oldObj === o) {
        counts.resync++;
        return;
      }
      counts.update++;
      const prev = mirror.get(objectKey(o));
      if (prev === undefined) anomalies.push(`update of unknown ${objectKey(o)}`);
      if (prev === o.metadata!.resourceVersion) anomalies.push(`duplicate update ${objectKey(o)}@${prev}`);
      mirror.set(objectKey(o), o.metadata!.resourceVersion!);
    },
    onDelete: (o) => {
      counts.delete++;
      if (!mirror.delete(objectKey(o))) anomalies.push(`delete of unknown ${objectKey(o)}`);
    },
  });
  return { mirror, anomalies, counts };
}

async function serverState(core: CoreV1Api, namespace: string): Promise<Map<string, string>> {
  const list = await core.listNamespacedConfigMap({ namespace });
  return new Map(list.items.map((o) => [objectKey(o), o.metadata!.resourceVersion!]));
}

function sameState(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

describe('Informer against the sandbox API server', () => {
  let sb: SandboxApi;
  let clients: KubeClients;
  const informers: Informer<V1ConfigMap>[] = [];
  let nsSeq = 0;

  beforeAll(async () => {
    sb = await startSandboxApi();
    clients = makeClients(loadKubeConfig(sb.kubeconfigPath));
  });

  afterEach(async () => {
    sb.server.faults.reset();
    await Promise.all(informers.splice(0).map((i) => i.stop()));
  });

  afterAll(async () => {
    await sb?.cleanup();
  });

  async function newNamespace(): Promise<string> {
    const name = `inf-${process.pid}-${++nsSeq}`;
    await clients.core.createNamespace({ body: { metadata: { name } } });
    return name;
  }

  const cm = (namespace: string, name: string, v = '0'): V1ConfigMap => ({
    metadata: { name, namespace, labels: { app: 'informer-test' } },
    data: { v },
  });

  function informer(namespace: string, extra: Partial<ConstructorParameters<typeof Informer<V1ConfigMap>>[0]> = {}) {
    const inf = new Informer<V1ConfigMap>({
      kc: clients.kc,
      path: '/api/v1/configmaps',
      namespace,
      backoff: { initialMs: 20, maxMs: 300 },
      ...extra,
    });
    informers.push(inf);
    return inf;
  }

  it('lists (paginated), syncs, then delivers add, update and delete', async () => {
    const ns = await newNamespace();
    for (let i = 0; i < 5; i++) await clients.core.createNamespacedConfigMap({ namespace: ns, body: cm(ns, `pre-${i}`) });
    const inf = informer(ns, { pageSize: 2 });
    const { mirror, anomalies, counts } = mirrorOf(inf);
    expect(inf.hasSynced()).toBe(false);
    inf.start();
    expect(await inf.waitForSync()).toBe(true);
    expect(inf.store.size).toBe(5);
    expect(counts.add).toBe(5);
    // Core list items carry no kind; the informer fills it in (the event recorder needs it).
    expect(inf.store.get(`${ns}/pre-0`)?.kind).toBe('ConfigMap');

    await clients.core.createNamespacedConfigMap({ namespace: ns, body: cm(ns, 'live') });
    await waitFor(() => inf.store.get(`${ns}/live`), { message: 'add seen' });
    await clients.core.patchNamespacedConfigMap(
      { name: 'live', namespace: ns, body: [{ op: 'replace', path: '/data/v', value: '1' }] },
    );
    await waitFor(() => inf.store.get(`${ns}/live`)?.data?.v === '1', { message: 'update seen' });
    await clients.core.deleteNamespacedConfigMap({ name: 'pre-0', namespace: ns });
    await waitFor(() => !inf.store.get(`${ns}/pre-0`), { message: 'delete seen' });
    expect(counts).toMatchObject({ add: 6, update: 1, delete: 1 });
    expect(anomalies).toEqual([]);
    expect(sameState(mirror, await serverState(clients.core, ns))).toBe(true);
  });

  it('resumes after dropped watches without missing or duplicating state', async () => {
    const ns = await newNamespace();
    const inf = informer(ns);
    const { mirror, anomalies } = mirrorOf(inf);
    inf.start();
    await inf.waitForSync();
    for (let round = 0; round < 5; round++) {
      await clients.core.createNamespacedConfigMap({ namespace: ns, body: cm(ns, `c-${round}`) });
      sb.server.faults.dropWatches();
      // Changes while the informer is reconnecting.
      await clients.core.replaceNamespacedConfigMap({ name: `c-${round}`, namespace: ns, body: cm(ns, `c-${round}`, 'x') });
      if (round > 0) await clients.core.deleteNamespacedConfigMap({ name: `c-${round - 1}`, namespace: ns });
    }
    const truth = await serverState(clients.core, ns);
    await waitFor(() => sameState(mirror, truth), { message: 'mirror converges to server state' });
    expect(anomalies).toEqual([]);
    expect(inf.stats.watches).toBeGreaterThan(1);
    expect(inf.stats.lists).toBe(1);
  });

  it('relists after a forced 410 and emits deletes for objects removed meanwhile', async () => {
    const ns = await newNamespace();
    for (let i = 0; i < 3; i++) await clients.core.createNamespacedConfigMap({ namespace: ns, body: cm(ns, `k-${i}`) });
    const inf = informer(ns);
    const { mirror, anomalies, counts } = mirrorOf(inf);
    inf.start();
    await inf.waitForSync();
    // Blind the informer: its watch breaks and cannot reconnect while we change things.
    sb.server.faults.failNext({ count: 100_000, status: 500, verb: 'watch' });
    sb.server.faults.dropWatches();
    await clients.core.deleteNamespacedConfigMap({ name: 'k-0', namespace: ns });
    await clients.core.replaceNamespacedConfigMap({ name: 'k-1', namespace: ns, body: cm(ns, 'k-1', 'changed') });
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: cm(ns, 'k-new') });
    // Compact history so the informer's resourceVersion is too old, then let it reconnect.
    sb.server.faults.expireWatches({ count: 0 });
    sb.server.faults.reset();
    await waitFor(() => inf.stats.relistsAfterExpiry > 0, { message: 'relist after 410' });
    const truth = await serverState(clients.core, ns);
    await waitFor(() => sameState(mirror, truth), { message: 'mirror converges after relist' });
    expect(counts).toMatchObject({ add: 4, update: 1, delete: 1 });
    expect(anomalies).toEqual([]);
  });

  it('relists on a 410 delivered as an ERROR event and as an HTTP status', async () => {
    const ns = await newNamespace();
    const inf = informer(ns);
    const { mirror, anomalies } = mirrorOf(inf);
    inf.start();
    await inf.waitForSync();
    for (const mode of ['event', 'status'] as const) {
      const before = inf.stats.relistsAfterExpiry;
      sb.server.faults.expireWatches({ count: 1, mode });
      sb.server.faults.dropWatches();
      await waitFor(() => inf.stats.relistsAfterExpiry > before, { message: `relist after 410 (${mode})` });
      await clients.core.createNamespacedConfigMap({ namespace: ns, body: cm(ns, `after-${mode}`) });
      await waitFor(() => inf.store.get(`${ns}/after-${mode}`), { message: `watching again after ${mode}` });
    }
    expect(sameState(mirror, await serverState(clients.core, ns))).toBe(true);
    expect(anomalies).toEqual([]);
  });

  it('keeps retrying through 500 and 429 windows and converges', async () => {
    const ns = await newNamespace();
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: cm(ns, 'a') });
    const path = new RegExp(`/namespaces/${ns}/configmaps`);
    sb.server.faults.failNext({ count: 4, status: 500, path, verb: 'list' });
    sb.server.faults.failNext({ count: 2, status: 429, path, verb: 'list', retryAfterSeconds: 1 });
    const inf = informer(ns);
    const { mirror, anomalies } = mirrorOf(inf);
    inf.start();
    expect(await inf.waitForSync()).toBe(true);
    expect(inf.stats.errors).toBeGreaterThanOrEqual(6);
    sb.server.faults.failNext({ count: 5, status: 500, path, verb: 'watch' });
    sb.server.faults.dropWatches();
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: cm(ns, 'b') });
    const truth = await serverState(clients.core, ns);
    await waitFor(() => sameState(mirror, truth), { message: 'converges after the fault window' });
    expect(anomalies).toEqual([]);
  });

  it('re-delivers cached objects on resync, filters by label selector, transforms before caching', async () => {
    const ns = await newNamespace();
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: cm(ns, 'match') });
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'other', namespace: ns } } });
    const inf = informer(ns, {
      resyncMs: 50,
      labelSelector: 'app=informer-test',
      transform: (o) => ({ ...o, data: undefined }),
    });
    const { counts } = mirrorOf(inf);
    inf.start();
    await inf.waitForSync();
    expect(inf.store.keys()).toEqual([`${ns}/match`]);
    expect(inf.store.get(`${ns}/match`)?.data).toBeUndefined();
    await waitFor(() => counts.resync >= 2, { message: 'resync updates' });
  });

  it('waitForSync resolves false when aborted before the first list', async () => {
    const ns = await newNamespace();
    sb.server.faults.failNext({ count: 100_000, status: 500, path: new RegExp(`/namespaces/${ns}/`) });
    const inf = informer(ns);
    inf.start();
    const ac = new AbortController();
    const synced = inf.waitForSync(ac.signal);
    ac.abort();
    expect(await synced).toBe(false);
  });
});
