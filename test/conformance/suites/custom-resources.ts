import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupConformance, expectApiError, type ConformanceEnv } from '../conformance-env.js';
import { installWidgetCrd, removeWidgetCrd, widgetCrd, type WidgetCrd } from '../widget-crd.js';
import { waitFor } from '../../helpers/wait-for.js';

/** CRDs: serving, schema validation (422 naming the field), fieldValidation, defaults, generation, status subresource. */
export function customResourcesSuite(): void {
  describe('conformance: custom resources', () => {
    let env: ConformanceEnv;
    let crd: WidgetCrd;
    let cluster: WidgetCrd;
    let path: string;
    const widget = (name: string, spec: Record<string, unknown>) => ({ apiVersion: `${crd.group}/v1`, kind: crd.kind, metadata: { name }, spec });
    beforeAll(async () => {
      env = await setupConformance('cr');
      crd = widgetCrd(env.suffix);
      cluster = widgetCrd(env.suffix, 'Cluster');
      await installWidgetCrd(env, crd);
      await installWidgetCrd(env, cluster);
      path = `/apis/${crd.group}/v1/namespaces/${env.namespace}/${crd.plural}`;
    });
    afterAll(async () => {
      if (env) {
        await removeWidgetCrd(env, crd);
        await removeWidgetCrd(env, cluster);
      }
      await env?.cleanup();
    });

    it('an established CRD is served and listed in discovery with its status subresource', async () => {
      const got = await env.ext.readCustomResourceDefinition({ name: crd.name });
      const types = Object.fromEntries((got.status?.conditions ?? []).map((c) => [c.type, c.status]));
      expect(types).toMatchObject({ Established: 'True', NamesAccepted: 'True' });
      const res = await env.raw.request({ path: `/apis/${crd.group}/v1` });
      const names = res.json().resources.map((r: any) => r.name);
      expect(names).toEqual(expect.arrayContaining([crd.plural, `${crd.plural}/status`, cluster.plural]));
      const entry = res.json().resources.find((r: any) => r.name === crd.plural);
      expect(entry).toMatchObject({ kind: crd.kind, namespaced: true, shortNames: [`wd${env.suffix}`] });
      expect(res.json().resources.find((r: any) => r.name === cluster.plural).namespaced).toBe(false);
    });

    it('rejects a schema violation with 422 Invalid naming the field', async () => {
      const res = await env.raw.request({ method: 'POST', path, body: widget('bad-size', { size: 0 }) });
      expect(res.status).toBe(422);
      const status = res.json();
      expect(status).toMatchObject({ kind: 'Status', reason: 'Invalid', code: 422, details: { name: 'bad-size', group: crd.group, kind: crd.kind } });
      expect(status.message).toContain('spec.size');
      expect(status.message).toContain(`${crd.kind}.${crd.group} "bad-size" is invalid`);
      expect(status.details.causes).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'spec.size' })]));
    });

    it('rejects a missing required field and a bad enum value, naming both', async () => {
      const res = await env.raw.request({ method: 'POST', path, body: widget('bad-two', { mode: 'warp' }) });
      expect(res.status).toBe(422);
      const fields = res.json().details.causes.map((c: any) => c.field);
      expect(fields).toEqual(expect.arrayContaining(['spec.size', 'spec.mode']));
    });

    it('enforces x-kubernetes-validations CEL rules with their message', async () => {
      const res = await env.raw.request({ method: 'POST', path, body: widget('unlucky', { size: 13 }) });
      expect(res.status).toBe(422);
      expect(res.json().message).toContain('size 13 is unlucky');
    });

    it('fieldValidation=Strict rejects unknown fields by name; Warn warns; Ignore prunes', async () => {
      const strict = await env.raw.request({ method: 'POST', path: `${path}?fieldValidation=Strict`, body: widget('strict', { size: 1, colour: 'red' }) });
      expect(strict.status).toBe(400);
      expect(strict.json().message).toContain('unknown field "spec.colour"');
      const warn = await env.raw.request({ method: 'POST', path: `${path}?fieldValidation=Warn`, body: widget('warn', { size: 1, colour: 'red' }) });
      expect(warn.status).toBe(201);
      expect(String(warn.headers.warning)).toContain('spec.colour');
      expect(warn.json().spec.colour).toBeUndefined();
      const ignore = await env.raw.request({ method: 'POST', path: `${path}?fieldValidation=Ignore`, body: widget('ignore', { size: 1, colour: 'red' }) });
      expect(ignore.status).toBe(201);
      expect(ignore.headers.warning).toBeUndefined();
      expect(ignore.json().spec).toEqual({ size: 1, pool: 'default-pool' });
    });

    it('applies schema defaults on create', async () => {
      const res = await env.raw.request({ method: 'POST', path, body: widget('defaults', { size: 2 }) });
      expect(res.status).toBe(201);
      expect(res.json().spec).toEqual({ size: 2, pool: 'default-pool' });
    });

    it('sets generation 1 on create and bumps it only when the spec changes', async () => {
      const ref = { group: crd.group, version: 'v1', plural: crd.plural, namespace: env.namespace, name: 'gen' };
      const created: any = await env.custom.createNamespacedCustomObject({ ...ref, body: widget('gen', { size: 1 }) });
      expect(created.metadata.generation).toBe(1);
      const labelled: any = await env.custom.replaceNamespacedCustomObject({ ...ref, body: { ...created, metadata: { ...created.metadata, labels: { a: 'b' } } } });
      expect(labelled.metadata.generation).toBe(1);
      const withStatus: any = await env.custom.replaceNamespacedCustomObjectStatus({ ...ref, body: { ...labelled, status: { phase: 'Running' } } });
      expect(withStatus.metadata.generation).toBe(1);
      const respecced: any = await env.custom.replaceNamespacedCustomObject({ ...ref, body: { ...withStatus, spec: { ...withStatus.spec, size: 9 } } });
      expect(respecced.metadata.generation).toBe(2);
      expect(respecced.status).toEqual({ phase: 'Running' });
    });

    it('the main endpoint ignores status and drops it on create; /status ignores everything else', async () => {
      const ref = { group: crd.group, version: 'v1', plural: crd.plural, namespace: env.namespace, name: 'sep' };
      const created: any = await env.custom.createNamespacedCustomObject({ ...ref, body: { ...widget('sep', { size: 1 }), status: { phase: 'Done' } } });
      expect(created.status).toBeUndefined();
      const main: any = await env.custom.replaceNamespacedCustomObject({ ...ref, body: { ...created, status: { phase: 'Done' } } });
      expect(main.status).toBeUndefined();
      const st: any = await env.custom.replaceNamespacedCustomObjectStatus({ ...ref, body: { ...main, spec: { size: 77 }, status: { phase: 'Running' } } });
      expect(st.status).toEqual({ phase: 'Running' });
      expect(st.spec.size).toBe(1);
    });

    it('validates updates too (status schema included) with 422', async () => {
      const ref = { group: crd.group, version: 'v1', plural: crd.plural, namespace: env.namespace, name: 'upd' };
      const created: any = await env.custom.createNamespacedCustomObject({ ...ref, body: widget('upd', { size: 1 }) });
      const err = await expectApiError(() => env.custom.replaceNamespacedCustomObject({ ...ref, body: { ...created, spec: { size: 1000 } } }));
      expect(err.code).toBe(422);
      expect(err.body.details.causes[0].field).toBe('spec.size');
      const bad = await env.raw.request({
        method: 'PATCH',
        path: `${path}/upd/status`,
        contentType: 'application/merge-patch+json',
        body: { status: { progress: { percent: 'lots' } } },
      });
      expect(bad.status).toBe(422);
      expect(bad.json().message).toContain('status.progress.percent');
    });

    it('serves cluster-scoped custom resources', async () => {
      const ref = { group: cluster.group, version: 'v1', plural: cluster.plural, name: `cw-${env.suffix}` };
      const created: any = await env.custom.createClusterCustomObject({ ...ref, body: { apiVersion: `${cluster.group}/v1`, kind: cluster.kind, metadata: { name: ref.name }, spec: { size: 3 } } });
      expect(created.metadata.namespace).toBeUndefined();
      const list: any = await env.custom.listClusterCustomObject({ group: cluster.group, version: 'v1', plural: cluster.plural });
      expect(list.items.map((i: any) => i.metadata.name)).toContain(ref.name);
      await env.custom.deleteClusterCustomObject(ref);
    });

    it('deleting a CRD stops serving its resources', async () => {
      const temp = widgetCrd(`${env.suffix}t`);
      await installWidgetCrd(env, temp);
      await env.custom.createNamespacedCustomObject({
        group: temp.group,
        version: 'v1',
        plural: temp.plural,
        namespace: env.namespace,
        body: { apiVersion: `${temp.group}/v1`, kind: temp.kind, metadata: { name: 'gone' }, spec: { size: 1 } },
      });
      const w = await env.raw.watch(`/apis/${temp.group}/v1/namespaces/${env.namespace}/${temp.plural}?watch=true`);
      await waitFor(() => w.events.length >= 1, { message: 'initial ADDED' });
      await removeWidgetCrd(env, temp);
      await waitFor(() => w.ended, { timeoutMs: 30_000, message: 'watch on the removed resource ends' });
      await waitFor(async () => (await env.raw.request({ path: `/apis/${temp.group}/v1/namespaces/${env.namespace}/${temp.plural}` })).status === 404, {
        timeoutMs: 30_000,
        message: 'resource no longer served',
      });
    });
  });
}
