import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { setupConformance, expectApiError, type ConformanceEnv } from '../conformance-env.js';
import { installWidgetCrd, removeWidgetCrd, widgetCrd, type WidgetCrd } from '../widget-crd.js';

const as = (strategy: PatchStrategy) => setHeaderOptions('Content-Type', strategy);

/** Merge, JSON, strategic merge patches and server-side apply. */
export function patchSuite(): void {
  describe('conformance: patches', () => {
    let env: ConformanceEnv;
    let crd: WidgetCrd;
    beforeAll(async () => {
      env = await setupConformance('patch');
      crd = widgetCrd(env.suffix);
      await installWidgetCrd(env, crd);
    });
    afterAll(async () => {
      if (env) await removeWidgetCrd(env, crd);
      await env?.cleanup();
    });

    it('merge patch sets and removes (null) keys', async () => {
      await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'mp' }, data: { a: '1', b: '2' } } });
      const out = await env.core.patchNamespacedConfigMap({ name: 'mp', namespace: env.namespace, body: { data: { b: null, c: '3' } } }, as(PatchStrategy.MergePatch));
      expect(out.data).toEqual({ a: '1', c: '3' });
    });

    it('JSON patch applies operations; a failing test op is rejected', async () => {
      await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'jp', labels: { x: '1' } }, data: { a: '1' } } });
      const out = await env.core.patchNamespacedConfigMap(
        {
          name: 'jp',
          namespace: env.namespace,
          body: [
            { op: 'test', path: '/data/a', value: '1' },
            { op: 'add', path: '/data/b', value: '2' },
            { op: 'replace', path: '/metadata/labels/x', value: '2' },
            { op: 'remove', path: '/data/a' },
          ],
        },
        as(PatchStrategy.JsonPatch),
      );
      expect(out.data).toEqual({ b: '2' });
      expect(out.metadata?.labels).toEqual({ x: '2' });
      const err = await expectApiError(() =>
        env.core.patchNamespacedConfigMap({ name: 'jp', namespace: env.namespace, body: [{ op: 'test', path: '/data/b', value: 'nope' }] }, as(PatchStrategy.JsonPatch)),
      );
      expect([422, 500]).toContain(err.code);
    });

    it('strategic merge patch merges containers by name; a pod\'s spec is otherwise immutable', async () => {
      await env.core.createNamespacedPod({
        namespace: env.namespace,
        body: {
          metadata: { name: 'smp' },
          spec: {
            containers: [
              { name: 'a', image: 'img:1', env: [{ name: 'X', value: '1' }, { name: 'Y', value: '2' }] },
              { name: 'b', image: 'img:1' },
            ],
          },
        },
      });
      const out = await env.core.patchNamespacedPod(
        { name: 'smp', namespace: env.namespace, body: { spec: { containers: [{ name: 'a', image: 'img:2' }] } } },
        as(PatchStrategy.StrategicMergePatch),
      );
      const containers = out.spec!.containers;
      expect(containers.map((c) => `${c.name}:${c.image}`)).toEqual(['a:img:2', 'b:img:1']);
      expect(containers[0]!.env).toEqual([
        { name: 'X', value: '1' },
        { name: 'Y', value: '2' },
      ]);
      // Changing anything but images (here: an env value, merged by name) is refused.
      const err = await expectApiError(() =>
        env.core.patchNamespacedPod(
          { name: 'smp', namespace: env.namespace, body: { spec: { containers: [{ name: 'a', env: [{ name: 'Y', value: '3' }] }] } } },
          as(PatchStrategy.StrategicMergePatch),
        ),
      );
      expect(err.code).toBe(422);
      expect(err.body.details.causes).toEqual(expect.arrayContaining([expect.objectContaining({ reason: 'FieldValueForbidden', field: 'spec' })]));
    });

    it('strategic merge patch on a custom resource is 415', async () => {
      await env.custom.createNamespacedCustomObject({ group: crd.group, version: crd.version, plural: crd.plural, namespace: env.namespace, body: { apiVersion: `${crd.group}/v1`, kind: crd.kind, metadata: { name: 'smp-cr' }, spec: { size: 1 } } });
      const err = await expectApiError(() =>
        env.custom.patchNamespacedCustomObject(
          { group: crd.group, version: crd.version, plural: crd.plural, namespace: env.namespace, name: 'smp-cr', body: { spec: { size: 2 } } },
          as(PatchStrategy.StrategicMergePatch),
        ),
      );
      expect(err.code).toBe(415);
    });

    it('a patch carrying a stale resourceVersion is 409 Conflict', async () => {
      const cm = await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'stale-patch' }, data: { a: '1' } } });
      await env.core.patchNamespacedConfigMap({ name: 'stale-patch', namespace: env.namespace, body: { data: { a: '2' } } }, as(PatchStrategy.MergePatch));
      const err = await expectApiError(() =>
        env.core.patchNamespacedConfigMap(
          { name: 'stale-patch', namespace: env.namespace, body: { metadata: { resourceVersion: cm.metadata!.resourceVersion }, data: { a: '3' } } },
          as(PatchStrategy.MergePatch),
        ),
      );
      expect(err.code).toBe(409);
      expect(err.body.reason).toBe('Conflict');
    });

    it('server-side apply creates a missing custom resource and then updates it', async () => {
      const ref = { group: crd.group, version: crd.version, plural: crd.plural, namespace: env.namespace, name: 'ssa' };
      const body = { apiVersion: `${crd.group}/v1`, kind: crd.kind, metadata: { name: 'ssa', labels: { by: 'ssa' } }, spec: { size: 4, tags: ['a'] } };
      const created: any = await env.custom.patchNamespacedCustomObject({ ...ref, body, fieldManager: 'conformance', force: true }, as(PatchStrategy.ServerSideApply));
      expect(created.spec).toMatchObject({ size: 4, tags: ['a'], pool: 'default-pool' });
      const updated: any = await env.custom.patchNamespacedCustomObject(
        { ...ref, body: { ...body, spec: { size: 5, tags: ['b'] } }, fieldManager: 'conformance', force: true },
        as(PatchStrategy.ServerSideApply),
      );
      expect(updated.spec.size).toBe(5);
      expect(updated.spec.tags).toEqual(['b']);
      expect(updated.metadata.generation).toBe(2);
      // Fields the manager stops applying are removed; defaulted fields stay.
      const pruned: any = await env.custom.patchNamespacedCustomObject(
        { ...ref, body: { apiVersion: body.apiVersion, kind: body.kind, metadata: { name: 'ssa' }, spec: { size: 5 } }, fieldManager: 'conformance', force: true },
        as(PatchStrategy.ServerSideApply),
      );
      expect(pruned.spec).toEqual({ size: 5, pool: 'default-pool' });
      expect(pruned.metadata.labels ?? {}).toEqual({});
    });

    it('merge patch of /status changes only status', async () => {
      const ref = { group: crd.group, version: crd.version, plural: crd.plural, namespace: env.namespace, name: 'status-patch' };
      await env.custom.createNamespacedCustomObject({ ...ref, body: { apiVersion: `${crd.group}/v1`, kind: crd.kind, metadata: { name: 'status-patch' }, spec: { size: 1 } } });
      const out: any = await env.custom.patchNamespacedCustomObjectStatus(
        { ...ref, body: { spec: { size: 50 }, status: { phase: 'Running', progress: { percent: 10 } } } },
        as(PatchStrategy.MergePatch),
      );
      expect(out.status).toEqual({ phase: 'Running', progress: { percent: 10 } });
      expect(out.spec.size).toBe(1);
      expect(out.metadata.generation).toBe(1);
    });
  });
}
