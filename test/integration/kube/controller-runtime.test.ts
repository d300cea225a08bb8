import { ApiextensionsV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runController, type ReconcileObservation } from '../../../src/kube/controller-loop.js';
import { Informer } from '../../../src/kube/informer.js';
import { loadKubeConfig, makeClients, type KubeClients } from '../../../src/kube/kube-clients.js';
import { mergePatchCustomObjectStatus } from '../../../src/kube/kube-patch.js';
import { objectKey, splitKey } from '../../../src/kube/object-store.js';
import { WorkQueue } from '../../../src/kube/work-queue.js';
import { startSandboxApi, type SandboxApi } from '../../helpers/sandbox-api.js';
import { waitFor } from '../../helpers/wait-for.js';

interface Widget extends KubernetesObject {
  spec?: { size?: number };
  status?: { doubled?: number; observedGeneration?: number };
}

const group = 'kubetest.visionq.dev';
const version = 'v1';
const plural = 'widgets';

/**
 * The pieces together on a custom resource: informer → work queue → reconcile workers that
 * read from the cache and write status through /status with a merge patch.
 */
describe('controller runtime on a custom resource (sandbox API server)', () => {
  let sb: SandboxApi;
  let clients: KubeClients;

  beforeAll(async () => {
    sb = await startSandboxApi();
    clients = makeClients(loadKubeConfig(sb.kubeconfigPath));
    await clients.kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({
      body: {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `${plural}.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural, singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
          versions: [
            {
              name: version,
              served: true,
              storage: true,
              subresources: { status: {} },
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: { type: 'object', properties: { size: { type: 'integer' } } },
                    status: {
                      type: 'object',
                      properties: { doubled: { type: 'integer' }, observedGeneration: { type: 'integer' } },
                    },
                  },
                },
              },
            },
          ],
        },
      },
    });
    await waitFor(
      () => clients.custom.listClusterCustomObject({ group, version, plural }).then(() => true),
      { message: 'CRD served' },
    );
  });

  afterAll(async () => {
    await sb?.cleanup();
  });

  it('reconciles widgets into status, retrying through API faults', async () => {
    const namespace = `ctl-${process.pid}`;
    await clients.core.createNamespace({ body: { metadata: { name: namespace } } });
    const informer = new Informer<Widget>({
      kc: clients.kc,
      path: `/apis/${group}/${version}/${plural}`,
      namespace,
      backoff: { initialMs: 20, maxMs: 200 },
    });
    const queue = new WorkQueue<string>();
    const enqueue = (o: Widget) => queue.add(objectKey(o));
    informer.addEventHandler({ onAdd: enqueue, onUpdate: (_, o) => enqueue(o), onDelete: enqueue });
    const observations: ReconcileObservation[] = [];
    const ctl = runController({
      name: 'widgets',
      queue,
      workers: 2,
      metrics: { onReconcile: (o) => observations.push(o) },
      reconcile: async (key) => {
        const w = informer.store.get(key);
        if (!w) return; // deleted: nothing to converge
        const want = (w.spec?.size ?? 0) * 2;
        if (w.status?.doubled === want && w.status.observedGeneration === w.metadata?.generation) return;
        await mergePatchCustomObjectStatus(
          clients.custom,
          { group, version, plural, ...(splitKey(key) as { namespace: string; name: string }) },
          { status: { doubled: want, observedGeneration: w.metadata?.generation } },
        );
      },
    });
    informer.start();
    try {
      expect(await informer.waitForSync()).toBe(true);
      // The first status writes fail: the loop must back off and retry on its own.
      sb.server.faults.failNext({ count: 3, status: 500, verb: 'patch', path: /\/status$/ });
      for (let i = 1; i <= 3; i++) {
        await clients.custom.createNamespacedCustomObject({
          group,
          version,
          plural,
          namespace,
          body: { apiVersion: `${group}/${version}`, kind: 'Widget', metadata: { name: `w${i}`, namespace }, spec: { size: i } },
        });
      }
      await waitFor(
        () => [1, 2, 3].every((i) => informer.store.get(`${namespace}/w${i}`)?.status?.doubled === i * 2),
        { message: 'all widgets reconciled into status' },
      );
      expect(observations.filter((o) => o.outcome === 'error' && o.errorClass === 'server')).toHaveLength(3);
      const w1 = (await clients.custom.getNamespacedCustomObject({ group, version, plural, namespace, name: 'w1' })) as Widget;
      expect(w1.status).toEqual({ doubled: 2, observedGeneration: w1.metadata?.generation });
      expect(w1.spec).toEqual({ size: 1 });
    } finally {
      await ctl.stop();
      await informer.stop();
    }
  });
});
