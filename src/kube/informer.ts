import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { classifyApiError, describeApiError, KubeHttpError, ResourceExpiredError, retryAfterMsOf } from './api-errors.js';
import { Backoff, type BackoffOptions } from '../lib/backoff.js';
import { sleep } from '../lib/clock.js';
import { getJson, watchStream, type RawWatchEvent } from './kube-request.js';
import { silentLogger, type Logger } from './logger.js';
import { ObjectStore, objectKey, type IndexFunc } from './object-store.js';

export interface InformerHandlers<T> {
  onAdd?: (obj: T) => void;
  onUpdate?: (oldObj: T, newObj: T) => void;
  onDelete?: (obj: T) => void;
}

export interface InformerOptions<T> {
  kc: KubeConfig;
  /** Collection path without namespace: `/api/v1/pods`, `/apis/visionq.dev/v1alpha1/visionjobs`. */
  path: string;
  /** Watch only this namespace (default: all namespaces). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-deliver every cached object as an update this often (0 = never). */
  resyncMs?: number;
  /** List page size (limit/continue). */
  pageSize?: number;
  /** Server-side watch timeout; each re-watch uses a random value in [t, 2t) like client-go. */
  watchTimeoutSeconds?: number;
  backoff?: BackoffOptions;
  indexers?: Record<string, IndexFunc<T>>;
  /**
   * Applied to every object before it is cached (trim what the controller never reads to save
   * memory). Default: drop metadata.managedFields, often the largest part of an object.
   */
  transform?: (obj: T) => T;
  logger?: Logger;
  /** For logs. */
  name?: string;
}

interface ListResponse<T extends KubernetesObject> extends KubernetesListObject<T> {
  metadata: { resourceVersion?: string; continue?: string };
}

/**
 * List-then-watch cache of one kind. The informer owns its loop: every error is retried forever
 * with capped, jittered backoff; a 410 (HTTP status or ERROR event) relists and emits the diff
 * against the cache; a watch that ends resumes from the last resourceVersion seen (bookmarks
 * included) so nothing is missed or delivered twice.
 */
export class Informer<T extends KubernetesObject> {
  readonly store: ObjectStore<T>;
  private readonly handlers = new Set<InformerHandlers<T>>();
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly collectionPath: string;
  private abort?: AbortController;
  private loop?: Promise<void>;
  private resyncTimer?: NodeJS.Timeout;
  private synced = false;
  private readonly syncWaiters = new Set<() => void>();
  private lastResourceVersion = '';
  private listKind?: { apiVersion?: string; kind?: string };
  /** Counters for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, relistsAfterExpiry: 0, errors: 0 };

  constructor(private readonly opts: InformerOptions<T>) {
    this.store = new ObjectStore<T>(opts.indexers);
    this.log = (opts.logger ?? silentLogger()).child({ informer: opts.name ?? opts.path });
    this.backoff = new Backoff({ initialMs: 100, maxMs: 30_000, ...opts.backoff });
    this.collectionPath = namespacedPath(opts.path, opts.namespace);
  }

  /** Registers handlers; objects already cached are replayed as adds (like client-go). */
  addEventHandler(h: InformerHandlers<T>): () => void {
    this.handlers.add(h);
    if (this.synced && h.onAdd) {
      for (const obj of this.store.list()) this.call(() => h.onAdd!(obj));
    }
    return () => this.handlers.delete(h);
  }

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
    const resyncMs = this.opts.resyncMs ?? 0;
    if (resyncMs > 0) {
      this.resyncTimer = setInterval(() => this.resync(), resyncMs);
      this.resyncTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    for (const w of this.syncWaiters) w();
    this.syncWaiters.clear();
    await this.loop;
    this.loop = undefined;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once the first list is in the cache, false if stopped or aborted first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        this.syncWaiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve(this.synced);
      };
      if (signal?.aborted || this.abort?.signal.aborted) return resolve(false);
      this.syncWaiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  get resourceVersion(): string {
    return this.lastResourceVersion;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.listAndReplace(signal);
          needList = false;
        }
        const started = Date.now();
        await this.watch(signal);
        // A watch that the server ends at once, again and again, must not become a busy loop.
        if (Date.now() - started < 1000 && !signal.aborted) await sleep(this.backoff.next(), signal);
      } catch (err) {
        if (signal.aborted) break;
        this.stats.errors++;
        const cls = classifyApiError(err);
        // An expired watch relists at once; a list that itself answers 410 backs off like any error.
        if (cls === 'expired' && !needList) {
          // The cache is older than what the server keeps: relist now; backoff only if that fails.
          this.stats.relistsAfterExpiry++;
          this.log.info({ rv: this.lastResourceVersion }, 'resourceVersion expired, relisting');
          needList = true;
          continue;
        }
        const delay = Math.max(this.backoff.next(), cls === 'throttled' ? (retryAfterMsOf(err) ?? 0) : 0);
        this.log.warn({ err: describeApiError(err), class: cls, delayMs: delay, relist: needList }, 'informer error, retrying');
        await sleep(delay, signal);
      }
    }
  }

  private async listAndReplace(signal: AbortSignal): Promise<void> {
    this.stats.lists++;
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    let paged = true;
    for (;;) {
      let page: ListResponse<T>;
      try {
        page = await getJson<ListResponse<T>>(
          this.opts.kc,
          this.collectionPath,
          {
            labelSelector: this.opts.labelSelector,
            fieldSelector: this.opts.fieldSelector,
            limit: paged ? (this.opts.pageSize ?? 500) : undefined,
            continue: cont,
          },
          signal,
        );
      } catch (err) {
        // An expired continue token: fall back to one unpaginated list, as client-go does.
        if (cont && classifyApiError(err) === 'expired') {
          items.length = 0;
          cont = undefined;
          paged = false;
          continue;
        }
        throw err;
      }
      this.listKind = {
        apiVersion: page.apiVersion,
        kind: page.kind?.endsWith('List') ? page.kind.slice(0, -4) : undefined,
      };
      for (const item of page.items ?? []) items.push(this.prepare(item));
      rv = page.metadata?.resourceVersion ?? rv;
      cont = page.metadata?.continue || undefined;
      if (!cont) break;
    }
    if (signal.aborted) return;
    this.replace(items, rv);
  }

  /** Swaps in a fresh list, emitting adds, updates and deletes for what changed meanwhile. */
  private replace(items: T[], rv: string): void {
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.store.set(obj);
      if (!old) this.emitAdd(obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emitUpdate(old, obj);
    }
    for (const key of this.store.keys()) {
      if (!seen.has(key)) {
        const old = this.store.delete(key);
        if (old) this.emitDelete(old);
      }
    }
    this.lastResourceVersion = rv;
    this.backoff.reset();
    if (!this.synced) {
      this.synced = true;
      for (const w of [...this.syncWaiters]) w();
    }
  }

  private async watch(signal: AbortSignal): Promise<void> {
    this.stats.watches++;
    const base = this.opts.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.floor(base + Math.random() * base);
    await watchStream(
      this.opts.kc,
      this.collectionPath,
      {
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        resourceVersion: this.lastResourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
      },
      (ev) => this.onWatchEvent(ev),
      {
        signal,
        // A healthy watch sends bookmarks or ends by timeoutSeconds; silence beyond is a dead link.
        idleTimeoutMs: (timeoutSeconds + 30) * 1000,
        onOpen: () => this.backoff.reset(),
      },
    );
  }

  private onWatchEvent(ev: RawWatchEvent): void {
    if (ev.type === 'ERROR') {
      const status = (ev.object ?? {}) as { code?: number; message?: string; reason?: string };
      if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') {
        throw new ResourceExpiredError(status.message ?? 'watch expired');
      }
      throw new KubeHttpError(status.code ?? 500, `watch ERROR: ${status.message ?? 'unknown'}`, status);
    }
    const obj = ev.object as T;
    const rv = obj?.metadata?.resourceVersion;
    switch (ev.type) {
      case 'BOOKMARK':
        break;
      case 'ADDED':
      case 'MODIFIED': {
        const fresh = this.prepare(obj);
        const old = this.store.get(objectKey(fresh));
        // Same resourceVersion = already seen (e.g. replayed around a reconnect): not news.
        if (old && old.metadata?.resourceVersion === rv) break;
        this.store.set(fresh);
        if (old) this.emitUpdate(old, fresh);
        else this.emitAdd(fresh);
        break;
      }
      case 'DELETED': {
        const old = this.store.delete(objectKey(obj));
        if (old) this.emitDelete(this.prepare(obj));
        break;
      }
      default:
        this.log.warn({ type: ev.type }, 'unknown watch event type');
    }
    if (rv) this.lastResourceVersion = rv;
  }

  private resync(): void {
    if (!this.synced || this.abort?.signal.aborted) return;
    for (const obj of this.store.list()) this.emitUpdate(obj, obj);
  }

  /** Applies the transform; list items of core kinds lack apiVersion/kind: fill them in from the list. */
  private prepare(raw: T): T {
    const obj = (this.opts.transform ?? dropManagedFields)(raw);
    if (obj.kind && obj.apiVersion) return obj;
    if (!this.listKind?.kind) return obj;
    return { ...obj, apiVersion: obj.apiVersion ?? this.listKind.apiVersion, kind: obj.kind ?? this.listKind.kind };
  }

  private emitAdd(obj: T): void {
    for (const h of this.handlers) if (h.onAdd) this.call(() => h.onAdd!(obj));
  }

  private emitUpdate(oldObj: T, newObj: T): void {
    for (const h of this.handlers) if (h.onUpdate) this.call(() => h.onUpdate!(oldObj, newObj));
  }

  private emitDelete(obj: T): void {
    for (const h of this.handlers) if (h.onDelete) this.call(() => h.onDelete!(obj));
  }

  /** A throwing handler must not break the watch loop (or the other handlers). */
  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, 'informer event handler threw');
    }
  }
}

function dropManagedFields<T extends KubernetesObject>(obj: T): T {
  if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
  return obj;
}

/** `/api/v1/pods` + `ns` → `/api/v1/namespaces/ns/pods`. */
export function namespacedPath(path: string, namespace?: string): string {
  const clean = path.replace(/\/+$/, '');
  if (!namespace) return clean;
  const i = clean.lastIndexOf('/');
  return `${clean.slice(0, i)}/namespaces/${encodeURIComponent(namespace)}${clean.slice(i)}`;
}
