import type { Logger } from 'pino';
import type { ResourceRegistry, ResourceInfo } from './resource-registry.js';
import type { ObjectStore, StoreEvent } from './store.js';
import type { ResourceService } from './resource-service.js';

interface Ref {
  key: string;
  namespace?: string;
  name: string;
}

/**
 * Background ownerReference garbage collection and namespace cleanup, driven by store events.
 * Dependents whose owners are all gone are deleted (respecting their own finalizers); a
 * terminating namespace has its contents deleted and goes away once it is empty.
 */
export class GarbageCollector {
  private readonly byUid = new Map<string, Ref>();
  private pending = false;
  private readonly dirtyOwners = new Set<string>();
  private readonly terminating = new Set<string>();
  private unsubscribe?: () => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ResourceRegistry,
    private readonly service: ResourceService,
    private readonly logger?: Logger,
  ) {}

  start(): void {
    for (const key of this.store.keys()) for (const o of this.store.list(key)) this.index(key, o);
    this.unsubscribe = this.store.subscribe((e) => this.onEvent(e));
  }

  stop(): void {
    this.unsubscribe?.();
  }

  private index(key: string, obj: any): void {
    this.byUid.set(obj.metadata.uid, { key, namespace: obj.metadata.namespace, name: obj.metadata.name });
  }

  private onEvent(e: StoreEvent): void {
    const uid = e.object.metadata.uid;
    if (e.type === 'DELETED') {
      this.byUid.delete(uid);
      this.dirtyOwners.add(uid);
      if (e.object.metadata.namespace && this.isTerminating(e.object.metadata.namespace)) this.terminating.add(e.object.metadata.namespace);
    } else {
      this.index(e.key, e.object);
      if (e.key === 'namespaces' && e.object.metadata.deletionTimestamp) this.terminating.add(e.object.metadata.name);
    }
    this.schedule();
  }

  private isTerminating(ns: string): boolean {
    return !!this.store.get('namespaces', undefined, ns)?.metadata.deletionTimestamp;
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    // Run after the write that triggered us has returned, like the asynchronous real controllers.
    setImmediate(() => {
      this.pending = false;
      void this.run().catch((err) => this.logger?.warn({ err }, 'garbage collection pass failed'));
    });
  }

  private infoForKey(key: string): ResourceInfo | undefined {
    const slash = key.indexOf('/');
    const group = slash < 0 ? '' : key.slice(0, slash);
    const plural = slash < 0 ? key : key.slice(slash + 1);
    return this.registry.byPlural(group, plural);
  }

  private async run(): Promise<void> {
    if (this.dirtyOwners.size > 0) {
      const gone = new Set(this.dirtyOwners);
      this.dirtyOwners.clear();
      for (const key of this.store.keys()) {
        for (const obj of this.store.list(key)) {
          const refs: any[] = obj.metadata.ownerReferences ?? [];
          if (refs.length === 0 || !refs.some((r) => gone.has(r.uid))) continue;
          const info = this.infoForKey(key);
          if (!info) continue;
          const alive = refs.filter((r) => this.byUid.has(r.uid));
          try {
            if (alive.length === 0) {
              if (!obj.metadata.deletionTimestamp) await this.service.delete(info, obj.metadata.namespace, obj.metadata.name, { propagationPolicy: 'Background' });
            } else if (alive.length !== refs.length) {
              obj.metadata.ownerReferences = alive;
              this.store.update(key, obj);
            }
          } catch (err) {
            this.logger?.debug({ err, key, name: obj.metadata.name }, 'garbage collection of a dependent failed');
          }
        }
      }
    }
    for (const ns of [...this.terminating]) {
      this.terminating.delete(ns);
      await this.cleanNamespace(ns);
    }
  }

  private async cleanNamespace(ns: string): Promise<void> {
    const nsObj = this.store.get('namespaces', undefined, ns);
    if (!nsObj?.metadata.deletionTimestamp) return;
    let remaining = 0;
    for (const key of this.store.keys()) {
      const info = this.infoForKey(key);
      if (!info?.namespaced) continue;
      for (const obj of this.store.list(key, ns)) {
        remaining++;
        if (obj.metadata.deletionTimestamp) continue;
        try {
          await this.service.delete(info, ns, obj.metadata.name, {});
        } catch {
          // Already gone: fine.
        }
      }
    }
    if (remaining === 0 && (nsObj.metadata.finalizers ?? []).length === 0) {
      this.store.remove('namespaces', undefined, ns);
    } else if (remaining > 0) {
      // Objects with finalizers or graceful pods remain: their DELETED events re-trigger this.
      const left = this.store.keys().some((k) => this.infoForKey(k)?.namespaced && this.store.list(k, ns).length > 0);
      if (!left && (nsObj.metadata.finalizers ?? []).length === 0) this.store.remove('namespaces', undefined, ns);
    }
  }
}
