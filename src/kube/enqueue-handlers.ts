import type { KubernetesObject } from '@kubernetes/client-node';
import type { InformerHandlers } from './informer.js';
import { objectKey } from './object-store.js';

export interface EnqueueOptions<T> {
  /**
   * Which keys an event of `obj` should reconcile (default: the object's own key). Return the
   * owner's key to reconcile a parent from its children (a Pod → its WorkerPool).
   */
  keysOf?: (obj: T) => string | string[] | undefined;
  /** Ignore periodic resync updates (same object instance on both sides). */
  skipResync?: boolean;
}

/** Informer handlers that put the affected keys on a work queue (level-triggered: keys, not payloads). */
export function enqueueHandlers<T extends KubernetesObject>(
  queue: { add(key: string): void },
  opts: EnqueueOptions<T> = {},
): InformerHandlers<T> {
  const keysOf = opts.keysOf ?? ((o: T) => objectKey(o));
  const enqueue = (obj: T): void => {
    const keys = keysOf(obj);
    if (keys === undefined) return;
    for (const k of Array.isArray(keys) ? keys : [keys]) if (k) queue.add(k);
  };
  return {
    onAdd: enqueue,
    onUpdate: (oldObj, newObj) => {
      if (opts.skipResync && oldObj === newObj) return;
      // An update can move a child between parents (label change): reconcile both.
      if (opts.keysOf && oldObj !== newObj) enqueue(oldObj);
      enqueue(newObj);
    },
    onDelete: enqueue,
  };
}
