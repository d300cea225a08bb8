import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { setupConformance, expectApiError, statusOf, type ConformanceEnv } from '../conformance-env.js';
import { installWidgetCrd, removeWidgetCrd, widgetCrd, type WidgetCrd } from '../widget-crd.js';
import { waitFor } from '../../helpers/wait-for.js';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Finalizers and deletionTimestamp, ownerReference garbage collection, namespace deletion, graceful pod deletion. */
export function lifecycleSuite(): void {
  describe('conformance: deletion lifecycle', () => {
    let env: ConformanceEnv;
    let crd: WidgetCrd;
    beforeAll(async () => {
      env = await setupConformance('life');
      crd = widgetCrd(env.suffix);
      await installWidgetCrd(env, crd);
    });
    afterAll(async () => {
      if (env) await removeWidgetCrd(env, crd);
      await env?.cleanup();
    });

    it('DELETE with finalizers sets deletionTimestamp (MODIFIED); removing the last finalizer deletes (DELETED)', async () => {
      const ref = { group: crd.group, version: 'v1', plural: crd.plural, namespace: env.namespace, name: 'fin' };
      const created: any = await env.custom.createNamespacedCustomObject({
        ...ref,
        body: { apiVersion: `${crd.group}/v1`, kind: crd.kind, metadata: { name: 'fin', finalizers: ['conformance.visionq.dev/a', 'conformance.visionq.dev/b'] }, spec: { size: 1 } },
      });
      const w = await env.raw.watch(`/apis/${crd.group}/v1/namespaces/${env.namespace}/${crd.plural}?watch=true&resourceVersion=${created.metadata.resourceVersion}&fieldSelector=metadata.name%3Dfin`);
      try {
        await env.custom.deleteNamespacedCustomObject(ref);
        const marked: any = await env.custom.getNamespacedCustomObject(ref);
        expect(marked.metadata.deletionTimestamp).toBeTruthy();
        await waitFor(() => w.events.length >= 1, { message: 'MODIFIED with deletionTimestamp' });
        expect(w.events[0]).toMatchObject({ type: 'MODIFIED', object: { metadata: { name: 'fin' } } });
        expect(w.events[0]!.object.metadata.deletionTimestamp).toBeTruthy();
        // Adding finalizers while deleting is forbidden.
        const add = await expectApiError(() =>
          env.custom.patchNamespacedCustomObject({ ...ref, body: { metadata: { finalizers: ['conformance.visionq.dev/a', 'conformance.visionq.dev/b', 'x.dev/c'] } } }, merge),
        );
        expect(add.code).toBe(422);
        await env.custom.patchNamespacedCustomObject({ ...ref, body: { metadata: { finalizers: ['conformance.visionq.dev/b'] } } }, merge);
        expect((await env.custom.getNamespacedCustomObject(ref) as any).metadata.finalizers).toEqual(['conformance.visionq.dev/b']);
        await env.custom.patchNamespacedCustomObject({ ...ref, body: { metadata: { finalizers: null } } }, merge);
        await waitFor(() => w.events.some((e) => e.type === 'DELETED'), { message: 'DELETED once the finalizers are gone' });
        const err = await expectApiError(() => env.custom.getNamespacedCustomObject(ref));
        expect(err.code).toBe(404);
      } finally {
        w.stop();
      }
    });

    it('garbage-collects objects owned by a deleted owner (background propagation)', async () => {
      const ref = { group: crd.group, version: 'v1', plural: crd.plural, namespace: env.namespace, name: 'owner' };
      const owner: any = await env.custom.createNamespacedCustomObject({ ...ref, body: { apiVersion: `${crd.group}/v1`, kind: crd.kind, metadata: { name: 'owner' }, spec: { size: 1 } } });
      const ownerRef = { apiVersion: `${crd.group}/v1`, kind: crd.kind, name: 'owner', uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
      await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'owned-1', ownerReferences: [ownerRef] } } });
      await env.core.createNamespacedPod({
        namespace: env.namespace,
        body: { metadata: { name: 'owned-pod', ownerReferences: [ownerRef] }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
      });
      await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'not-owned' } } });
      await env.custom.deleteNamespacedCustomObject(ref);
      await waitFor(
        async () => {
          const cm = await env.core.readNamespacedConfigMap({ name: 'owned-1', namespace: env.namespace }).catch((e) => (statusOf(e) === 404 ? undefined : Promise.reject(e)));
          const pod = await env.core.readNamespacedPod({ name: 'owned-pod', namespace: env.namespace }).catch((e) => (statusOf(e) === 404 ? undefined : Promise.reject(e)));
          return cm === undefined && pod === undefined;
        },
        { timeoutMs: 60_000, message: 'dependents garbage-collected' },
      );
      await env.core.readNamespacedConfigMap({ name: 'not-owned', namespace: env.namespace });
    });

    it('orphan propagation keeps dependents and removes their owner reference', async () => {
      const owner = await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'orphan-owner' } } });
      const ownerRef = { apiVersion: 'v1', kind: 'ConfigMap', name: 'orphan-owner', uid: owner.metadata!.uid! };
      await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'orphan-dep', ownerReferences: [ownerRef] } } });
      await env.core.deleteNamespacedConfigMap({ name: 'orphan-owner', namespace: env.namespace, propagationPolicy: 'Orphan' });
      const dep = await waitFor(
        async () => {
          const d = await env.core.readNamespacedConfigMap({ name: 'orphan-dep', namespace: env.namespace });
          return (d.metadata?.ownerReferences ?? []).length === 0 ? d : undefined;
        },
        { timeoutMs: 60_000, message: 'owner reference removed' },
      );
      expect(dep.metadata?.name).toBe('orphan-dep');
    });

    it('DELETE of a bound pod is graceful: deletionTimestamp and grace period first, removal on a zero-grace delete', async () => {
      await env.core.createNamespacedPod({
        namespace: env.namespace,
        body: { metadata: { name: 'graceful' }, spec: { terminationGracePeriodSeconds: 45, containers: [{ name: 'c', image: 'busybox' }] } },
      });
      await env.core.createNamespacedBinding({ namespace: env.namespace, body: { metadata: { name: 'graceful' }, target: { kind: 'Node', name: `ghost-${env.suffix}` } } });
      await env.core.deleteNamespacedPod({ name: 'graceful', namespace: env.namespace });
      const marked = await env.core.readNamespacedPod({ name: 'graceful', namespace: env.namespace });
      expect(marked.metadata?.deletionTimestamp).toBeTruthy();
      expect(marked.metadata?.deletionGracePeriodSeconds).toBe(45);
      await env.core.deleteNamespacedPod({ name: 'graceful', namespace: env.namespace, gracePeriodSeconds: 0 });
      await waitFor(
        async () => env.core.readNamespacedPod({ name: 'graceful', namespace: env.namespace }).then(() => false, (e) => statusOf(e) === 404),
        { timeoutMs: 30_000, message: 'pod removed after zero-grace delete' },
      );
    });

    it('a new namespace gets a default ServiceAccount', async () => {
      await waitFor(
        async () => env.core.readNamespacedServiceAccount({ name: 'default', namespace: env.namespace }).then(() => true, () => false),
        { timeoutMs: 30_000, message: 'default service account' },
      );
    });

    it('deleting a namespace removes its objects and then the namespace', async () => {
      const ns = `${env.namespace}-x`;
      await env.core.createNamespace({ body: { metadata: { name: ns } } });
      await env.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'inside' } } });
      await env.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'inside' } } });
      await env.core.deleteNamespace({ name: ns });
      const terminating = await env.core.readNamespace({ name: ns }).catch(() => undefined);
      if (terminating) expect(terminating.status?.phase).toBe('Terminating');
      const err = await expectApiError(() => env.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'late' } } }));
      expect([403, 404]).toContain(err.code);
      await waitFor(
        async () => env.core.readNamespace({ name: ns }).then(() => false, (e) => statusOf(e) === 404),
        { timeoutMs: 60_000, message: 'namespace gone' },
      );
      const left = await env.core.listConfigMapForAllNamespaces({ fieldSelector: `metadata.namespace=${ns}` });
      expect(left.items.filter((c) => c.metadata?.name === 'inside')).toEqual([]);
    });
  });
}
