import type { Logger } from 'pino';
import type { ResourceRegistry, ResourceInfo } from '../resource-registry.js';
import type { KubeObject, ObjectStore, StoreEvent } from '../storage/store.js';
import type { ResourceService } from '../resource-service.js';

interface Ref {
  key: string;
  namespace?: string;
  name: string;
}

export function infoForStorageKey(registry: ResourceRegistry, key: string): ResourceInfo | undefined {
  const slash = key.indexOf('/');
  const group = slash < 0 ? '' : key.slice(0, slash);
  const plural = slash < 0 ? key : key.slice(slash + 1);
  return registry.byPlural(group, plural);
}

/**
 * Background ownerReference garbage collection driven by store events: dependents whose owners
 * are all gone are deleted (respecting their own finalizers); references to a deleted owner are
 * dropped from dependents that still have a live owner. Runs after the triggering write, like the
 * real asynchronous controller.
 */
export class GarbageCollector {
  private readonly byUid = new Map<string, Ref>();
  /** owner uid → uids of objects that reference it. */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly ownersOf = new Map<string, string[]>();
  private readonly goneOwners = new Set<string>();
  private pending = false;
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

  private index(key: string, obj: KubeObject): void {
    const uid: string = obj.metadata.uid;
    this.byUid.set(uid, { key, namespace: obj.metadata.namespace, name: obj.metadata.name });
    this.unindexOwners(uid);
    const owners: string[] = (obj.metadata.ownerReferences ?? []).map((r: any) => r.uid).filter((u: unknown) => typeof u === 'string');
    if (owners.length === 0) return;
    this.ownersOf.set(uid, owners);
    for (const o of owners) {
      let set = this.dependents.get(o);
      if (!set) this.dependents.set(o, (set = new Set()));
      set.add(uid);
    }
  }

  private unindexOwners(uid: string): void {
    for (const o of this.ownersOf.get(uid) ?? []) {
      const set = this.dependents.get(o);
      set?.delete(uid);
      if (set?.size === 0) this.dependents.delete(o);
    }
    this.ownersOf.delete(uid);
  }

  private onEvent(e: StoreEvent): void {
    const uid: string = e.object.metadata.uid;
    if (e.type === 'DELETED') {
      this.byUid.delete(uid);
      this.unindexOwners(uid);
      if (this.dependents.has(uid)) {
        this.goneOwners.add(uid);
        this.schedule();
      }
    } else {
      this.index(e.key, e.object);
      // A dependent created after its owner is gone is collected too.
      if ((this.ownersOf.get(uid) ?? []).some((o) => !this.byUid.has(o))) {
        for (const o of this.ownersOf.get(uid)!) if (!this.byUid.has(o)) this.goneOwners.add(o);
        this.schedule();
      }
    }
  }

  private kindServed(ref: { apiVersion?: string; kind?: string }): boolean {
    const apiVersion = String(ref.apiVersion ?? '');
    const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
    return !!this.registry.byKind(group, String(ref.kind ?? ''));
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      void this.run().catch((err) => this.logger?.warn({ err }, 'garbage collection pass failed'));
    });
  }

  private async run(): Promise<void> {
    const gone = [...this.goneOwners];
    this.goneOwners.clear();
    const todo = new Set<string>();
    for (const owner of gone) for (const dep of this.dependents.get(owner) ?? []) todo.add(dep);
    for (const uid of todo) {
      const ref = this.byUid.get(uid);
      if (!ref) continue;
      const obj = this.store.get(ref.key, ref.namespace, ref.name);
      const info = infoForStorageKey(this.registry, ref.key);
      if (!obj || !info) continue;
      const refs: any[] = obj.metadata.ownerReferences ?? [];
      // Like the real collector, an owner of a kind the server does not serve cannot be verified absent.
      const alive = refs.filter((r) => this.byUid.has(r.uid) || !this.kindServed(r));
      try {
        if (alive.length === 0) {
          if (!obj.metadata.deletionTimestamp) await this.service.delete(info, obj.metadata.namespace, obj.metadata.name, { propagationPolicy: 'Background' });
        } else if (alive.length !== refs.length) {
          obj.metadata.ownerReferences = alive;
          this.store.update(ref.key, obj);
        }
      } catch (err) {
        this.logger?.debug({ err, key: ref.key, name: ref.name }, 'garbage collection of a dependent failed');
      }
    }
  }
}
