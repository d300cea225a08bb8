import type { CoreV1Api, CustomObjectsApi, KubernetesObject, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_GROUP, API_VERSION, WORKER_POOL_KIND, WORKER_POOL_PLURAL } from '../../api/constants.js';
import { classifyApiError, describeApiError, statusCodeOf } from '../../kube/api-errors.js';
import type { ReconcileResult } from '../../kube/controller-loop.js';
import { mergePatchCustomObjectStatus } from '../../kube/kube-patch.js';
import { namespacedKey, objectKey } from '../../kube/object-store.js';
import type { DrainFn } from '../workerpod/worker-drain.js';
import { buildWorkerPod, workerPodName, workerTemplateHash, WorkerTemplateError, type WorkerPodSettings } from '../workerpod/worker-pod-builder.js';
import { POOL_LABEL, WORKER_LABEL } from '../workerpod/worker-pod-labels.js';
import { busyPodsOf, classifyWorkerPod, terminatingStaleAtMs, type WorkerPodState } from '../workerpod/worker-pod-state.js';
import { WorkerIdleTracker } from './worker-idle-tracker.js';
import { PodExpectations } from './workerpool-expectations.js';
import { computePoolStatus, statusChanged, type WorkerPoolStatusView } from './workerpool-status.js';
import { planScaling, type PoolLoadCounts, type ScalingPlan } from './scaling-plan.js';
import { effectivePoolSpec, type VisionJobView, type WorkerPoolView } from './workerpool-view.js';
import type { PodDeathTracker } from '../workerpod/pod-death-handler.js';
import { forgetPoolMetrics, recordTenantLoad, recordWorkerStates, type WorkerPoolMetrics } from './workerpool-metrics.js';
import { LIMITS } from '../../api/constants.js';
import type { TenantStatus } from '../../api/worker-pool.js';

export type PoolObject = WorkerPoolView;

export interface WorkerPoolReconcilerDeps<J extends VisionJobView> {
  core: CoreV1Api;
  custom: CustomObjectsApi;
  getPool(key: string): PoolObject | undefined;
  listPods(): V1Pod[];
  /** Jobs of one pool (or more: they are filtered again). */
  listJobs(namespace: string, pool: string): J[];
  /** Queued / running jobs of a pool (admission/pool-load.ts). */
  load(jobs: J[], namespace: string, pool: string): PoolLoadCounts;
  /** Per-tenant load of the pool, most active first (admission/tenant-stats.ts); no tenant status when unset. */
  tenants?(jobs: J[], pool: PoolObject): TenantStatus[];
  settings: WorkerPodSettings;
  drain: DrainFn;
  deaths: PodDeathTracker<J>;
  event(obj: KubernetesObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
  clock: () => Date;
  logger: Logger;
  random?: () => number;
  metrics?: WorkerPoolMetrics;
  /** After a drain was refused or could not be asked, try again this much later. */
  retryDrainMs?: number;
}

function nowOf(clock: () => Date): number {
  return clock().getTime();
}

/** After this many unanswered/refused drains a pod is retried later rather than in a tight loop. */
const DEFAULT_RETRY_DRAIN_MS = 2_000;
/** A pod the API server rejected (quota, pod security, invalid spec) is tried again this much later. */
const REJECTED_CREATE_RETRY_MS = 30_000;
/**
 * A status change that only moves counters (busy, idle, queued, running, tenants) waits this
 * long after the previous write: a burst of short jobs would otherwise patch the pool's status
 * for nearly every job. Conditions, replicas and readiness are written at once.
 */
const COUNTS_ONLY_WRITE_MS = 1_000;
const COUNTERS = ['busy', 'idle', 'queued', 'running', 'tenants'] as const;

/**
 * Level-triggered reconcile of one WorkerPool: reads pool, pods and jobs from the caches, plans
 * (scaling-plan.ts) and converges: creates worker pods, drains and deletes idle ones, deletes dead
 * ones, re-queues jobs of pods that vanished, and writes the pool's status through /status.
 */
export class WorkerPoolReconciler<J extends VisionJobView> {
  private readonly trackers = new Map<string, WorkerIdleTracker>();
  private readonly expectations = new PodExpectations();
  private readonly capacityPending = new Map<string, string>();
  private readonly templateErrors = new Map<string, string>();
  /** Ready workers whose agent did not answer a drain, since when. */
  private readonly silentSince = new Map<string, number>();
  private readonly ackWaitMs = new Map<string, number>();
  private readonly statusWrittenAt = new Map<string, number>();
  /** The template hash per pool and spec generation: building the pod body to hash it is not free, and pools reconcile on every job change. */
  private readonly templateHashes = new Map<string, { uid?: string; generation?: number; hash: string }>();
  /** Tenants whose gauges each pool exports (removed when a tenant has no job left). */
  private readonly tenantSeries = new Map<string, Set<string>>();

  constructor(private readonly deps: WorkerPoolReconcilerDeps<J>) {}

  /** The pool is gone: forget its in-memory state (its pods go by garbage collection). */
  forget(key: string): void {
    const [namespace, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
    if (this.deps.metrics) forgetPoolMetrics(this.deps.metrics, namespace, name, this.tenantSeries.get(key));
    this.tenantSeries.delete(key);
    this.trackers.delete(key);
    this.expectations.clear(key);
    this.capacityPending.delete(key);
    this.templateErrors.delete(key);
    this.ackWaitMs.delete(key);
    this.statusWrittenAt.delete(key);
    this.templateHashes.delete(key);
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const pool = this.deps.getPool(key);
    if (!pool) {
      this.forget(key);
      return;
    }
    const namespace = pool.metadata.namespace ?? '';
    const name = pool.metadata.name ?? '';
    const log = this.deps.logger.child({ namespace, name, controller: 'workerpool' });
    const now = this.deps.clock();
    const nowMs = now.getTime();
    const spec = effectivePoolSpec(pool.spec);
    this.ackWaitMs.set(key, spec.ackWaitSeconds * 1000);
    const poolDeleting = Boolean(pool.metadata.deletionTimestamp);

    let templateHash = '';
    let templateError: string | undefined;
    try {
      const known = this.templateHashes.get(key);
      if (known && known.uid === pool.metadata.uid && known.generation !== undefined && known.generation === pool.metadata.generation) {
        templateHash = known.hash;
      } else {
        templateHash = workerTemplateHash(pool, this.deps.settings);
        this.templateHashes.set(key, { uid: pool.metadata.uid, generation: pool.metadata.generation, hash: templateHash });
      }
      this.templateErrors.delete(key);
    } catch (err) {
      if (!(err instanceof WorkerTemplateError)) throw err;
      templateError = err.message;
      if (this.templateErrors.get(key) !== err.message) {
        this.templateErrors.set(key, err.message);
        this.deps.event(this.ref(pool), 'Warning', 'InvalidTemplate', err.message);
      }
    }

    const pods = this.podsOf(pool);
    const cached = new Map(pods.map((p) => [p.metadata?.name ?? '', { deleting: Boolean(p.metadata?.deletionTimestamp) }]));
    const expected = this.expectations.pending(key, cached, nowMs);
    const jobs = this.deps.listJobs(namespace, name);
    const busy = busyPodsOf(jobs, namespace, name);
    const busySet = new Set(busy.keys());

    // Jobs whose pod vanished without our noticing (controller restart, missed delete event).
    const recheckDeathsMs = this.deps.deaths.sweep(namespace, name, (p) => cached.has(p) || expected.creating.includes(p), undefined, jobs);

    const workers: WorkerPodState[] = [];
    let staleCheckMs: number | undefined;
    for (const p of pods) {
      const w = classifyWorkerPod(p, { busyPods: busySet, templateHash, nowMs });
      if (!w) {
        // Terminating long past its grace period: its node is gone and will not confirm the end.
        void this.deps.deaths.podDied(namespace, p.metadata?.name ?? '', 'terminating long past its grace period (node lost?)');
        continue;
      }
      const staleAt = terminatingStaleAtMs(p);
      if (staleAt !== undefined) staleCheckMs = Math.min(staleCheckMs ?? Infinity, staleAt - nowMs + 100);
      // A delete we issued that the cache has not shown yet: already on its way out.
      if (expected.deleting.includes(w.name) && w.phase !== 'dead') w.phase = 'terminating';
      workers.push(w);
    }
    for (const n of expected.creating) {
      workers.push({ name: n, phase: 'unscheduled', busy: false, outdated: false, createdMs: nowMs });
    }

    const tracker = this.trackerOf(key);
    const idleSince = tracker.observe(
      workers.filter((w) => w.phase !== 'terminating' && w.phase !== 'dead'),
      nowMs,
    );
    const load = this.deps.load(jobs, namespace, name);
    const plan = planScaling({ spec, load, workers, idleSinceMs: idleSince, nowMs, poolDeleting });
    if (templateError) plan.create = 0;
    if (this.deps.metrics) {
      recordWorkerStates(this.deps.metrics, namespace, name, workers);
      this.deps.metrics.desiredReplicas.set({ namespace, pool: name }, plan.desired);
    }
    const tenants = this.deps.tenants?.(jobs, pool);
    if (this.deps.metrics && tenants) this.tenantSeries.set(key, recordTenantLoad(this.deps.metrics, namespace, name, tenants, this.tenantSeries.get(key)));

    let retryMs: number | undefined;
    const retryLater = (): void => {
      retryMs = this.deps.retryDrainMs ?? DEFAULT_RETRY_DRAIN_MS;
    };

    for (const podName of plan.deleteDead) {
      await this.deletePod(key, namespace, podName, log, 'dead');
    }

    const byName = new Map(workers.map((w) => [w.name, w]));
    // Drains run in parallel: each may wait for an agent's answer.
    await Promise.all(
      plan.replaceOutdated.map(async (podName) => {
        const outcome = await this.removeIdleWorker(key, namespace, byName.get(podName)!, log, 'outdated');
        if (outcome === 'removed') {
          this.deps.event(this.ref(pool), 'Normal', 'ScaledDown', `Replacing idle worker pod ${podName}: the pool's template changed`);
        } else retryLater();
      }),
    );

    if (plan.scaleDown) {
      const queue = [...plan.scaleDown.candidates];
      let removed = 0;
      // Ask as many workers as still need to go; when some refuse, ask the next ones.
      while (removed < plan.scaleDown.count && queue.length > 0) {
        const batch = queue.splice(0, plan.scaleDown.count - removed);
        const outcomes = await Promise.all(batch.map((podName) => this.removeIdleWorker(key, namespace, byName.get(podName)!, log, 'scale-down')));
        outcomes.forEach((outcome, i) => {
          const podName = batch[i];
          if (outcome === 'removed') {
            removed++;
            const idleFor = Math.round((nowMs - (idleSince.get(podName) ?? byName.get(podName)!.createdMs)) / 1000);
            this.deps.event(
              this.ref(pool),
              'Normal',
              'ScaledDown',
              `Removed idle worker pod ${podName} (idle ${idleFor}s; desired ${plan.desired} for ${load.queued} queued + ${load.running} running job(s))`,
            );
          } else {
            if (outcome === 'refused') tracker.resetIdleClock(podName, nowMs);
            retryLater();
          }
        });
      }
    }

    let blocked: { reason: string; message: string } | undefined = templateError
      ? { reason: 'InvalidTemplate', message: templateError }
      : undefined;
    let createError: unknown;
    if (plan.create > 0) {
      const { created, rejected, error } = await this.createWorkers(pool, plan.create, log);
      if (rejected) {
        // Rejected for good until something changes (invalid spec, quota, pod security): say so
        // on the pool and look again a little later (quota may free up) instead of hammering.
        blocked = { reason: 'FailedCreate', message: rejected };
        retryMs = Math.min(retryMs ?? Infinity, REJECTED_CREATE_RETRY_MS);
      }
      createError = error;
      if (created.length > 0) {
        this.deps.event(
          this.ref(pool),
          'Normal',
          'ScaledUp',
          `Created worker pod(s) ${created.join(', ')}: desired ${plan.desired} for ${load.queued} queued + ${load.running} running job(s)`,
        );
      }
    }

    this.reportCapacity(key, pool, plan);
    const statusDeferredMs = await this.writeStatus(key, pool, workers, load, plan, now, blocked, log, tenants?.slice(0, LIMITS.statusTenants));
    // Transient create failures (5xx, network, throttling): the work queue's backoff retries.
    if (createError) throw createError;

    const after = [plan.requeueAfterMs, retryMs, recheckDeathsMs, staleCheckMs, statusDeferredMs].filter((v): v is number => v !== undefined);
    return after.length > 0 ? { requeueAfterMs: Math.max(50, Math.min(...after)) } : undefined;
  }

  private podsOf(pool: PoolObject): V1Pod[] {
    const ns = pool.metadata.namespace;
    const name = pool.metadata.name;
    return this.deps.listPods().filter(
      (p) =>
        p.metadata?.namespace === ns &&
        p.metadata?.labels?.[POOL_LABEL] === name &&
        p.metadata?.labels?.[WORKER_LABEL] === 'true' &&
        // A pod of an earlier pool of the same name is being garbage collected: not ours.
        (p.metadata?.ownerReferences ?? []).some((o) => o.controller && o.uid === pool.metadata.uid),
    );
  }

  private silentAgentMs(key: string): number {
    return Math.max(30_000, this.ackWaitMs.get(key) ?? 60_000);
  }

  private trackerOf(key: string): WorkerIdleTracker {
    let t = this.trackers.get(key);
    if (!t) this.trackers.set(key, (t = new WorkerIdleTracker()));
    return t;
  }

  /**
   * Drain, then delete. A pod without a node has no agent; a pod whose agent does not listen yet
   * (still starting) and that no job names can go too. Anything else needs the agent's consent.
   */
  private async removeIdleWorker(
    key: string,
    namespace: string,
    w: WorkerPodState,
    log: Logger,
    reason: 'scale-down' | 'outdated',
  ): Promise<'removed' | 'refused' | 'unavailable'> {
    if (w.phase !== 'unscheduled') {
      const r = await this.deps.drain(namespace, key.slice(key.indexOf('/') + 1), w.name);
      if (r.outcome !== 'no-agent') this.silentSince.delete(namespacedKey(namespace, w.name));
      if (r.outcome === 'refused') {
        log.info({ pod: w.name, reason: r.reason }, 'worker refused to drain');
        this.deps.metrics?.drainRefusals.inc({ namespace, pool: key.slice(key.indexOf('/') + 1) });
        return 'refused';
      }
      if (r.outcome === 'unavailable') {
        log.info({ pod: w.name, reason: r.reason }, 'could not ask worker to drain; retrying later');
        return 'unavailable';
      }
      if (r.outcome === 'no-agent' && w.phase === 'ready') {
        // A ready worker whose agent does not listen is either still starting (it subscribes
        // before it fetches: no job yet) or cut off from NATS with a job we may not have heard
        // of. Only when that lasts longer than the ack deadline (by then JetStream has handed
        // any such job to another worker) is the pod removed without the agent's consent.
        const first = this.silentSince.get(namespacedKey(namespace, w.name)) ?? nowOf(this.deps.clock);
        this.silentSince.set(namespacedKey(namespace, w.name), first);
        if (nowOf(this.deps.clock) - first < this.silentAgentMs(key)) {
          log.info({ pod: w.name }, 'ready worker has no agent listening; not removing it yet');
          return 'unavailable';
        }
        log.warn({ pod: w.name }, 'worker agent silent longer than the ack deadline: removing the pod');
      }
    }
    return (await this.deletePod(key, namespace, w.name, log, reason)) ? 'removed' : 'unavailable';
  }

  private async deletePod(key: string, namespace: string, name: string, log: Logger, why: 'dead' | 'scale-down' | 'outdated'): Promise<boolean> {
    this.expectations.expectDelete(key, name, this.deps.clock().getTime());
    this.silentSince.delete(namespacedKey(namespace, name));
    try {
      await this.deps.core.deleteNamespacedPod({ name, namespace });
      log.info({ pod: name, why }, 'deleted worker pod');
      this.deps.metrics?.podsDeleted.inc({ namespace, pool: key.slice(key.indexOf('/') + 1), reason: why });
      return true;
    } catch (err) {
      if (classifyApiError(err) === 'not-found') return true;
      this.expectations.forgetDelete(key, name);
      throw err;
    }
  }

  private async createWorkers(
    pool: PoolObject,
    count: number,
    log: Logger,
  ): Promise<{ created: string[]; rejected?: string; error?: unknown }> {
    const key = objectKey(pool);
    const created: string[] = [];
    let rejected: string | undefined;
    let error: unknown;
    await Promise.all(
      Array.from({ length: count }, async () => {
        const podName = workerPodName(pool.metadata.name ?? 'worker', this.deps.random);
        const body = buildWorkerPod(pool, this.deps.settings, podName);
        this.expectations.expectCreate(key, podName, this.deps.clock().getTime());
        try {
          await this.deps.core.createNamespacedPod({ namespace: pool.metadata.namespace ?? '', body });
          created.push(podName);
          this.deps.metrics?.podsCreated.inc({ namespace: pool.metadata.namespace ?? '', pool: pool.metadata.name ?? '' });
        } catch (err) {
          // Without an answer the pod may exist after all: keep expecting it (until the cache shows
          // it or the expectation expires) rather than risk a pod over maxReplicas.
          if (classifyApiError(err) !== 'network') this.expectations.forgetCreate(key, podName);
          // A name clash (409) is harmless: the next reconcile picks another name.
          if (classifyApiError(err) === 'conflict') return;
          const code = statusCodeOf(err);
          if (code === 400 || code === 403 || code === 422) {
            rejected ??= `worker pod rejected by the API server: ${describeApiError(err)}`;
          } else {
            error ??= err;
          }
        }
      }),
    );
    if (created.length > 0) log.info({ pods: created }, 'created worker pods');
    if (rejected || error) {
      const message = rejected ?? `creating worker pods failed: ${describeApiError(error)}`;
      log.warn({ err: error }, message);
      this.deps.event(this.ref(pool), 'Warning', 'FailedCreate', message);
    }
    return { created: created.sort(), ...(rejected ? { rejected } : {}), ...(error ? { error } : {}) };
  }

  private reportCapacity(key: string, pool: PoolObject, plan: ScalingPlan): void {
    const u = plan.unschedulable;
    if (u.count === 0) {
      this.capacityPending.delete(key);
      return;
    }
    const msg = u.message ?? 'no node fits';
    // One event per episode (the scheduler's message changes as nodes come and go); the
    // condition carries the latest reason.
    if (this.capacityPending.has(key)) return;
    this.capacityPending.set(key, msg);
    this.deps.event(this.ref(pool), 'Warning', 'CapacityPending', `${u.count} worker pod(s) waiting for a node: ${msg}`);
  }

  /** Writes the pool's status if it changed; returns how long a counters-only change was deferred. */
  private async writeStatus(
    key: string,
    pool: PoolObject,
    workers: WorkerPodState[],
    load: PoolLoadCounts,
    plan: ScalingPlan,
    now: Date,
    blocked: { reason: string; message: string } | undefined,
    log: Logger,
    tenants: TenantStatus[] | undefined,
  ): Promise<number | undefined> {
    const status = computePoolStatus({
      generation: pool.metadata.generation,
      workers,
      load,
      plan,
      previous: pool.status,
      now,
      blocked,
      tenants,
    });
    if (!statusChanged(pool.status, status)) return undefined;
    const prev = (pool.status ?? {}) as Record<string, unknown>;
    const countsOnly = pool.status && !statusChanged(pool.status, { ...status, ...Object.fromEntries(COUNTERS.map((k) => [k, prev[k]])) } as WorkerPoolStatusView);
    const since = now.getTime() - (this.statusWrittenAt.get(key) ?? -Infinity);
    if (countsOnly && since < COUNTS_ONLY_WRITE_MS) return COUNTS_ONLY_WRITE_MS - since;
    try {
      await mergePatchCustomObjectStatus(
        this.deps.custom,
        { group: API_GROUP, version: API_VERSION, plural: WORKER_POOL_PLURAL, namespace: pool.metadata.namespace ?? '', name: pool.metadata.name ?? '' },
        { status },
      );
      this.statusWrittenAt.set(key, now.getTime());
    } catch (err) {
      if (classifyApiError(err) === 'not-found') return undefined;
      log.warn({ err }, 'writing pool status failed');
      throw err;
    }
  }

  private ref(pool: PoolObject): KubernetesObject {
    const { name, namespace, uid } = pool.metadata;
    return { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: WORKER_POOL_KIND, metadata: { name, namespace, uid } };
  }
}
