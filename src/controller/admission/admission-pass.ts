/**
 * The admission pass of one pool (work queue key 'namespace/pool'): publishes the waiting jobs
 * that fit under the pool's concurrency limit, shared fairly between tenants (fair-share.ts), and
 * tells the others why they wait. Runs one pass per pool at a time (the work queue guarantees it), so two passes never
 * both see the same free slot.
 */
import type { ReconcileResult } from '../../kube/controller-loop.js';
import { resolveJobSettings } from '../../api/job-settings.js';
import type { WorkerPoolSpec } from '../../api/worker-pool.js';
import { clearCondition, setCondition, toRfc3339 } from '../../api/conditions.js';
import { publishJob } from '../../queue/publisher.js';
import { ensurePoolConsumer } from '../../queue/topology.js';
import { NatsUnavailableError, QueueFullError } from '../../queue/errors.js';
import type { JobMessageInput } from '../../queue/job-message.js';
import type { NatsHandles } from '../manager/context.js';
import type { VisionJobObject, WorkerPoolObject } from '../manager/context-types.js';
import { isWaiting, planAdmission } from './admission-plan.js';
import { earlierRequeue, notBeforeMessage, splitByNotBefore } from './not-before.js';
import { SHARED_TENANT, planTenantAdmission, quotaMessage, tenantOf, tenantPolicy, type FairSharingSpec, type QuotaHold, type TenantPolicy } from './fair-share.js';
import { namespaceQueueHolds, queueCapMessage } from './namespace-queue-cap.js';
import { hasFinalizer } from '../visionjob/visionjob-finalizer.js';
import { setPending, type TenantField } from '../visionjob/visionjob-pending.js';
import { objectKey } from '../../kube/object-store.js';
import { poolKeyOf } from '../manager/jobs-by-pool.js';
import { type VisionJobRuntime } from '../visionjob/visionjob-runtime.js';
import { isTerminal } from '../visionjob/visionjob-status.js';

/** Deliveries allowed beyond `retries` failures: disruptions (worker loss, drain) also redeliver. */
export const MAX_DELIVER_MARGIN = 20;
const NATS_RETRY_MS = 2000;
const QUEUE_FULL_RETRY_MS = 5000;
const MARK_CONCURRENCY = 8;
const RECORD_CONCURRENCY = 8;
const SAFETY_PASS_MS = 30_000;
/** A job held by the namespace cap waits on jobs of other pools, whose starts do not trigger this pool's pass. */
const QUEUE_CAP_RECHECK_MS = 1000;

export function poolLimit(pool: WorkerPoolObject): number {
  const max = pool.spec.maxReplicas ?? 1;
  const slots = pool.spec.slotsPerWorker ?? 1;
  return Math.max(0, max * slots);
}

function poolRetries(pool: WorkerPoolObject, jobs: VisionJobObject[]): number {
  let retries = resolveJobSettings({}, pool.spec as Pick<WorkerPoolSpec, 'jobDefaults'>).retries;
  for (const j of jobs) if (typeof j.spec.retries === 'number') retries = Math.max(retries, j.spec.retries);
  return retries;
}

export function buildJobMessage(job: VisionJobObject, pool: WorkerPoolObject, now: Date): JobMessageInput {
  const settings = resolveJobSettings(job.spec, pool.spec as Pick<WorkerPoolSpec, 'jobDefaults'>);
  return {
    uid: job.metadata.uid ?? '',
    namespace: job.metadata.namespace ?? '',
    name: job.metadata.name ?? '',
    pool: job.spec.pool,
    input: job.spec.input ?? {},
    args: job.spec.args ?? [],
    env: Object.fromEntries((job.spec.env ?? []).map((e) => [e.name, e.value ?? ''])),
    timeoutSeconds: settings.timeoutSeconds,
    retries: settings.retries,
    backoff: settings.backoff,
    permanentExitCodes: pool.spec.permanentExitCodes ?? [],
    requeueGeneration: job.status?.requeueGeneration ?? 0,
    publishedAt: now.toISOString(),
  };
}

async function ensureConsumer(rt: VisionJobRuntime, nats: NatsHandles, poolKey: string, pool: WorkerPoolObject, jobs: VisionJobObject[]): Promise<void> {
  const [namespace, name] = poolKey.split('/') as [string, string];
  const opts = {
    namespace,
    pool: name,
    ackWaitSeconds: pool.spec.ackWaitSeconds ?? 60,
    maxAckPending: Math.max(1, poolLimit(pool)),
    maxDeliver: poolRetries(pool, jobs) + 1 + MAX_DELIVER_MARGIN,
  };
  const sig = JSON.stringify(opts);
  if (rt.consumers.get(poolKey) === sig) return;
  const inFlight = jobs.filter(attemptInFlight).length;
  const info = await ensurePoolConsumer(nats.jsm, { ...opts, lowerAckWait: inFlight === 0 });
  const held = (info.config.ack_wait ?? 0) > opts.ackWaitSeconds * 1e9;
  if (held) {
    // Not cached: the next pass (a job finishing re-runs it) lowers it once nothing runs.
    const msg = `ackWaitSeconds lowered to ${opts.ackWaitSeconds}: the consumer keeps ${Math.round((info.config.ack_wait ?? 0) / 1e9)}s until the ${inFlight} running attempt(s) finish, since their agents heartbeat at a third of the old deadline`;
    if (rt.ackWaitHeld.get(poolKey) !== sig) {
      rt.ackWaitHeld.set(poolKey, sig);
      rt.ctx.recorder.event(pool, 'Normal', 'AckWaitChangeDeferred', msg);
      rt.ctx.logger.info({ pool: poolKey, inFlight }, msg);
    }
    return;
  }
  rt.ackWaitHeld.delete(poolKey);
  rt.consumers.set(poolKey, sig);
}

/** An attempt an agent holds (started and not ended): its heartbeat runs at the ack_wait it read. */
function attemptInFlight(j: VisionJobObject): boolean {
  const st = j.status;
  return !!st && (st.phase === 'Running' || st.phase === 'Queued') && !!st.currentAttempt && !st.currentAttempt.ended;
}

export async function reconcilePoolAdmission(rt: VisionJobRuntime, poolKey: string): Promise<ReconcileResult | void> {
  // Our own status writes count at once (a finished job frees its slot before the watch says so).
  const jobs = rt.jobsOfPool(poolKey).map((j) => rt.store.get(objectKey(j)) ?? j);
  const pool = rt.pool(poolKey);
  if (!pool || pool.metadata.deletionTimestamp) {
    // The job reconciler explains PoolNotFound.
    for (const j of jobs) rt.ctx.enqueueJob(objectKey(j));
    return;
  }
  const policy = tenantPolicy(pool.spec.fairSharing as FairSharingSpec | undefined);
  const tenant = tenantFieldOf(policy);
  const admissible = (j: VisionJobObject): boolean => hasFinalizer(j) && j.spec.suspend !== true && rt.specError(j) === undefined;
  // Delayed jobs sit out of the plan; the pass comes back when the earliest is due (a timer on
  // the work queue, not polling), and recomputes it from the spec after a restart or an edit.
  const candidates = jobs.filter((j) => isWaiting(j) && !rt.published.has(j.metadata.uid ?? '') && admissible(j));
  const { delayed, nextInMs } = splitByNotBefore(candidates, rt.now().getTime());
  const delayedUids = new Set(delayed.map((d) => d.job.metadata.uid ?? ''));
  await mapLimit(
    delayed.filter((d) => !hasPendingCondition(d.job, 'NotBefore', notBeforeMessage(d.at), tenant(d.job))),
    MARK_CONCURRENCY,
    (d) => setPending(rt, objectKey(d.job), d.job.metadata.uid ?? '', 'NotBefore', notBeforeMessage(d.at), tenant(d.job)),
  );
  const namespace = pool.metadata.namespace ?? '';
  const cap = rt.ctx.settings.maxWaitingPerNamespace;
  const capped = namespaceQueueHolds(rt.ctx.jobs.store.list(), namespace, cap, rt.now().getTime(), rt.published);
  const heldByCap = candidates.filter((j) => capped.held.has(j.metadata.uid ?? '') && !delayedUids.has(j.metadata.uid ?? ''));
  if (cap !== undefined) {
    const msg = queueCapMessage(namespace, cap);
    await mapLimit(
      heldByCap.filter((j) => !hasPendingCondition(j, 'QueueQuotaExceeded', msg, tenant(j))),
      MARK_CONCURRENCY,
      (j) => setPending(rt, objectKey(j), j.metadata.uid ?? '', 'QueueQuotaExceeded', msg, tenant(j)),
    );
  }
  const eligible = (j: VisionJobObject): boolean => admissible(j) && !delayedUids.has(j.metadata.uid ?? '') && !capped.held.has(j.metadata.uid ?? '');
  const result = await admitReady(rt, poolKey, pool, jobs, eligible, policy);
  const requeueAfterMs = earlierRequeue(earlierRequeue(result?.requeueAfterMs, nextInMs), heldByCap.length > 0 ? QUEUE_CAP_RECHECK_MS : undefined);
  if (requeueAfterMs === undefined) return result;
  return { ...result, requeueAfterMs };
}

async function admitReady(
  rt: VisionJobRuntime,
  poolKey: string,
  pool: WorkerPoolObject,
  jobs: VisionJobObject[],
  eligible: (j: VisionJobObject) => boolean,
  policy: TenantPolicy,
): Promise<ReconcileResult | void> {
  const tenant = tenantFieldOf(policy);
  const log = rt.ctx.logger.child({ pool: poolKey });
  const strict = planAdmission({
    jobs,
    namespace: pool.metadata.namespace ?? '',
    pool: pool.metadata.name ?? '',
    limit: poolLimit(pool),
    publishedUids: rt.published,
    eligible,
  });
  if (strict.waiting.length === 0) return;
  const fair = planTenantAdmission(strict, policy);
  // Admission order first, then the rest: a failed publish leaves the tail of this list waiting.
  const plan = { limit: strict.limit, admit: fair.admit, waiting: [...fair.admit, ...fair.rest] };
  await markAtQuota(rt, fair.atQuota, pool.metadata.name ?? '', tenant);
  if (plan.waiting.length === 0) return;

  const nats = rt.ctx.nats.current();
  if (!nats) {
    await markWaiting(rt, plan.waiting, 'NatsUnavailable', 'NATS is unreachable: the job will be queued when the connection is back', tenant);
    return { requeueAfterMs: NATS_RETRY_MS };
  }
  try {
    await ensureConsumer(rt, nats, poolKey, pool, jobs);
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not ensure the pool consumer');
    await markWaiting(rt, plan.waiting, 'NatsUnavailable', `JetStream is not answering: ${(err as Error).message}`, tenant);
    return { requeueAfterMs: NATS_RETRY_MS };
  }

  // A Queued write of an earlier pass failed: fail this pass so the work queue backs off
  // (the job left rt.published, so this pass's retry re-publishes it: same msgID, same seq).
  const recordError = rt.takeRecordError(poolKey);
  if (recordError !== undefined) throw recordError;

  // Publish in admission order first (agents can start at once), then record the Queued
  // statuses in parallel: a pass that frees several slots does not pay one status write each.
  const now = rt.now();
  const sent: { job: VisionJobObject; tenant: TenantField; seq: number; duplicate: boolean }[] = [];
  let stop: { err: unknown; at: number } | undefined;
  for (let i = 0; i < plan.admit.length; i++) {
    const job = plan.admit[i]!;
    try {
      sent.push({ job, tenant: tenant(job), ...(await publish(rt, nats, job, pool, now)) });
    } catch (err) {
      stop = { err, at: i };
      break;
    }
  }
  // The pass does not wait for these writes: the next pass (a slot freed meanwhile) must not
  // queue behind them, and it counts these jobs in flight through rt.published until the cache
  // shows them Queued. A failed write is reported to the next pass (see takeRecordError).
  rt.track(
    mapLimit(sent, RECORD_CONCURRENCY, (p) => recordQueued(rt, p.job, pool, p.seq, p.duplicate, now, p.tenant)).then((recorded) => {
      const failed = recorded.find((r) => r.status === 'rejected');
      if (!failed) return;
      rt.setRecordError(poolKey, (failed as PromiseRejectedResult).reason);
      rt.enqueueAdmission(poolKey);
    }),
  );
  if (stop) {
    const rest = plan.waiting.slice(stop.at);
    if (stop.err instanceof QueueFullError) {
      log.warn('jobs stream is full; jobs stay Pending');
      await markWaiting(rt, rest, 'QueueFull', 'the jobs queue is full: the job will be queued when there is room', tenant);
      return { requeueAfterMs: QUEUE_FULL_RETRY_MS };
    }
    if (stop.err instanceof NatsUnavailableError) {
      await markWaiting(rt, rest, 'NatsUnavailable', 'NATS is unreachable: the job will be queued when the connection is back', tenant);
      return { requeueAfterMs: NATS_RETRY_MS };
    }
    throw stop.err;
  }
  const limit = plan.limit;
  if (plan.waiting.length === plan.admit.length) return;
  await markWaiting(
    rt,
    plan.waiting.slice(plan.admit.length),
    'PoolAtCapacity',
    `pool ${pool.metadata.name} is at capacity (${limit} job${limit === 1 ? '' : 's'} in flight): waiting for a free slot`,
    tenant,
  );
  // Freed slots trigger a pass at once; this is only a safety net against a missed trigger.
  return { requeueAfterMs: SAFETY_PASS_MS };
}

async function publish(
  rt: VisionJobRuntime,
  nats: NatsHandles,
  job: VisionJobObject,
  pool: WorkerPoolObject,
  now: Date,
): Promise<{ seq: number; duplicate: boolean }> {
  const uid = job.metadata.uid ?? '';
  rt.published.add(uid);
  try {
    return await publishJob(nats.js, buildJobMessage(job, pool, now), { signer: rt.ctx.settings.jobSigner });
  } catch (err) {
    rt.published.delete(uid);
    throw err;
  }
}

async function recordQueued(
  rt: VisionJobRuntime,
  job: VisionJobObject,
  pool: WorkerPoolObject,
  seq: number,
  duplicate: boolean,
  now: Date,
  tenant: TenantField,
): Promise<void> {
  const key = objectKey(job);
  const uid = job.metadata.uid ?? '';
  const log = rt.ctx.logger.child({ namespace: job.metadata.namespace, name: job.metadata.name });
  let wrote = false;
  try {
    const written = await rt.store.updateStatus(
      key,
      (j) => {
        const st = j.status ?? {};
        wrote = false;
        // An idle agent may have started it before this write: the tenant is still recorded.
        if (st.phase !== undefined && st.phase !== 'Pending') return isTerminal(st) || st.tenant === tenant.tenant ? undefined : { ...st, tenant: tenant.tenant };
        const msg = `admitted to pool ${pool.metadata.name} (priority ${j.spec.priority ?? 0}); queued as message ${seq}`;
        let c = clearCondition(st.conditions, 'Pending', 'Admitted', 'the job was admitted', now);
        c = setCondition(c, { type: 'Admitted', status: 'True', reason: 'Queued', message: msg, observedGeneration: j.metadata.generation }, now);
        wrote = true;
        return {
          ...st,
          phase: 'Queued',
          queuedAt: st.queuedAt ?? toRfc3339(now),
          queueSequence: seq,
          message: msg,
          conditions: c,
          observedGeneration: j.metadata.generation,
          tenant: tenant.tenant,
        };
      },
      { uid },
    );
    if (written && wrote) {
      rt.ctx.recorder.event(written, 'Normal', 'Queued', `Admitted to pool ${pool.metadata.name} and queued`);
      rt.ctx.metrics.jobsPublished.inc({ namespace: job.metadata.namespace ?? '', pool: job.spec.pool });
      rt.ctx.enqueuePool(poolKeyOf(job)!);
    }
    log.info({ seq, duplicate }, 'job queued');
  } catch (err) {
    // The message is in the stream (publish is idempotent by msgID): the next pass re-admits
    // it, gets the same sequence back and writes the status then.
    rt.published.delete(uid);
    throw err;
  }
}

/** Runs fn over items, at most `limit` at a time; settles all. */
async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<PromiseSettledResult<void>[]> {
  const out: PromiseSettledResult<void>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!);
        out[i] = { status: 'fulfilled', value: undefined };
      } catch (reason) {
        out[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

async function markWaiting(
  rt: VisionJobRuntime,
  jobs: VisionJobObject[],
  reason: 'PoolAtCapacity' | 'QueueFull' | 'NatsUnavailable',
  message: string,
  tenant: (j: VisionJobObject) => TenantField,
): Promise<void> {
  const todo = jobs.filter((j) => !hasPendingCondition(j, reason, message, tenant(j)));
  // A large backlog gets its condition once; a few writes at a time keep the pass short.
  await mapLimit(todo, MARK_CONCURRENCY, (j) => setPending(rt, objectKey(j), j.metadata.uid ?? '', reason, message, tenant(j)));
}

async function markAtQuota(rt: VisionJobRuntime, holds: QuotaHold[], pool: string, tenant: (j: VisionJobObject) => TenantField): Promise<void> {
  const todo = holds.filter((h) => !hasPendingCondition(h.job, 'TenantAtQuota', quotaMessage(h, pool), tenant(h.job)));
  await mapLimit(todo, MARK_CONCURRENCY, (h) => setPending(rt, objectKey(h.job), h.job.metadata.uid ?? '', 'TenantAtQuota', quotaMessage(h, pool), tenant(h.job)));
}

/**
 * status.tenant as the pool counts the job. The label key is per pool, so a printer column on a
 * label could only show the default key; the shared tenant leaves the field out.
 */
function tenantFieldOf(policy: TenantPolicy): (j: VisionJobObject) => TenantField {
  return (j) => {
    const t = tenantOf(j, policy.tenantLabel);
    return { tenant: t === SHARED_TENANT ? undefined : t };
  };
}

/** Whether the job already says this (so a large backlog is not rewritten every pass). */
function hasPendingCondition(j: VisionJobObject, reason: string, message: string, tenant: TenantField): boolean {
  const cond = j.status?.conditions?.find((c) => c.type === 'Pending');
  return j.status?.phase === 'Pending' && cond?.status === 'True' && cond.reason === reason && cond.message === message && j.status?.tenant === tenant.tenant;
}
