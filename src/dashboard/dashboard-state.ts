/**
 * The dashboard's server-side state: informers over VisionJobs, WorkerPools, worker Pods and
 * Events, the rows last sent to browsers, and a coalescing batch of changes. One set of
 * informers serves every browser: a watch event becomes at most one row in the next batch, and
 * a row that did not change visibly (a resync, a heartbeat-only status write) is not sent.
 */
import type { CoreV1Event, KubeConfig, KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, VISION_JOB_PLURAL, WORKER_POOL_PLURAL } from '../api/constants.js';
import { Informer } from '../kube/informer.js';
import type { Logger } from '../kube/logger.js';
import {
  sameRow,
  summarizeJob,
  summarizePool,
  type ChangeBatch,
  type JobLike,
  type JobRow,
  type PoolLike,
  type PoolRow,
} from './view-model.js';

export type JobObject = KubernetesObject & JobLike;
export type PoolObject = KubernetesObject & PoolLike;

/** Worker pods carry this label (the controller contract); the dashboard watches only those. */
const POOL_LABEL = 'visionq.dev/pool';
const EVENTS_BY_OBJECT = 'involvedObject';

export interface DashboardStateOptions {
  kc: KubeConfig;
  /** Watch only this namespace; undefined = all namespaces. */
  namespace?: string;
  logger?: Logger;
  /** How long changes are gathered before a batch goes out. */
  batchMs?: number;
}

/** Called with every non-empty batch and with the keys of jobs whose detail (object or events) changed. */
export type BatchListener = (batch: ChangeBatch & { details: string[] }) => void;

export class DashboardState {
  readonly jobs: Informer<JobObject>;
  readonly pools: Informer<PoolObject>;
  readonly pods: Informer<V1Pod>;
  readonly events: Informer<CoreV1Event>;
  private readonly jobRows = new Map<string, JobRow>();
  private readonly poolRows = new Map<string, PoolRow>();
  private pendingJobs = new Map<string, JobRow | null>();
  private pendingPools = new Map<string, PoolRow | null>();
  private pendingDetails = new Set<string>();
  private timer?: NodeJS.Timeout;
  private readonly listeners = new Set<BatchListener>();
  private readonly batchMs: number;

  constructor(opts: DashboardStateOptions) {
    const common = { kc: opts.kc, namespace: opts.namespace, logger: opts.logger };
    this.batchMs = opts.batchMs ?? 100;
    this.jobs = new Informer<JobObject>({ ...common, path: `/apis/${API_GROUP}/${API_VERSION}/${VISION_JOB_PLURAL}`, name: 'dashboard-jobs' });
    this.pools = new Informer<PoolObject>({ ...common, path: `/apis/${API_GROUP}/${API_VERSION}/${WORKER_POOL_PLURAL}`, name: 'dashboard-pools' });
    this.pods = new Informer<V1Pod>({ ...common, path: '/api/v1/pods', labelSelector: POOL_LABEL, name: 'dashboard-pods' });
    this.events = new Informer<CoreV1Event>({
      ...common,
      path: '/api/v1/events',
      name: 'dashboard-events',
      indexers: { [EVENTS_BY_OBJECT]: (e) => [`${e.involvedObject?.kind}/${e.involvedObject?.namespace ?? e.metadata?.namespace}/${e.involvedObject?.name}`] },
    });
    this.jobs.addEventHandler({
      onAdd: (j) => this.jobChanged(j),
      onUpdate: (_o, j) => this.jobChanged(j),
      onDelete: (j) => this.jobRemoved(j),
    });
    this.pools.addEventHandler({
      onAdd: (p) => this.poolChanged(p),
      onUpdate: (_o, p) => this.poolChanged(p),
      onDelete: (p) => this.poolRemoved(p),
    });
    const eventTouched = (e: CoreV1Event): void => {
      const o = e.involvedObject;
      if (o?.kind === 'VisionJob') this.detailChanged(`${o.namespace ?? e.metadata?.namespace}/${o.name}`);
      else if (o?.kind === 'Pod') {
        const job = this.jobOfPod(o.namespace ?? e.metadata?.namespace ?? '', o.name ?? '');
        if (job) this.detailChanged(job);
      }
    };
    this.events.addEventHandler({ onAdd: eventTouched, onUpdate: (_o, e) => eventTouched(e) });
  }

  async start(signal?: AbortSignal): Promise<boolean> {
    for (const i of [this.jobs, this.pools, this.pods, this.events]) i.start();
    const synced = await Promise.all([this.jobs, this.pools, this.pods, this.events].map((i) => i.waitForSync(signal)));
    return synced.every(Boolean);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await Promise.all([this.jobs, this.pools, this.pods, this.events].map((i) => i.stop()));
  }

  onBatch(l: BatchListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  jobRowsNow(): JobRow[] {
    return [...this.jobRows.values()];
  }

  poolRowsNow(): PoolRow[] {
    return [...this.poolRows.values()];
  }

  job(namespace: string, name: string): JobObject | undefined {
    return this.jobs.store.get(`${namespace}/${name}`);
  }

  pod(namespace: string, name: string): V1Pod | undefined {
    return this.pods.store.get(`${namespace}/${name}`);
  }

  /** Events of the job and of the pods that ran it, oldest first. */
  eventsOfJob(namespace: string, name: string, pods: string[]): CoreV1Event[] {
    const out = [...this.events.store.byIndex(EVENTS_BY_OBJECT, `VisionJob/${namespace}/${name}`)];
    for (const p of pods) out.push(...this.events.store.byIndex(EVENTS_BY_OBJECT, `Pod/${namespace}/${p}`));
    const at = (e: CoreV1Event): number => Date.parse(String(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? '')) || 0;
    return out.sort((a, b) => at(a) - at(b));
  }

  private jobOfPod(namespace: string, pod: string): string | undefined {
    for (const r of this.jobRows.values()) if (r.namespace === namespace && r.pod === pod) return r.key;
    return undefined;
  }

  private jobChanged(j: JobObject): void {
    const row = summarizeJob(j);
    this.detailChanged(row.key);
    const prev = this.jobRows.get(row.key);
    if (prev && sameRow(prev, row)) return;
    this.jobRows.set(row.key, row);
    this.pendingJobs.set(row.key, row);
    this.schedule();
  }

  private jobRemoved(j: JobObject): void {
    const key = `${j.metadata?.namespace}/${j.metadata?.name}`;
    this.jobRows.delete(key);
    this.pendingJobs.set(key, null);
    this.detailChanged(key);
  }

  private poolChanged(p: PoolObject): void {
    const row = summarizePool(p);
    const prev = this.poolRows.get(row.key);
    if (prev && sameRow(prev, row)) return;
    this.poolRows.set(row.key, row);
    this.pendingPools.set(row.key, row);
    this.schedule();
  }

  private poolRemoved(p: PoolObject): void {
    const key = `${p.metadata?.namespace}/${p.metadata?.name}`;
    this.poolRows.delete(key);
    this.pendingPools.set(key, null);
    this.schedule();
  }

  private detailChanged(key: string): void {
    this.pendingDetails.add(key);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.batchMs);
    this.timer.unref();
  }

  private flush(): void {
    this.timer = undefined;
    const split = <R>(m: Map<string, R | null>) => {
      const upsert: R[] = [];
      const remove: string[] = [];
      for (const [k, v] of m) if (v === null) remove.push(k);
      else upsert.push(v);
      return { upsert, remove };
    };
    const batch = { jobs: split(this.pendingJobs), pools: split(this.pendingPools), details: [...this.pendingDetails] };
    this.pendingJobs = new Map();
    this.pendingPools = new Map();
    this.pendingDetails = new Set();
    for (const l of this.listeners) l(batch);
  }
}
