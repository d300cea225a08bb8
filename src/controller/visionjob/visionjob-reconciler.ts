/**
 * The VisionJob reconciler: level-triggered, idempotent, reads the newest state from the cache.
 *
 *   deleted            → cancellation (visionjob-cancel.ts), then the finalizer is released
 *   finished           → finalizer released, ttlSecondsAfterFinished honoured
 *   invalid spec       → Failed, condition Failed=True reason InvalidSpec naming the field
 *   Pending            → finalizer added, then either a Pending condition saying why it waits
 *                        (PoolNotFound, Suspended) or handed to the pool's admission pass
 *   Queued / Running   → nothing: the job events consumer moves it on; with spec.suspend a
 *                        queued job is taken out of the stream, a running one stopped
 *                        (visionjob-suspend.ts)
 */
import type { ReconcileResult } from '../../kube/controller-loop.js';
import type { VisionJobObject } from '../manager/context-types.js';
import { handleDeletion } from './visionjob-cancel.js';
import { addFinalizer, hasFinalizer, removeFinalizer } from './visionjob-finalizer.js';
import { pendingStatus, setPending } from './visionjob-pending.js';
import { poolKeyOf } from '../manager/jobs-by-pool.js';
import { type VisionJobRuntime } from './visionjob-runtime.js';
import { setCondition } from '../../api/conditions.js';
import { failJob, isTerminal, queuedMessageSeq, type VisionJobStatus } from './visionjob-status.js';
import { deleteQueuedJob } from '../../queue/topology.js';
import { finishSuspend, suspendRunning } from './visionjob-suspend.js';
import { newerDeliveryClaimed } from './attempt-records.js';

export async function reconcileVisionJob(rt: VisionJobRuntime, key: string): Promise<ReconcileResult | void> {
  const job = rt.store.get(key);
  if (!job) {
    rt.store.forget(key);
    return;
  }
  const uid = job.metadata.uid ?? '';
  const log = rt.ctx.logger.child({ namespace: job.metadata.namespace, name: job.metadata.name });
  if (job.metadata.deletionTimestamp) return handleDeletion(rt, job);

  const status: VisionJobStatus = job.status ?? {};
  const now = rt.now();
  const gen = job.metadata.generation;

  if (isTerminal(status)) {
    rt.published.delete(uid);
    if (hasFinalizer(job)) await removeFinalizer(rt, key, uid);
    return ttlAfterFinished(rt, key, job, now);
  }

  const invalid = rt.specError(job);
  if (invalid) {
    log.info({ error: invalid }, 'invalid VisionJob spec');
    let events: { type: 'Normal' | 'Warning'; reason: string; message: string }[] = [];
    const written = await rt.store.updateStatus(
      key,
      (j) => {
        if (isTerminal(j.status)) return undefined;
        const r = failJob(j.status ?? {}, 'InvalidSpec', invalid, now.toISOString(), now, j.metadata.generation);
        events = r.events;
        return { ...r.status, observedGeneration: j.metadata.generation };
      },
      { uid },
    );
    if (written) for (const e of events) rt.ctx.recorder.event(written, e.type, e.reason, e.message);
    return;
  }

  if (!hasFinalizer(job)) await addFinalizer(rt, key, uid);

  const phase = status.phase ?? 'Pending';
  if (status.currentAttempt?.ended === 'suspending') return finishSuspend(rt, key, job);
  if (phase === 'Running' && job.spec.suspend === true) return suspendRunning(rt, key, job);
  if (phase === 'Queued' && job.spec.suspend === true) {
    return unqueue(rt, key, job, {
      reason: 'Suspended',
      pending: 'spec.suspend is true: the job was taken out of the queue until it is resumed',
      admitted: 'taken out of the queue by spec.suspend',
      event: { type: 'Normal', reason: 'Suspended', message: 'Taken out of the queue (spec.suspend)' },
    });
  }
  if (phase === 'Queued' && !rt.pool(poolKeyOf(job)!)) {
    // Its pool was deleted: no worker will ever pull the message, and a queued job would keep
    // counting as in flight. Hold it Pending until a pool of that name exists again.
    const why = `WorkerPool "${job.spec.pool}" was deleted; the job was taken out of the queue until it exists again`;
    return unqueue(rt, key, job, {
      reason: 'PoolNotFound',
      pending: why,
      admitted: 'taken out of the queue: its WorkerPool was deleted',
      event: { type: 'Warning', reason: 'PoolDeleted', message: why },
    });
  }
  if (phase !== 'Pending') {
    if (status.observedGeneration !== gen) {
      await rt.store.updateStatus(key, (j) => (j.status?.observedGeneration === j.metadata.generation ? undefined : { ...(j.status ?? {}), observedGeneration: j.metadata.generation }), { uid });
    }
    return;
  }

  const poolKey = poolKeyOf(job)!;
  const pool = rt.pool(poolKey);
  if (!pool) {
    await setPending(rt, key, uid, 'PoolNotFound', `WorkerPool "${job.spec.pool}" not found in namespace ${job.metadata.namespace}`);
    return;
  }
  if (job.spec.suspend === true) {
    await setPending(rt, key, uid, 'Suspended', 'spec.suspend is true: the job is held until it is resumed');
    return;
  }
  // A job already told it waits for capacity (or its tenant's quota, or the namespace cap) is
  // admitted by the pass a freed slot triggers; re-running the pool's pass for each of a large
  // backlog's status writes would be quadratic.
  const waiting = status.conditions?.find((c) => c.type === 'Pending' && c.status === 'True');
  if (!POOL_SIDE_WAITS.has(waiting?.reason ?? '')) rt.enqueueAdmission(poolKey);
}

const POOL_SIDE_WAITS: ReadonlySet<string> = new Set(['PoolAtCapacity', 'TenantAtQuota', 'QueueQuotaExceeded']);

interface Hold {
  reason: 'Suspended' | 'PoolNotFound';
  /** Message of the Pending condition. */
  pending: string;
  /** Message of the Admitted=False condition. */
  admitted: string;
  event: { type: 'Normal' | 'Warning'; reason: string; message: string };
}

/**
 * A queued (not running) job that must wait again — spec.suspend was set, or its pool was
 * deleted: take its message out of the stream and hold it Pending. Its next publish uses a new
 * msgID (requeueGeneration), so the stream's duplicate window does not swallow it later.
 */
async function unqueue(rt: VisionJobRuntime, key: string, job: VisionJobObject, hold: Hold): Promise<ReconcileResult | void> {
  const st = job.status ?? {};
  if (st.currentAttempt && !st.currentAttempt.ended) return; // running: it is not taken back
  const nats = rt.ctx.nats.current();
  if (!nats) return { requeueAfterMs: 2000 };
  const seq = queuedMessageSeq(st);
  // An agent claimed a newer delivery than the status shows: it is starting the job right now,
  // and deleting the message would let it run while the status says Suspended. Its `started`
  // event comes next; a running job is then stopped (visionjob-suspend.ts).
  const cur = st.currentAttempt;
  if (await newerDeliveryClaimed(nats, job.metadata.uid ?? '', { streamSeq: cur?.streamSeq ?? 0, deliveryCount: cur?.deliveryCount ?? 0 })) {
    return { requeueAfterMs: 500 };
  }
  const removed = seq === undefined ? false : await deleteQueuedJob(nats.jsm, seq);
  if (!removed) return; // an agent holds it: the job runs
  const now = rt.now();
  const uid = job.metadata.uid ?? '';
  const written = await rt.store.updateStatus(
    key,
    (j) => {
      const cur = j.status ?? {};
      if (cur.phase !== 'Queued') return undefined;
      const held = pendingStatus(cur, hold.reason, hold.pending, now, j.metadata.generation);
      return {
        ...held,
        queueSequence: undefined,
        requeueGeneration: (cur.requeueGeneration ?? 0) + 1,
        conditions: setCondition(held.conditions, { type: 'Admitted', status: 'False', reason: hold.reason, message: hold.admitted, observedGeneration: j.metadata.generation }, now),
      };
    },
    { uid },
  );
  if (written) rt.ctx.recorder.event(written, hold.event.type, hold.event.reason, hold.event.message);
  rt.published.delete(uid);
}

async function ttlAfterFinished(rt: VisionJobRuntime, key: string, job: VisionJobObject, now: Date): Promise<ReconcileResult | void> {
  const ttl = job.spec.ttlSecondsAfterFinished;
  const done = job.status?.completionTime;
  if (ttl === undefined || ttl === null || !done) return;
  const due = Date.parse(done) + ttl * 1000;
  if (!Number.isFinite(due)) return;
  const wait = due - now.getTime();
  if (wait > 0) return { requeueAfterMs: wait };
  rt.ctx.logger.info({ namespace: job.metadata.namespace, name: job.metadata.name, ttl }, 'deleting finished job after ttlSecondsAfterFinished');
  await rt.store.delete(key, job.metadata.uid ?? '');
}
