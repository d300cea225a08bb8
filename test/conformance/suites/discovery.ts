import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupConformance, type ConformanceEnv } from '../conformance-env.js';
import { installWidgetCrd, removeWidgetCrd, widgetCrd, type WidgetCrd } from '../widget-crd.js';
import { waitFor } from '../../helpers/wait-for.js';

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

/** /version, /api, /apis, per group-version resource lists, OpenAPI v3 and Table responses. */
export function discoverySuite(): void {
  describe('conformance: discovery, OpenAPI and tables', () => {
    let env: ConformanceEnv;
    let crd: WidgetCrd;
    beforeAll(async () => {
      env = await setupConformance('disc');
      crd = widgetCrd(env.suffix);
      await installWidgetCrd(env, crd);
    });
    afterAll(async () => {
      if (env) await removeWidgetCrd(env, crd);
      await env?.cleanup();
    });

    it('/version reports a v1.x gitVersion', async () => {
      const v = (await env.raw.request({ path: '/version' })).json();
      expect(v.major).toBe('1');
      expect(v.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    });

    it('/api and /apis list the core version and the groups', async () => {
      expect((await env.raw.request({ path: '/api' })).json()).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
      const groups = (await env.raw.request({ path: '/apis' })).json();
      expect(groups.kind).toBe('APIGroupList');
      const names = groups.groups.map((g: any) => g.name);
      expect(names).toEqual(expect.arrayContaining(['apiextensions.k8s.io', 'coordination.k8s.io', crd.group]));
      const mine = groups.groups.find((g: any) => g.name === crd.group);
      expect(mine.preferredVersion).toEqual({ groupVersion: `${crd.group}/v1`, version: 'v1' });
    });

    it('answers an aggregated-discovery Accept with a legacy list when the client allows the fallback', async () => {
      const res = await env.raw.request({
        path: '/apis',
        accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
      });
      expect(res.status).toBe(200);
      expect(['APIGroupList', 'APIGroupDiscoveryList']).toContain(res.json().kind);
    });

    it('/api/v1 lists resources with verbs, short names and subresources', async () => {
      const list = (await env.raw.request({ path: '/api/v1' })).json();
      const byName = Object.fromEntries(list.resources.map((r: any) => [r.name, r]));
      for (const n of ['pods', 'pods/status', 'pods/log', 'pods/binding', 'nodes', 'nodes/status', 'namespaces', 'events', 'configmaps', 'secrets', 'serviceaccounts', 'services']) {
        expect(byName[n], n).toBeDefined();
      }
      expect(byName.pods).toMatchObject({ kind: 'Pod', namespaced: true, shortNames: ['po'] });
      expect(byName.pods.verbs).toEqual(expect.arrayContaining(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']));
      expect(byName.nodes.namespaced).toBe(false);
      const leases = (await env.raw.request({ path: '/apis/coordination.k8s.io/v1' })).json();
      expect(leases.resources.map((r: any) => r.name)).toContain('leases');
    });

    it('OpenAPI v3 indexes every group-version and serves the CRD schema with its GVK', async () => {
      // A real apiserver publishes a new CRD's OpenAPI asynchronously, seconds after Established.
      const index = await waitFor(async () => {
        const idx = (await env.raw.request({ path: '/openapi/v3' })).json();
        return idx.paths?.[`apis/${crd.group}/v1`] ? idx : undefined;
      }, { timeoutMs: 30_000, message: `OpenAPI v3 index lists apis/${crd.group}/v1` });
      expect(Object.keys(index.paths)).toEqual(expect.arrayContaining(['api/v1', 'apis/apiextensions.k8s.io/v1', `apis/${crd.group}/v1`]));
      const doc = (await env.raw.request({ path: index.paths[`apis/${crd.group}/v1`].serverRelativeURL })).json();
      const schemas = Object.values(doc.components.schemas) as any[];
      const widget = schemas.find((s) => (s['x-kubernetes-group-version-kind'] ?? []).some((g: any) => g.kind === crd.kind && g.group === crd.group));
      expect(widget).toBeDefined();
      expect(widget.properties.spec.properties.size.type).toBe('integer');
      const core = (await env.raw.request({ path: index.paths['api/v1'].serverRelativeURL })).json();
      const kinds = (Object.values(core.components.schemas) as any[]).flatMap((s) => (s['x-kubernetes-group-version-kind'] ?? []).map((g: any) => g.kind));
      expect(kinds).toEqual(expect.arrayContaining(['Pod', 'ConfigMap', 'Namespace']));
    });

    it('returns Tables with the CRD printer columns evaluated', async () => {
      const base = `/apis/${crd.group}/v1/namespaces/${env.namespace}/${crd.plural}`;
      const created = await env.raw.request({ method: 'POST', path: base, body: { apiVersion: `${crd.group}/v1`, kind: crd.kind, metadata: { name: 'tbl' }, spec: { size: 1, pool: 'gpu-a' } } });
      expect(created.status).toBe(201);
      const st = await env.raw.request({ method: 'PATCH', path: `${base}/tbl/status`, contentType: 'application/merge-patch+json', body: { status: { phase: 'Running', progress: { percent: 42 } } } });
      expect(st.status).toBe(200);
      const table = (await env.raw.request({ path: base, accept: TABLE })).json();
      expect(table.kind).toBe('Table');
      const cols = table.columnDefinitions.map((c: any) => c.name);
      expect(cols).toEqual(['Name', 'Pool', 'Phase', 'Percent', 'Age']);
      expect(table.rows).toHaveLength(1);
      expect(table.rows[0].cells.slice(0, 4)).toEqual(['tbl', 'gpu-a', 'Running', 42]);
      const one = (await env.raw.request({ path: `${base}/tbl`, accept: TABLE })).json();
      expect(one.kind).toBe('Table');
      expect(one.rows[0].cells[0]).toBe('tbl');
    });

    it('returns pod Tables with Name, Ready, Status, Restarts, Age and a wide Node column', async () => {
      await env.core.createNamespacedPod({ namespace: env.namespace, body: { metadata: { name: 'tbl-pod' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
      const table = (await env.raw.request({ path: `/api/v1/namespaces/${env.namespace}/pods`, accept: TABLE })).json();
      const cols = table.columnDefinitions.map((c: any) => c.name);
      expect(cols.slice(0, 5)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age']);
      expect(cols).toContain('Node');
      const row = table.rows.find((r: any) => r.cells[0] === 'tbl-pod');
      expect(row.cells[1]).toBe('0/1');
      expect(row.cells[2]).toBe('Pending');
    });
  });
}
