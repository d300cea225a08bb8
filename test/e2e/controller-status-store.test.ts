import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Informer } from '../../src/kube/informer.js';
import { makeClients } from '../../src/kube/kube-clients.js';
import type { VisionJobObject } from '../../src/controller/manager/context-types.js';
import { VisionJobStore } from '../../src/controller/visionjob/visionjob-store.js';
import { installCrds, readCrds } from '../../src/sandbox/crd-installer.js';
import { packageRoot } from '../../src/sandbox/package-root.js';
import { startSandboxApi, type SandboxApi } from '../helpers/sandbox-api.js';
import { waitFor } from '../helpers/wait-for.js';
import { GROUP, probeJob, NS, VERSION } from './harness.js';

describe('controller: VisionJob status store against the sandbox API server', () => {
  let api: SandboxApi;
  let informer: Informer<VisionJobObject>;
  const stores: VisionJobStore[] = [];

  beforeAll(async () => {
    api = await startSandboxApi();
    await installCrds(api.kc, await readCrds(join(packageRoot, 'crds')));
    informer = new Informer<VisionJobObject>({ kc: api.kc, path: `/apis/${GROUP}/${VERSION}/visionjobs`, name: 'store-test' });
    informer.start();
    await informer.waitForSync();
    // Two stores over one cache: like two writers (reconciler, events consumer, an old leader).
    const ctx = { kube: makeClients(api.kc), jobs: informer, logger: pino({ level: 'silent' }) };
    stores.push(new VisionJobStore(ctx), new VisionJobStore(ctx));
  });
  afterAll(async () => {
    await informer?.stop();
    await api?.cleanup();
  });

  it('applies concurrent status mutations without losing one (409 → re-read → re-apply)', async () => {
    const custom = api.kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'visionjobs', body: probeJob('counter', 'p') });
    await waitFor(() => informer.store.get(`${NS}/counter`), { message: 'cached' });
    const bump = (s: VisionJobStore) =>
      s.updateStatus(`${NS}/counter`, (j) => ({ ...(j.status ?? {}), attempts: (j.status?.attempts ?? 0) + 1 }));
    await Promise.all(Array.from({ length: 10 }, (_, i) => bump(stores[i % 2]!)));
    const fresh = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'visionjobs', name: 'counter' })) as VisionJobObject;
    expect(fresh.status?.attempts).toBe(10);
  });

  it('skips writes that change nothing and ignores a job recreated under the same name', async () => {
    const key = `${NS}/counter`;
    const before = (await stores[0]!.fetch(key))!;
    const same = await stores[0]!.updateStatus(key, (j) => ({ ...(j.status ?? {}) }));
    expect(same?.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    const other = await stores[0]!.updateStatus(key, () => ({ phase: 'Failed' }), { uid: 'someone-else' });
    expect(other).toBeUndefined();
  });

  it('retries through API 500s left to the caller, and returns undefined for a deleted job', async () => {
    api.server.faults.failNext({ count: 1, status: 500, path: /counter\/status/ });
    await expect(stores[0]!.updateStatus(`${NS}/counter`, (j) => ({ ...(j.status ?? {}), failures: 1 }))).rejects.toMatchObject({ code: 500 });
    expect(await stores[0]!.updateStatus(`${NS}/missing`, () => ({ phase: 'Failed' }))).toBeUndefined();
  });
});
