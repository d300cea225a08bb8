import type { Logger } from 'pino';
import type { ResourceRegistry } from '../resource-registry.js';
import type { ObjectStore, StoreEvent } from '../storage/store.js';
import type { ResourceService } from '../resource-service.js';
import { infoForStorageKey } from './garbage-collector.js';
import { newUid, nowTimestamp } from '../storage/object-meta.js';

/**
 * What kube-controller-manager does for namespaces: a `default` ServiceAccount in every new
 * namespace, and for a terminating namespace, deleting its contents and then the namespace once
 * it is empty and has no finalizers left.
 */
export class NamespaceController {
  private readonly terminating = new Set<string>();
  private readonly fresh = new Set<string>();
  private pending = false;
  private unsubscribe?: () => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ResourceRegistry,
    private readonly service: ResourceService,
    private readonly clock: () => Date,
    private readonly logger?: Logger,
  ) {}

  start(): void {
    for (const ns of this.store.list('namespaces')) this.fresh.add(ns.metadata.name);
    this.unsubscribe = this.store.subscribe((e) => this.onEvent(e));
    this.schedule();
  }

  stop(): void {
    this.unsubscribe?.();
  }

  private onEvent(e: StoreEvent): void {
    if (e.key === 'namespaces') {
      if (e.type === 'ADDED') this.fresh.add(e.object.metadata.name);
      if (e.type !== 'DELETED' && e.object.metadata.deletionTimestamp) this.terminating.add(e.object.metadata.name);
      this.schedule();
      return;
    }
    const ns: string | undefined = e.object.metadata.namespace;
    if (e.type === 'DELETED' && ns && this.store.get('namespaces', undefined, ns)?.metadata.deletionTimestamp) {
      this.terminating.add(ns);
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      void this.run().catch((err) => this.logger?.warn({ err }, 'namespace controller pass failed'));
    });
  }

  private async run(): Promise<void> {
    for (const ns of [...this.fresh]) {
      this.fresh.delete(ns);
      this.ensureDefaultServiceAccount(ns);
    }
    for (const ns of [...this.terminating]) {
      this.terminating.delete(ns);
      await this.clean(ns);
    }
  }

  private ensureDefaultServiceAccount(ns: string): void {
    const nsObj = this.store.get('namespaces', undefined, ns);
    if (!nsObj || nsObj.metadata.deletionTimestamp) return;
    if (this.store.get('serviceaccounts', ns, 'default')) return;
    this.store.create('serviceaccounts', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: ns, uid: newUid(), creationTimestamp: nowTimestamp(this.clock) },
    });
  }

  private async clean(ns: string): Promise<void> {
    const nsObj = this.store.get('namespaces', undefined, ns);
    if (!nsObj?.metadata.deletionTimestamp) return;
    let remaining = 0;
    for (const key of this.store.keys()) {
      const info = infoForStorageKey(this.registry, key);
      if (!info?.namespaced) continue;
      for (const obj of this.store.list(key, ns)) {
        remaining++;
        if (obj.metadata.deletionTimestamp) continue;
        try {
          await this.service.delete(info, ns, obj.metadata.name, {});
        } catch {
          // Gone already.
        }
      }
    }
    const left = remaining > 0 && this.store.keys().some((k) => infoForStorageKey(this.registry, k)?.namespaced && this.store.list(k, ns).length > 0);
    // Objects with finalizers or pods in graceful termination remain: their DELETED events re-trigger this.
    if (!left && (nsObj.metadata.finalizers ?? []).length === 0) this.store.remove('namespaces', undefined, ns);
  }
}
