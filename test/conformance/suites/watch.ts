import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupConformance, type ConformanceEnv } from '../conformance-env.js';
import { waitFor } from '../../helpers/wait-for.js';

/** Watch from a resourceVersion, selector-filtered watches, bookmarks, timeouts and 410 Expired. */
export function watchSuite(): void {
  describe('conformance: watch', () => {
    let env: ConformanceEnv;
    let base: string;
    beforeAll(async () => {
      // A short sandbox history so that old resourceVersions expire quickly (real clusters compact on their own).
      env = await setupConformance('watch', { eventLogLimit: 40 });
      base = `/api/v1/namespaces/${env.namespace}/configmaps`;
    });
    afterAll(async () => {
      await env?.cleanup();
    });

    it('replays changes after a resourceVersion: ADDED, MODIFIED, DELETED with the final object', async () => {
      const start = await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'w-start', labels: { suite: 'replay' } } } });
      const rv = start.metadata!.resourceVersion!;
      const created = await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'w-1', labels: { suite: 'replay' } }, data: { v: '1' } } });
      await env.core.replaceNamespacedConfigMap({ name: 'w-1', namespace: env.namespace, body: { ...created, data: { v: '2' } } });
      await env.core.deleteNamespacedConfigMap({ name: 'w-1', namespace: env.namespace });
      // The stream starts after all three changes happened: they come from history.
      const w = await env.raw.watch(`${base}?watch=true&resourceVersion=${rv}&labelSelector=suite%3Dreplay`);
      try {
        expect(w.status).toBe(200);
        await waitFor(() => w.events.length >= 3, { message: 'three replayed events' });
        expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
        expect(w.events[1]!.object.data).toEqual({ v: '2' });
        const deleted = w.events[2]!.object;
        expect(deleted.metadata.name).toBe('w-1');
        expect(deleted.data).toEqual({ v: '2' });
        const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
        expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
        expect(rvs[0]).toBeGreaterThan(Number(rv));
      } finally {
        w.stop();
      }
    });

    it('without a resourceVersion starts with ADDED for existing objects, then live changes', async () => {
      await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'live-a', labels: { suite: 'live' } } } });
      const w = await env.raw.watch(`${base}?watch=true&labelSelector=suite%3Dlive`);
      try {
        await waitFor(() => w.events.length >= 1, { message: 'initial ADDED' });
        expect(w.events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'live-a' } } });
        await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'live-b', labels: { suite: 'live' } } } });
        await waitFor(() => w.events.some((e) => e.type === 'ADDED' && e.object.metadata.name === 'live-b'), { message: 'live ADDED' });
      } finally {
        w.stop();
      }
    });

    it('a label-selected watch sees an object that stops matching as DELETED', async () => {
      const cm = await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'sel-w', labels: { suite: 'selw', on: 'yes' } } } });
      const w = await env.raw.watch(`${base}?watch=true&resourceVersion=${cm.metadata!.resourceVersion}&labelSelector=suite%3Dselw,on%3Dyes`);
      try {
        await env.core.replaceNamespacedConfigMap({ name: 'sel-w', namespace: env.namespace, body: { ...cm, metadata: { ...cm.metadata, labels: { suite: 'selw', on: 'no' } } } });
        await waitFor(() => w.events.length >= 1, { message: 'DELETED for a no-longer-matching object' });
        expect(w.events[0]).toMatchObject({ type: 'DELETED', object: { metadata: { name: 'sel-w' } } });
      } finally {
        w.stop();
      }
    });

    it('watches a single object by name with a field selector', async () => {
      const a = await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'one-a' } } });
      const w = await env.raw.watch(`${base}?watch=true&resourceVersion=${a.metadata!.resourceVersion}&fieldSelector=metadata.name%3Done-a`);
      try {
        await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'one-b' } } });
        await env.core.replaceNamespacedConfigMap({ name: 'one-a', namespace: env.namespace, body: { ...a, data: { x: '1' } } });
        await waitFor(() => w.events.length >= 1, { message: 'MODIFIED one-a' });
        expect(w.events.map((e) => `${e.type}/${e.object.metadata.name}`)).toEqual(['MODIFIED/one-a']);
      } finally {
        w.stop();
      }
    });

    it('sends BOOKMARK events when allowWatchBookmarks is set', async () => {
      const cm = await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'bm' } } });
      const w = await env.raw.watch(`${base}?watch=true&allowWatchBookmarks=true&resourceVersion=${cm.metadata!.resourceVersion}&timeoutSeconds=70`);
      try {
        const bm = await waitFor(() => w.events.find((e) => e.type === 'BOOKMARK'), { timeoutMs: 75_000, message: 'a BOOKMARK event' });
        expect(bm.object.kind).toBe('ConfigMap');
        expect(Number(bm.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(cm.metadata!.resourceVersion));
      } finally {
        w.stop();
      }
    });

    it('ends the stream after timeoutSeconds', async () => {
      const w = await env.raw.watch(`${base}?watch=true&timeoutSeconds=1&resourceVersion=${(await env.core.listNamespacedConfigMap({ namespace: env.namespace })).metadata!.resourceVersion}`);
      await waitFor(() => w.ended, { timeoutMs: 15_000, message: 'stream ended by timeoutSeconds' });
    });

    it('a compacted resourceVersion gives 410 Expired; relisting gives a resourceVersion to watch from', async () => {
      const first = await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'old-rv' } } });
      // Push history past the old resourceVersion (the sandbox keeps 40 changes; real clusters compact rv 1 long ago).
      for (let i = 0; i < 45; i++) {
        await env.core.replaceNamespacedConfigMap({ name: 'old-rv', namespace: env.namespace, body: { metadata: { name: 'old-rv' }, data: { i: String(i) } } });
      }
      const oldRv = env.sandbox ? first.metadata!.resourceVersion! : '1';
      const w = await env.raw.watch(`${base}?watch=true&resourceVersion=${oldRv}`);
      try {
        await waitFor(() => w.ended || w.events.length > 0 || w.status === 410, { message: 'an expired answer' });
        if (w.status === 410) {
          await waitFor(() => w.ended);
          expect(JSON.parse(w.body || JSON.stringify(w.events[0] ?? {}))).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
        } else {
          expect(w.status).toBe(200);
          expect(w.events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
        }
      } finally {
        w.stop();
      }
      const list = await env.core.listNamespacedConfigMap({ namespace: env.namespace });
      const fresh = await env.raw.watch(`${base}?watch=true&resourceVersion=${list.metadata!.resourceVersion}`);
      try {
        await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'after-relist' } } });
        await waitFor(() => fresh.events.some((e) => e.type === 'ADDED' && e.object.metadata.name === 'after-relist'), { message: 'watch after relist' });
        expect(fresh.events.every((e) => e.type !== 'ERROR')).toBe(true);
      } finally {
        fresh.stop();
      }
    });
  });
}
