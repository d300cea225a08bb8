import type { V1Pod } from '@kubernetes/client-node';
import { runController } from '../../kube/controller-loop.js';
import { WorkQueue } from '../../kube/work-queue.js';
import type { ControllerContext } from '../manager/context.js';
import type { VisionJobObject, WorkerPoolObject } from '../manager/context-types.js';
import { namespacedKey, objectKey } from '../../kube/object-store.js';
import { jobsOfPool, poolKeyOf } from '../manager/jobs-by-pool.js';
import { poolLoad } from '../admission/pool-load.js';
import { poolLimit } from '../admission/admission-pass.js';
import { tenantStats } from '../admission/tenant-stats.js';
import type { FairSharingSpec } from '../admission/fair-share.js';
import { PodDeathHandler, isDeadPod } from '../workerpod/pod-death-handler.js';
import { natsDrainer, type DrainFn } from '../workerpod/worker-drain.js';
import { POOL_LABEL } from '../workerpod/worker-pod-labels.js';
import { WorkerPoolReconciler } from './workerpool-reconciler.js';
import { workerPoolMetrics } from './workerpool-metrics.js';

export interface WorkerPoolController {
  /** Schedules a reconcile of the pool 'namespace/name' (the manager routes ctx.enqueuePool here). */
  enqueue(key: string): void;
  stop(): Promise<void>;
}

export interface WorkerPoolControllerOptions {
  /** Parallel reconciles (different pools); one pool is never reconciled twice at once. */
  workers?: number;
  /** The drain handshake; default: request/reply on the agent's control subject. */
  drain?: DrainFn;
  /**
   * Re-queues the job a dead worker pod was running: the VisionJob side's requeueJobOfDeadPod
   * bound to its runtime of this leader term (the manager passes it; tests pass their own).
   */
  requeue: (job: VisionJobObject, podName: string) => Promise<unknown>;
  random?: () => number;
}

/** Job-driven pool reconciles are coalesced over this window (see enqueue below). */
const JOB_COALESCE_MS = 100;

/**
 * The WorkerPool side of the controller (run on the leader only): scales each pool's worker pods
 * from the exact job counts in the VisionJob cache, event-driven (every job phase change and every
 * worker pod change enqueues the pool), and re-queues the job of a worker pod that died at once.
 */
export function startWorkerPoolController(
  ctx: ControllerContext,
  opts: WorkerPoolControllerOptions,
): WorkerPoolController {
  const logger = ctx.logger.child({ controller: 'workerpool' });
  const queue = new WorkQueue<string>({
    onDepthChange: (d) => ctx.metrics.workQueueDepth.set({ controller: 'workerpool' }, d),
  });
  const deaths = new PodDeathHandler<VisionJobObject>(
    () => ctx.jobs.store.list(),
    async (job, pod) => {
      await opts.requeue(job, pod);
    },
    logger,
    () => ctx.clock().getTime(),
  );
  const reconciler = new WorkerPoolReconciler<VisionJobObject>({
    core: ctx.kube.core,
    custom: ctx.kube.custom,
    getPool: (key) => ctx.pools.store.get(key),
    listPods: () => ctx.pods.store.list(),
    // Only the pool's jobs (an informer index): cheap even with 10k jobs in the cache.
    listJobs: (ns, pool) => jobsOfPool(ctx.jobs, namespacedKey(ns, pool)),
    load: (jobs, ns, pool) => poolLoad(jobs, ns, pool),
    tenants: (jobs, pool) => tenantStats(jobs, pool.metadata.namespace ?? '', pool.metadata.name ?? '', pool.spec.fairSharing as FairSharingSpec | undefined, poolLimit(pool)),
    settings: ctx.settings,
    drain: opts.drain ?? natsDrainer(ctx.nats),
    deaths,
    event: (obj, type, reason, message) => ctx.recorder.event(obj, type, reason, message),
    clock: ctx.clock,
    logger,
    random: opts.random,
    metrics: workerPoolMetrics(ctx.metrics.registry),
  });

  const enqueueNow = (key: string): void => queue.add(key);
  // Job phase changes come several times per job (Queued, Running, finished): a busy pool
  // would be reconciled, and its status written, for each. They are coalesced into one
  // reconcile per pool every JOB_COALESCE_MS (scaling follows within that delay); pod and
  // pool changes still reconcile at once.
  const coalescing = new Map<string, NodeJS.Timeout>();
  const enqueue = (key: string): void => {
    if (coalescing.has(key)) return;
    const t = setTimeout(() => {
      coalescing.delete(key);
      queue.add(key);
    }, JOB_COALESCE_MS);
    t.unref();
    coalescing.set(key, t);
  };
  const enqueuePodPool = (pod: V1Pod): void => {
    const pool = pod.metadata?.labels?.[POOL_LABEL];
    if (pool) enqueueNow(namespacedKey(pod.metadata?.namespace, pool));
  };
  const enqueueJobPool = (job: VisionJobObject): void => {
    const pk = poolKeyOf(job);
    if (pk) enqueue(pk);
  };
  /** Pod names seen deleted recently: a job whose start is reported after its pod vanished. */
  const recentlyGone = new Map<string, number>();

  const unsubscribe = [
    ctx.pools.addEventHandler({
      onAdd: (p) => enqueueNow(objectKey(p)),
      onUpdate: (o, n) => {
        if (
          // periodic resync re-delivers the same object: a level-triggered look at every pool
          o.metadata.resourceVersion === n.metadata.resourceVersion ||
          o.metadata.generation !== n.metadata.generation ||
          o.metadata.uid !== n.metadata.uid ||
          Boolean(o.metadata.deletionTimestamp) !== Boolean(n.metadata.deletionTimestamp) ||
          !n.status
        ) {
          enqueueNow(objectKey(n));
        }
      },
      onDelete: (p: WorkerPoolObject) => {
        reconciler.forget(objectKey(p));
        enqueueNow(objectKey(p));
      },
    }),
    ctx.pods.addEventHandler({
      onAdd: (pod) => {
        if (isDeadPod(pod)) void deaths.podDied(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', `pod ${pod.status?.phase}`);
        enqueuePodPool(pod);
      },
      onUpdate: (old, pod) => {
        if (isDeadPod(pod) && !isDeadPod(old)) {
          void deaths.podDied(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', `pod ${pod.status?.phase}`);
        }
        enqueuePodPool(pod);
      },
      onDelete: (pod) => {
        const ns = pod.metadata?.namespace ?? '';
        const name = pod.metadata?.name ?? '';
        recentlyGone.set(`${ns}/${name}`, ctx.clock().getTime());
        void deaths.podDied(ns, name, 'pod deleted');
        enqueuePodPool(pod);
      },
    }),
    ctx.jobs.addEventHandler({
      onAdd: enqueueJobPool,
      onUpdate: (old, job) => {
        const oldAttempt = old.status?.currentAttempt;
        const attempt = job.status?.currentAttempt;
        if (old.status?.phase !== job.status?.phase || oldAttempt?.pod !== attempt?.pod || old.spec?.pool !== job.spec?.pool) {
          enqueueJobPool(job);
          if (old.spec?.pool !== job.spec?.pool) enqueueJobPool(old);
          if (job.status?.phase === 'Running' && attempt?.pod && recentlyGone.has(`${job.metadata.namespace}/${attempt.pod}`)) {
            void deaths.podDied(job.metadata.namespace ?? '', attempt.pod, 'pod deleted before its job was reported started');
          }
        }
        pruneGone(recentlyGone, ctx.clock().getTime());
      },
      onDelete: enqueueJobPool,
    }),
  ];

  const running = runController({
    name: 'workerpool',
    queue,
    workers: opts.workers ?? 2,
    logger,
    reconcile: (key) => reconciler.reconcile(key),
    metrics: {
      onReconcile: (o) => {
        ctx.metrics.reconcileDurationSeconds.observe({ controller: 'workerpool' }, o.durationMs / 1000);
        if (o.outcome === 'error') ctx.metrics.reconcileErrors.inc({ controller: 'workerpool' });
      },
    },
  });

  return {
    enqueue,
    async stop() {
      for (const u of unsubscribe) u();
      for (const t of coalescing.values()) clearTimeout(t);
      coalescing.clear();
      await running.stop({ drain: true });
    },
  };
}

function pruneGone(m: Map<string, number>, nowMs: number): void {
  if (m.size < 256) return;
  for (const [k, at] of m) if (nowMs - at > 600_000) m.delete(k);
}
