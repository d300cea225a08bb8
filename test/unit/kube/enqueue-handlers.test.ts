import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { enqueueHandlers } from '../../../src/kube/enqueue-handlers.js';

const pod = (name: string, pool?: string): V1Pod => ({
  metadata: { namespace: 'ns', name, labels: pool ? { pool } : {} },
});

describe('enqueueHandlers', () => {
  it('enqueues the object key on add, update and delete', () => {
    const keys: string[] = [];
    const h = enqueueHandlers<V1Pod>({ add: (k) => keys.push(k) });
    h.onAdd!(pod('a'));
    h.onUpdate!(pod('a'), pod('a'));
    h.onDelete!(pod('b'));
    expect(keys).toEqual(['ns/a', 'ns/a', 'ns/b']);
  });

  it('maps children to parents, both old and new, and can skip resyncs', () => {
    const keys: string[] = [];
    const h = enqueueHandlers<V1Pod>(
      { add: (k) => keys.push(k) },
      { keysOf: (p) => (p.metadata?.labels?.pool ? `ns/${p.metadata.labels.pool}` : undefined), skipResync: true },
    );
    h.onAdd!(pod('x'));
    h.onUpdate!(pod('w', 'p1'), pod('w', 'p2'));
    const same = pod('w', 'p2');
    h.onUpdate!(same, same);
    expect(keys).toEqual(['ns/p1', 'ns/p2']);
  });
});
