/**
 * The VisionJob side of one leader term: the job reconciler, the per-pool admission passes, the
 * job events consumer and the MAX_DELIVERIES watcher. Started when this replica becomes leader,
 * stopped (drained) when it stops leading.
 */
import { runController, type RunningController } from '../../kube/controller-loop.js';
import { WorkQueue } from '../../kube/work-queue.js';
import type { ControllerContext } from '../manager/context.js';
import type { VisionJobObject, WorkerPoolObject } from '../manager/context-types.js';
import { reconcilePoolAdmission } from '../admission/admission-pass.js';
import { MaxDeliveriesWatcher } from '../jobevents/job-event-advisories.js';
import { EVENTS_DURABLE, JobEventConsumer, type JobEventConsumerOptions } from '../jobevents/job-event-consumer.js';
import { reconcileVisionJob } from './visionjob-reconciler.js';
import { objectKey } from '../../kube/object-store.js';
import { poolKeyOf } from '../manager/jobs-by-pool.js';
import { VisionJobRuntime } from './visionjob-runtime.js';
import { QueuedMessageSweep, type QueuedMessageSweepOptions } from './queued-message-sweep.js';
import { IN_FLIGHT_PHASES } from './visionjob-status.js';

export interface VisionJobControllerOptions {
  jobWorkers?: number;
  admissionWorkers?: number;
  events?: JobEventConsumerOptions;
  sweep?: Omit<QueuedMessageSweepOptions, 'eventsDurable'>;
  /** Subscribe to NATS (re)connects: admission passes run again at once when NATS is back. */
  onNatsChange?: (fn: (connected: boolean) => void) => () => void;
}

export interface VisionJobController {
  runtime: VisionJobRuntime;
  enqueueJob(key: string): void;
  stop(): Promise<void>;
}

function inFlight(job: VisionJobObject | undefined): boolean {
  const p = job?.status?.phase;
  return p !== undefined && IN_FLIGHT_PHASES.has(p);
}

export function startVisionJobController(ctx: ControllerContext, opts: VisionJobControllerOptions = {}): VisionJobController {
  const logger = ctx.logger.child({ controller: 'visionjob' });
  const jobQueue = new WorkQueue<string>({ onDepthChange: (d) => ctx.metrics.workQueueDepth.set({ controller: 'visionjob' }, d) });
  const admissionQueue = new WorkQueue<string>({ onDepthChange: (d) => ctx.metrics.workQueueDepth.set({ controller: 'admission' }, d) });
  const rt = new VisionJobRuntime({ ...ctx, logger }, (k) => admissionQueue.add(k));

  const enqueueJobsOfPool = (poolKey: string): void => {
    for (const j of rt.jobsOfPool(poolKey)) jobQueue.add(objectKey(j));
  };
  const unsubscribe: (() => void)[] = [
    ctx.jobs.addEventHandler({
      onAdd: (j) => jobQueue.add(objectKey(j)),
      onUpdate: (old, j) => {
        rt.store.observed(objectKey(j), j);
        const phase = j.status?.phase;
        if (phase !== undefined && phase !== 'Pending') rt.published.delete(j.metadata.uid ?? '');
        jobQueue.add(objectKey(j));
        const pk = poolKeyOf(j);
        if (!pk) return;
        // A slot freed (or a priority or a label, so maybe the tenant, changed): the pool's waiting
        // jobs may go now. A job that becomes in flight (our own Queued write echoing back) frees
        // nothing: no pass for it.
        const relabeled = JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(j.metadata.labels ?? {});
        if ((inFlight(old) && !inFlight(j)) || old.spec?.priority !== j.spec?.priority || old.spec?.suspend !== j.spec?.suspend || relabeled) {
          admissionQueue.add(pk);
        }
        if (old.status?.phase !== phase) ctx.enqueuePool(pk);
      },
      onDelete: (j) => {
        rt.forgetJob(objectKey(j), j.metadata.uid ?? '');
        const pk = poolKeyOf(j);
        if (pk) {
          admissionQueue.add(pk);
          ctx.enqueuePool(pk);
        }
      },
    }),
    ctx.pools.addEventHandler({
      onAdd: (p: WorkerPoolObject) => {
        admissionQueue.add(objectKey(p));
        enqueueJobsOfPool(objectKey(p));
      },
      onUpdate: (o, p) => {
        if (o.metadata.generation !== p.metadata.generation || o.metadata.uid !== p.metadata.uid) {
          rt.consumers.delete(objectKey(p));
          admissionQueue.add(objectKey(p));
          enqueueJobsOfPool(objectKey(p));
        }
      },
      onDelete: (p) => {
        rt.consumers.delete(objectKey(p));
        enqueueJobsOfPool(objectKey(p));
      },
    }),
  ];
  if (opts.onNatsChange) {
    unsubscribe.push(
      opts.onNatsChange((connected) => {
        if (!connected) return;
        rt.consumers.clear();
        for (const p of ctx.pools.store.list()) admissionQueue.add(objectKey(p));
      }),
    );
  }

  const onReconcile = (controller: string) => (o: { durationMs: number; outcome: string }) => {
    ctx.metrics.reconcileDurationSeconds.observe({ controller }, o.durationMs / 1000);
    if (o.outcome === 'error') ctx.metrics.reconcileErrors.inc({ controller });
  };
  const runners: RunningController[] = [
    runController({
      name: 'visionjob',
      queue: jobQueue,
      workers: opts.jobWorkers ?? 4,
      logger,
      reconcile: (key) => reconcileVisionJob(rt, key),
      metrics: { onReconcile: onReconcile('visionjob') },
    }),
    runController({
      name: 'admission',
      queue: admissionQueue,
      workers: opts.admissionWorkers ?? 2,
      logger,
      reconcile: (key) => reconcilePoolAdmission(rt, key),
      metrics: { onReconcile: onReconcile('admission') },
    }),
  ];
  const events = new JobEventConsumer(rt, opts.events);
  events.start();
  const advisories = new MaxDeliveriesWatcher(rt);
  advisories.start();
  const sweep = new QueuedMessageSweep(rt, { ...opts.sweep, eventsDurable: opts.events?.durable ?? EVENTS_DURABLE });
  sweep.start();

  return {
    runtime: rt,
    enqueueJob: (key) => jobQueue.add(key),
    async stop() {
      for (const u of unsubscribe) u();
      await Promise.all([events.stop(), advisories.stop(), sweep.stop(), ...runners.map((r) => r.stop({ drain: true }))]);
      await rt.settled();
      rt.retire();
    },
  };
}
