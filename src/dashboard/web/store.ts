/**
 * The browser's copy of the dashboard state: rows by key, kept current by the server's
 * Server-Sent Events (a snapshot, then change batches). Views subscribe and re-render at most
 * once per animation frame however many batches arrive in between.
 */
import type { ChangeBatch, JobRow, PoolRow, Snapshot } from '../view-model.js';

type Listener = () => void;

export interface DashboardStats {
  /** ms since navigation start when the first rows were on screen. */
  firstRowsMs?: number;
  /** Change batches applied, and how long each took from arrival to the DOM being updated (this includes waiting for the next animation frame). */
  batches: number;
  batchApplyMs: number[];
  /** CPU time of each batch: JSON parse + store update. */
  batchParseMs: number[];
  /** CPU time of each re-render of the root view (filter + sort of all rows, windowed list, charts). */
  renderMs: number[];
  rowsUpdated: number;
}

declare global {
  interface Window {
    __dashboardStats: DashboardStats;
  }
}

export class Store {
  readonly jobs = new Map<string, JobRow>();
  readonly pools = new Map<string, PoolRow>();
  /** Bumped for a key whenever its object or events changed: the job page refetches its detail. */
  readonly detailVersions = new Map<string, number>();
  namespace: string | null = null;
  allowCancel = false;
  connected = false;
  loaded = false;
  version = 0;
  private listeners = new Set<Listener>();
  private frame = 0;
  /** Arrival times of batches not yet on screen. */
  private unrendered: number[] = [];
  readonly stats: DashboardStats = { batches: 0, batchApplyMs: [], batchParseMs: [], renderMs: [], rowsUpdated: 0 };

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  connect(url = '/api/events'): EventSource {
    const es = new EventSource(url);
    es.addEventListener('snapshot', (e) => this.applySnapshot(JSON.parse((e as MessageEvent<string>).data) as Snapshot));
    es.addEventListener('change', (e) => {
      const t0 = performance.now();
      this.applyBatch(JSON.parse((e as MessageEvent<string>).data) as ChangeBatch & { details: string[] });
      this.stats.batchParseMs.push(performance.now() - t0);
      this.unrendered.push(t0);
    });
    es.onopen = () => {
      this.connected = true;
      this.changed();
    };
    // EventSource reconnects by itself; the server answers a reconnect with a fresh snapshot.
    es.onerror = () => {
      this.connected = false;
      this.changed();
    };
    return es;
  }

  applySnapshot(s: Snapshot): void {
    this.namespace = s.namespace;
    this.allowCancel = s.allowCancel;
    this.jobs.clear();
    this.pools.clear();
    for (const r of s.jobs) this.jobs.set(r.key, r);
    for (const r of s.pools) this.pools.set(r.key, r);
    for (const k of this.detailVersions.keys()) this.detailVersions.set(k, this.detailVersions.get(k)! + 1);
    this.loaded = true;
    this.connected = true;
    this.changed();
  }

  applyBatch(b: ChangeBatch & { details?: string[] }): void {
    for (const r of b.jobs.upsert) this.jobs.set(r.key, r);
    for (const k of b.jobs.remove) this.jobs.delete(k);
    for (const r of b.pools.upsert) this.pools.set(r.key, r);
    for (const k of b.pools.remove) this.pools.delete(k);
    for (const k of b.details ?? []) this.detailVersions.set(k, (this.detailVersions.get(k) ?? 0) + 1);
    this.stats.batches++;
    this.stats.rowsUpdated += b.jobs.upsert.length + b.jobs.remove.length;
    this.changed();
  }

  /** Called by the root view once its DOM reflects `version`; `renderStart` is when its render began. */
  rendered(renderStart: number): void {
    const now = performance.now();
    if (this.loaded) this.stats.renderMs.push(now - renderStart);
    if (this.stats.firstRowsMs === undefined && this.loaded) this.stats.firstRowsMs = now;
    for (const t of this.unrendered) this.stats.batchApplyMs.push(now - t);
    this.unrendered = [];
  }

  private changed(): void {
    this.version++;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      for (const l of this.listeners) l();
    });
  }
}

export const store = new Store();
window.__dashboardStats = store.stats;
