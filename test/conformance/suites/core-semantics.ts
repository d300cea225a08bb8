import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupConformance, expectApiError, retryOnConflict, type ConformanceEnv } from '../conformance-env.js';

/** Object metadata, optimistic concurrency, errors with Status bodies, namespaces, selectors, paging. */
export function coreSemanticsSuite(): void {
  describe('conformance: core object semantics', () => {
    let env: ConformanceEnv;
    beforeAll(async () => {
      env = await setupConformance('core');
    });
    afterAll(async () => {
      await env?.cleanup();
    });

    it('sets uid, creationTimestamp and an integer resourceVersion on create; generateName adds a suffix', async () => {
      const cm = await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'meta' }, data: { a: '1' } } });
      expect(cm.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(cm.metadata?.creationTimestamp).toBeInstanceOf(Date);
      expect(cm.metadata?.resourceVersion).toMatch(/^\d+$/);
      const gen = await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { generateName: 'gen-' } } });
      expect(gen.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/);
    });

    it('resourceVersion increases monotonically across resources', async () => {
      const a = await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'mono-a' } } });
      const b = await env.core.createNamespacedSecret({ namespace: env.namespace, body: { metadata: { name: 'mono-b' }, stringData: { k: 'v' } } });
      const c = await env.core.replaceNamespacedConfigMap({ name: 'mono-a', namespace: env.namespace, body: { ...a, data: { x: 'y' } } });
      expect(Number(b.metadata!.resourceVersion)).toBeGreaterThan(Number(a.metadata!.resourceVersion));
      expect(Number(c.metadata!.resourceVersion)).toBeGreaterThan(Number(b.metadata!.resourceVersion));
      expect(b.data?.k).toBe(Buffer.from('v').toString('base64'));
    });

    it('creating an existing name is 409 AlreadyExists', async () => {
      await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'dup' } } });
      const err = await expectApiError(() => env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'dup' } } }));
      expect(err.code).toBe(409);
      expect(err.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'AlreadyExists', code: 409, details: { name: 'dup', kind: 'configmaps' } });
    });

    it('a missing object is 404 NotFound with a Status body', async () => {
      const err = await expectApiError(() => env.core.readNamespacedConfigMap({ name: 'nope', namespace: env.namespace }));
      expect(err.code).toBe(404);
      expect(err.body).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404, details: { name: 'nope', kind: 'configmaps' } });
      expect(err.body.message).toBe('configmaps "nope" not found');
    });

    it('an update with a stale resourceVersion is 409 Conflict; an update without one succeeds', async () => {
      const first = await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'stale' }, data: { v: '1' } } });
      await env.core.replaceNamespacedConfigMap({ name: 'stale', namespace: env.namespace, body: { ...first, data: { v: '2' } } });
      const err = await expectApiError(() => env.core.replaceNamespacedConfigMap({ name: 'stale', namespace: env.namespace, body: { ...first, data: { v: '3' } } }));
      expect(err.code).toBe(409);
      expect(err.body.reason).toBe('Conflict');
      expect(err.body.message).toContain('the object has been modified');
      const unconditional = await env.core.replaceNamespacedConfigMap({
        name: 'stale',
        namespace: env.namespace,
        body: { metadata: { name: 'stale' }, data: { v: '4' } },
      });
      expect(unconditional.data).toEqual({ v: '4' });
    });

    it('concurrent writes: one create and one update per resourceVersion win, the rest conflict', async () => {
      const creates = await Promise.allSettled(
        Array.from({ length: 6 }, () => env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'race' } } })),
      );
      expect(creates.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const base = await env.core.readNamespacedConfigMap({ name: 'race', namespace: env.namespace });
      const updates = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          env.core.replaceNamespacedConfigMap({ name: 'race', namespace: env.namespace, body: { ...base, data: { writer: String(i) } } }),
        ),
      );
      expect(updates.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of updates) if (r.status === 'rejected') expect((r.reason as { code?: number }).code).toBe(409);
    });

    it('namespaced objects need an existing namespace', async () => {
      const err = await expectApiError(() => env.core.createNamespacedConfigMap({ namespace: `missing-${env.suffix}`, body: { metadata: { name: 'x' } } }));
      expect(err.code).toBe(404);
      expect(err.body.details).toMatchObject({ name: `missing-${env.suffix}`, kind: 'namespaces' });
    });

    it('the default namespaces exist', async () => {
      const list = await env.core.listNamespace();
      const names = list.items.map((n) => n.metadata?.name);
      for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) expect(names).toContain(n);
    });

    it('the main endpoint ignores status changes; /status keeps the spec but takes labels (pods)', async () => {
      const pod = await env.core.createNamespacedPod({
        namespace: env.namespace,
        body: { metadata: { name: 'status-sep', labels: { a: '1' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
      });
      expect(pod.status?.phase).toBe('Pending');
      // A real scheduler writes the pod's PodScheduled condition meanwhile: re-read on 409.
      const upd = await retryOnConflict(async () => {
        const cur = await env.core.readNamespacedPod({ name: 'status-sep', namespace: env.namespace });
        return env.core.replaceNamespacedPod({
          name: 'status-sep',
          namespace: env.namespace,
          body: { ...cur, metadata: { ...cur.metadata, labels: { a: '2' } }, status: { phase: 'Running' } },
        });
      });
      expect(upd.metadata?.labels).toEqual({ a: '2' });
      expect(upd.status?.phase).toBe('Pending');
      const st = await retryOnConflict(async () => {
        const cur = await env.core.readNamespacedPod({ name: 'status-sep', namespace: env.namespace });
        return env.core.replaceNamespacedPodStatus({
          name: 'status-sep',
          namespace: env.namespace,
          body: { ...cur, metadata: { ...cur.metadata, labels: { a: '3' } }, status: { ...cur.status, phase: 'Running' } },
        });
      });
      expect(st.status?.phase).toBe('Running');
      // Unlike a custom resource's, a pod's status strategy resets only the spec.
      expect(st.metadata?.labels).toEqual({ a: '3' });
      expect(st.spec?.containers.map((c) => c.image)).toEqual(['busybox']);
    });

    it('lists with label selectors (=, !=, in, notin, exists, !exists)', async () => {
      const mk = (name: string, labels: Record<string, string>) =>
        env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name, labels: { suite: 'sel', ...labels } } } });
      await mk('sel-1', { tier: 'gpu', zone: 'a' });
      await mk('sel-2', { tier: 'cpu', zone: 'b' });
      await mk('sel-3', { tier: 'gpu', zone: 'c', spot: 'true' });
      const names = async (labelSelector: string) =>
        (await env.core.listNamespacedConfigMap({ namespace: env.namespace, labelSelector })).items.map((i) => i.metadata?.name).sort();
      expect(await names('suite=sel,tier=gpu')).toEqual(['sel-1', 'sel-3']);
      expect(await names('suite=sel,tier!=gpu')).toEqual(['sel-2']);
      expect(await names('suite=sel,zone in (a,b)')).toEqual(['sel-1', 'sel-2']);
      expect(await names('suite=sel,zone notin (a,b)')).toEqual(['sel-3']);
      expect(await names('suite=sel,spot')).toEqual(['sel-3']);
      expect(await names('suite=sel,!spot')).toEqual(['sel-1', 'sel-2']);
    });

    it('lists with field selectors: metadata.name, metadata.namespace, spec.nodeName, status.phase', async () => {
      const mkPod = (name: string) =>
        env.core.createNamespacedPod({ namespace: env.namespace, body: { metadata: { name, labels: { suite: 'fields' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
      await mkPod('fs-a');
      await mkPod('fs-b');
      await env.core.createNamespacedBinding({ namespace: env.namespace, body: { metadata: { name: 'fs-b' }, target: { kind: 'Node', name: `node-${env.suffix}` } } });
      const names = async (fieldSelector: string) =>
        (await env.core.listNamespacedPod({ namespace: env.namespace, fieldSelector, labelSelector: 'suite=fields' })).items.map((i) => i.metadata?.name).sort();
      expect(await names('metadata.name=fs-a')).toEqual(['fs-a']);
      expect(await names(`metadata.namespace=${env.namespace}`)).toEqual(['fs-a', 'fs-b']);
      expect(await names(`spec.nodeName=node-${env.suffix}`)).toEqual(['fs-b']);
      expect(await names('spec.nodeName=')).toEqual(['fs-a']);
      expect(await names('status.phase=Pending')).toEqual(['fs-a', 'fs-b']);
      const all = await env.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=node-${env.suffix}` });
      expect(all.items.map((p) => p.metadata?.name)).toEqual(['fs-b']);
      const bound = await env.core.readNamespacedPod({ name: 'fs-b', namespace: env.namespace });
      expect(bound.spec?.nodeName).toBe(`node-${env.suffix}`);
    });

    it('spec.nodeName is only set through binding, once', async () => {
      await env.core.createNamespacedPod({ namespace: env.namespace, body: { metadata: { name: 'bind-once' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
      await env.core.createNamespacedBinding({ namespace: env.namespace, body: { metadata: { name: 'bind-once' }, target: { kind: 'Node', name: 'n1' } } });
      const again = await expectApiError(() =>
        env.core.createNamespacedBinding({ namespace: env.namespace, body: { metadata: { name: 'bind-once' }, target: { kind: 'Node', name: 'n2' } } }),
      );
      expect(again.code).toBe(409);
      const pod = await env.core.readNamespacedPod({ name: 'bind-once', namespace: env.namespace });
      const moved = await expectApiError(() =>
        env.core.replaceNamespacedPod({ name: 'bind-once', namespace: env.namespace, body: { ...pod, spec: { ...pod.spec!, nodeName: 'n2' } } }),
      );
      expect(moved.code).toBe(422);
    });

    it('finds events by involvedObject field selectors', async () => {
      const cm = await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'ev-target' } } });
      const involvedObject = { kind: 'ConfigMap', name: 'ev-target', namespace: env.namespace, uid: cm.metadata!.uid, apiVersion: 'v1' };
      await env.core.createNamespacedEvent({
        namespace: env.namespace,
        body: { metadata: { generateName: 'ev-target.' }, involvedObject, reason: 'Tested', message: 'hello', type: 'Normal', source: { component: 'conformance' } },
      });
      await env.core.createNamespacedEvent({
        namespace: env.namespace,
        body: { metadata: { generateName: 'other.' }, involvedObject: { ...involvedObject, name: 'other', uid: 'x' }, reason: 'Other', message: 'nope', type: 'Normal' },
      });
      const list = await env.core.listNamespacedEvent({
        namespace: env.namespace,
        fieldSelector: `involvedObject.name=ev-target,involvedObject.namespace=${env.namespace},involvedObject.kind=ConfigMap,involvedObject.uid=${cm.metadata!.uid}`,
      });
      expect(list.items.map((e) => e.reason)).toEqual(['Tested']);
    });

    it('pages lists with limit and continue', async () => {
      for (let i = 0; i < 5; i++) {
        await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: `page-${i}`, labels: { suite: 'page' } } } });
      }
      const seen: string[] = [];
      let cont: string | undefined;
      let pages = 0;
      do {
        const page = await env.core.listNamespacedConfigMap({ namespace: env.namespace, labelSelector: 'suite=page', limit: 2, _continue: cont });
        pages++;
        expect(page.items.length).toBeLessThanOrEqual(2);
        expect(page.metadata?.resourceVersion).toMatch(/^\d+$/);
        seen.push(...page.items.map((i) => i.metadata!.name!));
        cont = page.metadata?._continue || undefined;
      } while (cont);
      expect(pages).toBe(3);
      expect(seen.sort()).toEqual(['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    });

    it('deletes an unbound pod at once', async () => {
      await env.core.createNamespacedPod({ namespace: env.namespace, body: { metadata: { name: 'unbound' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
      await env.core.deleteNamespacedPod({ name: 'unbound', namespace: env.namespace });
      const err = await expectApiError(() => env.core.readNamespacedPod({ name: 'unbound', namespace: env.namespace }));
      expect(err.code).toBe(404);
    });
  });
}
