import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { namespacedPath } from '../../../src/kube/informer.js';
import { byNamespace, namespacedKey, objectKey, ObjectStore, splitKey } from '../../../src/kube/object-store.js';

const pod = (ns: string, name: string, node?: string): V1Pod => ({
  metadata: { namespace: ns, name, resourceVersion: '1' },
  spec: { containers: [], nodeName: node },
});

describe('ObjectStore', () => {
  it('keys by namespace/name and keeps indexes in step with updates and deletes', () => {
    const store = new ObjectStore<V1Pod>({
      namespace: byNamespace,
      node: (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []),
    });
    store.set(pod('a', 'p1', 'n1'));
    store.set(pod('a', 'p2', 'n1'));
    store.set(pod('b', 'p1', 'n2'));
    expect(store.get('a/p1')?.metadata?.name).toBe('p1');
    expect(store.byIndex('node', 'n1').map(objectKey).sort()).toEqual(['a/p1', 'a/p2']);
    store.set(pod('a', 'p2', 'n2'));
    expect(store.byIndex('node', 'n1').map(objectKey)).toEqual(['a/p1']);
    expect(store.byIndex('node', 'n2').map(objectKey).sort()).toEqual(['a/p2', 'b/p1']);
    store.delete('b/p1');
    expect(store.byIndex('namespace', 'b')).toEqual([]);
    expect(store.size).toBe(2);
    expect(() => store.byIndex('nope', 'x')).toThrow(/no index/);
  });

  it('splits keys, cluster-scoped included', () => {
    expect(splitKey('ns/name')).toEqual({ namespace: 'ns', name: 'name' });
    expect(splitKey('node-1')).toEqual({ name: 'node-1' });
    expect(objectKey({ metadata: { name: 'node-1' } })).toBe('node-1');
  });
});

describe('namespacedPath', () => {
  it('inserts the namespace before the resource', () => {
    expect(namespacedPath('/api/v1/pods', 'x')).toBe('/api/v1/namespaces/x/pods');
    expect(namespacedPath('/apis/visionq.dev/v1alpha1/visionjobs', 'x')).toBe(
      '/apis/visionq.dev/v1alpha1/namespaces/x/visionjobs',
    );
    expect(namespacedPath('/api/v1/pods')).toBe('/api/v1/pods');
  });
});

describe('object keys', () => {
  it('namespacedKey/objectKey give client-go keys that splitKey takes apart again', () => {
    expect(namespacedKey('ns', 'a')).toBe('ns/a');
    expect(namespacedKey(undefined, 'node-1')).toBe('node-1');
    expect(objectKey({ metadata: { namespace: 'ns', name: 'a' } })).toBe('ns/a');
    expect(objectKey({ metadata: { name: 'cluster-scoped' } })).toBe('cluster-scoped');
    expect(splitKey(objectKey({ metadata: { namespace: 'ns', name: 'a' } }))).toEqual({ namespace: 'ns', name: 'a' });
    expect(splitKey('node-1')).toEqual({ name: 'node-1' });
  });
});
