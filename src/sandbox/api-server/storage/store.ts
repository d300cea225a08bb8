export type KubeObject = Record<string, any>;
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  /** The resourceVersion this change produced. */
  rv: number;
  /** Storage key (group/plural). */
  key: string;
  object: KubeObject;
  /** The object before the change (MODIFIED/DELETED), so selector-filtered watches can emit a synthetic DELETED. */
  prev?: KubeObject;
}

/** A write raced with another one (the service turns it into 409 Conflict). */
export class StoreConflictError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreConflictError';
  }
}

function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/**
 * In-memory object storage with one monotonic resourceVersion across every resource and a
 * bounded history of changes for watches (older history is compacted away, like etcd).
 */
export class ObjectStore {
  private rv = 1;
  private readonly data = new Map<string, Map<string, KubeObject>>();
  private log: StoreEvent[] = [];
  /** Every change with rv <= compactedRv is gone from the log. */
  private compactedRv = 1;
  private readonly listeners = new Set<(e: StoreEvent) => void>();

  constructor(private readonly logLimit = 10_000) {}

  currentRv(): number {
    return this.rv;
  }

  compactedThrough(): number {
    return this.compactedRv;
  }

  get(key: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.data.get(key)?.get(objectKey(namespace, name));
    return obj === undefined ? undefined : structuredClone(obj);
  }

  /** Objects of key (in one namespace when given) sorted by namespace/name, as clones. */
  list(key: string, namespace?: string): KubeObject[] {
    const bucket = this.data.get(key);
    if (!bucket) return [];
    const out: KubeObject[] = [];
    const keys = [...bucket.keys()].sort();
    for (const k of keys) {
      const obj = bucket.get(k)!;
      if (namespace !== undefined && obj.metadata?.namespace !== namespace) continue;
      out.push(structuredClone(obj));
    }
    return out;
  }

  /** Storage keys with at least one object. */
  keys(): string[] {
    return [...this.data.keys()];
  }

  create(key: string, obj: KubeObject): KubeObject {
    const stored = structuredClone(obj);
    let bucket = this.data.get(key);
    if (!bucket) this.data.set(key, (bucket = new Map()));
    if (bucket.has(objectKey(stored.metadata.namespace, stored.metadata.name))) throw new StoreConflictError(`${key} ${stored.metadata.name} already exists`);
    stored.metadata.resourceVersion = String(++this.rv);
    bucket.set(objectKey(stored.metadata.namespace, stored.metadata.name), stored);
    this.emit({ type: 'ADDED', rv: this.rv, key, object: structuredClone(stored) });
    return structuredClone(stored);
  }

  /** Replaces an object; with expectedRv, fails unless the stored object is still at that version. */
  update(key: string, obj: KubeObject, expectedRv?: string): KubeObject {
    const bucket = this.data.get(key);
    const k = objectKey(obj.metadata.namespace, obj.metadata.name);
    const prev = bucket?.get(k);
    if (!bucket || !prev) throw new StoreConflictError(`update of missing object ${key} ${k}`);
    if (expectedRv !== undefined && prev.metadata.resourceVersion !== expectedRv) throw new StoreConflictError(`${key} ${k} changed since it was read`);
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.rv);
    bucket.set(k, stored);
    this.emit({ type: 'MODIFIED', rv: this.rv, key, object: structuredClone(stored), prev });
    return structuredClone(stored);
  }

  /** Removes the object; the DELETED event carries the final object with a new resourceVersion. */
  remove(key: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const bucket = this.data.get(key);
    const k = objectKey(namespace, name);
    const prev = bucket?.get(k);
    if (!bucket || !prev) return undefined;
    bucket.delete(k);
    const final = structuredClone(prev);
    final.metadata.resourceVersion = String(++this.rv);
    this.emit({ type: 'DELETED', rv: this.rv, key, object: structuredClone(final), prev });
    return final;
  }

  /** Changes after rv (exclusive), or undefined when history has been compacted past rv. */
  since(rv: number): StoreEvent[] | undefined {
    if (rv < this.compactedRv) return undefined;
    // The log is sorted by rv: binary search for the first event after rv.
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.log[mid]!.rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return this.log.slice(lo);
  }

  /** Drops the whole history: any watch from an older rv now gets 410 Expired. */
  compact(): void {
    this.compactedRv = this.rv;
    this.log = [];
  }

  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(e: StoreEvent): void {
    this.log.push(e);
    if (this.log.length > this.logLimit) {
      const drop = this.log.length - this.logLimit;
      this.compactedRv = this.log[drop - 1]!.rv;
      this.log = this.log.slice(drop);
    }
    for (const fn of [...this.listeners]) {
      try {
        fn(e);
      } catch {
        // A listener's failure must not break the write that triggered it.
      }
    }
  }
}
