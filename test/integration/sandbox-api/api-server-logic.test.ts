import { describe, expect, it } from 'vitest';
import { jsonPatch, mergePatch, strategicMergePatch } from '../../../src/sandbox/api-server/storage/patch.js';
import { parseFieldSelector, parseLabelSelector } from '../../../src/sandbox/api-server/storage/selectors.js';
import { evalJsonPath } from '../../../src/sandbox/api-server/http/jsonpath.js';
import { ObjectStore } from '../../../src/sandbox/api-server/storage/store.js';
import { humanAge } from '../../../src/sandbox/api-server/http/table.js';

// Pure logic of the sandbox API server, without HTTP.
describe('sandbox api server logic', () => {
  it('label selectors: equality, sets, existence, and parse errors', () => {
    const obj = (labels: Record<string, string>) => ({ metadata: { labels } });
    const m = parseLabelSelector('a=b,c!=d,e in (x, y),!f,g');
    expect(m(obj({ a: 'b', e: 'y', g: '' }))).toBe(true);
    expect(m(obj({ a: 'b', c: 'd', e: 'y', g: '1' }))).toBe(false);
    expect(m(obj({ a: 'b', e: 'z', g: '1' }))).toBe(false);
    expect(m(obj({ a: 'b', e: 'x', f: '1', g: '1' }))).toBe(false);
    expect(m(obj({ a: 'b', e: 'x' }))).toBe(false);
    expect(parseLabelSelector('a notin (x)')(obj({}))).toBe(true);
    expect(parseLabelSelector('a==b')(obj({ a: 'b' }))).toBe(true);
    expect(() => parseLabelSelector('a in x')).toThrow(/unable to parse/);
  });

  it('field selectors: supported fields per kind, != and empty values; unknown fields are rejected', () => {
    const pod = { metadata: { name: 'p', namespace: 'n' }, spec: { nodeName: 'node-1' }, status: { phase: 'Running' } };
    expect(parseFieldSelector('spec.nodeName=node-1,status.phase!=Pending', 'Pod', false)(pod)).toBe(true);
    expect(parseFieldSelector('spec.nodeName=', 'Pod', false)(pod)).toBe(false);
    expect(() => parseFieldSelector('spec.foo=1', 'Pod', false)).toThrow(/not a known field selector/);
    expect(() => parseFieldSelector('spec.nodeName=x', 'Widget', true)).toThrow();
    const ev = { metadata: { name: 'e' }, involvedObject: { kind: 'Pod', name: 'p', uid: 'u' } };
    expect(parseFieldSelector('involvedObject.kind=Pod,involvedObject.uid=u', 'Event', false)(ev)).toBe(true);
  });

  it('merge patch follows RFC 7386', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, e: [1] }, { b: { c: null, x: 1 }, e: [2], f: 'n' })).toEqual({ a: 1, b: { d: 3, x: 1 }, e: [2], f: 'n' });
  });

  it('JSON patch: add to arrays, move, copy, escaped keys, failing test', () => {
    const doc = { metadata: { labels: { 'a/b': '1' } }, list: [1, 3] };
    const out = jsonPatch(doc, [
      { op: 'add', path: '/list/1', value: 2 },
      { op: 'add', path: '/list/-', value: 4 },
      { op: 'copy', from: '/list/0', path: '/first' },
      { op: 'move', from: '/metadata/labels/a~1b', path: '/metadata/labels/c' },
    ]);
    expect(out).toEqual({ metadata: { labels: { c: '1' } }, list: [1, 2, 3, 4], first: 1 });
    expect(() => jsonPatch(doc, [{ op: 'test', path: '/list/0', value: 9 }])).toThrow(/testing value/);
    expect(() => jsonPatch(doc, [{ op: 'remove', path: '/nope/x' }])).toThrow(/missing path/);
  });

  it('strategic merge patch: merge keys, $patch delete/replace, primitive finalizers, $deleteFromPrimitiveList', () => {
    const pod = {
      metadata: { finalizers: ['a'] },
      spec: {
        containers: [
          { name: 'x', image: '1', ports: [{ containerPort: 80, name: 'http' }] },
          { name: 'y', image: '1' },
        ],
        tolerations: [{ key: 't' }],
      },
      status: { conditions: [{ type: 'Ready', status: 'False' }, { type: 'PodScheduled', status: 'True' }] },
    };
    const out = strategicMergePatch(pod, {
      metadata: { finalizers: ['b'] },
      spec: {
        containers: [{ name: 'y', $patch: 'delete' }, { name: 'x', ports: [{ containerPort: 81 }] }, { name: 'z', image: '2' }],
        tolerations: [{ key: 'u' }],
      },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
    expect(out.metadata.finalizers).toEqual(['a', 'b']);
    expect(out.spec.containers.map((c: any) => c.name)).toEqual(['x', 'z']);
    expect(out.spec.containers[0].ports).toEqual([{ containerPort: 80, name: 'http' }, { containerPort: 81 }]);
    expect(out.spec.tolerations).toEqual([{ key: 'u' }]);
    expect(out.status.conditions).toEqual([{ type: 'Ready', status: 'True' }, { type: 'PodScheduled', status: 'True' }]);
    const replaced = strategicMergePatch(pod, { spec: { $patch: 'replace', containers: [{ name: 'only' }] } });
    expect(replaced.spec).toEqual({ containers: [{ name: 'only' }] });
    const removed = strategicMergePatch(pod, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } });
    expect(removed.metadata.finalizers).toEqual([]);
  });

  it('evaluates printer-column JSONPaths', () => {
    const obj = { spec: { pool: 'p' }, status: { progress: { percent: 5 }, conditions: [{ type: 'A', status: 'x' }, { type: 'Ready', status: 'True' }] }, metadata: { labels: { 'a.b/c': 'v' } } };
    expect(evalJsonPath(obj, '.spec.pool')).toBe('p');
    expect(evalJsonPath(obj, '.status.progress.percent')).toBe(5);
    expect(evalJsonPath(obj, '.status.conditions[1].type')).toBe('Ready');
    expect(evalJsonPath(obj, '.status.conditions[?(@.type=="Ready")].status')).toBe('True');
    expect(evalJsonPath(obj, ".metadata.labels['a.b/c']")).toBe('v');
    expect(evalJsonPath(obj, '.status.missing.deeper')).toBeUndefined();
  });

  it('store: monotonic resourceVersions, history since an rv, compaction past the log limit', () => {
    const store = new ObjectStore(3);
    const a = store.create('configmaps', { metadata: { name: 'a', namespace: 'n' } });
    const b = store.update('configmaps', { ...a, data: { x: '1' } });
    expect(Number(b.metadata.resourceVersion)).toBeGreaterThan(Number(a.metadata.resourceVersion));
    expect(store.since(Number(a.metadata.resourceVersion))!.map((e) => e.type)).toEqual(['MODIFIED']);
    store.create('configmaps', { metadata: { name: 'b', namespace: 'n' } });
    store.create('configmaps', { metadata: { name: 'c', namespace: 'n' } });
    const removed = store.remove('configmaps', 'n', 'a')!;
    expect(Number(removed.metadata.resourceVersion)).toBe(store.currentRv());
    expect(store.since(Number(a.metadata.resourceVersion))).toBeUndefined();
    expect(store.since(store.currentRv() - 1)!.map((e) => e.type)).toEqual(['DELETED']);
    store.compact();
    expect(store.since(store.currentRv() - 1)).toBeUndefined();
    expect(store.since(store.currentRv())).toEqual([]);
  });

  it('formats ages like kubectl', () => {
    const now = new Date('2026-01-01T12:00:00Z');
    expect(humanAge('2026-01-01T11:59:30Z', now)).toBe('30s');
    expect(humanAge('2026-01-01T11:55:00Z', now)).toBe('5m');
    expect(humanAge('2026-01-01T09:30:00Z', now)).toBe('150m');
    expect(humanAge('2025-12-30T12:00:00Z', now)).toBe('2d');
  });
});
