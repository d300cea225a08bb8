/**
 * Fast recovery from a dead worker pod (called by the WorkerPool side's pod-death handler):
 * NAK the message of the job's current attempt at once, so JetStream redelivers it to another
 * worker now instead of after ack_wait, and count a disruption (not a failure).
 *
 * Idempotent: the attempt records the pod it was re-queued for; a second call (pod deleted and
 * then gone, a resync, the agent's own `requeued` event) changes nothing.
 */
import { nakByAckSubject } from '../../queue/ack.js';
import { NatsUnavailableError } from '../../queue/errors.js';
import type { VisionJobObject } from '../manager/context-types.js';
import { objectKey } from '../../kube/object-store.js';
import { poolKeyOf } from '../manager/jobs-by-pool.js';
import type { VisionJobRuntime } from './visionjob-runtime.js';
import { setCondition } from '../../api/conditions.js';
import { isTerminal } from './visionjob-status.js';
import { newerDeliveryClaimed } from './attempt-records.js';
import type { NatsHandles } from '../manager/context.js';

/**
 * nats-server 2.9 applies a NAK to the message, not to the delivery it names: if the agent
 * handed the job back already and another worker claimed it, this NAK would start a third
 * run. So NAK only while VISIONQ_ATTEMPTS still names this attempt's delivery; when that
 * cannot be read, skip the NAK (the message comes back after ack_wait: slower, never doubled).
 */
async function nakIsSafe(nats: NatsHandles, uid: string, attempt: { streamSeq?: number; deliveryCount?: number }): Promise<boolean> {
  if (attempt.streamSeq === undefined || attempt.deliveryCount === undefined) return false;
  try {
    return !(await newerDeliveryClaimed(nats, uid, { streamSeq: attempt.streamSeq, deliveryCount: attempt.deliveryCount }));
  } catch {
    return false;
  }
}

export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError';
}

export type RequeueOutcome = 'requeued' | 'already-requeued' | 'not-running-there';

/** `rt` is the VisionJob side's runtime of the current leader term (the manager binds it). */
export async function requeueJobOfDeadPod(rt: VisionJobRuntime, job: VisionJobObject, podName: string): Promise<RequeueOutcome> {
  if (!rt.active) throw new NotLeaderError('the VisionJob controller is not running (not the leader)');
  const ctx = rt.ctx;
  const key = objectKey(job);
  const uid = job.metadata.uid ?? '';
  const latest = rt.store.get(key) ?? job;
  const attempt = latest.status?.currentAttempt;
  if (!attempt || attempt.pod !== podName || isTerminal(latest.status)) return 'not-running-there';
  if (attempt.ended || attempt.requeuedForPod === podName) return 'already-requeued';

  const nats = ctx.nats.current();
  if (!nats) throw new NatsUnavailableError(`cannot re-queue ${key}: NATS is unreachable`);
  if (attempt.ackSubject && (await nakIsSafe(nats, uid, attempt))) nakByAckSubject(nats.nc, attempt.ackSubject);

  const now = ctx.clock();
  let counted = false;
  const written = await rt.store.updateStatus(
    key,
    (j) => {
      const st = j.status ?? {};
      const cur = st.currentAttempt;
      if (isTerminal(st) || !cur || cur.pod !== podName || cur.ended) return undefined;
      if (cur.streamSeq !== attempt.streamSeq || cur.deliveryCount !== attempt.deliveryCount) return undefined;
      const message = `worker pod ${podName} is gone: attempt ${cur.attempt} re-queued (not counted as a failure)`;
      counted = true;
      return {
        ...st,
        phase: 'Queued',
        disruptions: (st.disruptions ?? 0) + 1,
        currentAttempt: { ...cur, ended: 'requeued', requeuedForPod: podName },
        message,
        conditions: setCondition(st.conditions, { type: 'Running', status: 'False', reason: 'WorkerLost', message, observedGeneration: j.metadata.generation }, now),
      };
    },
    { uid },
  );
  if (!written || !counted) return 'already-requeued';
  ctx.recorder.event(written, 'Warning', 'WorkerLost', `Worker pod ${podName} is gone; attempt ${attempt.attempt} re-queued`);
  ctx.metrics.disruptions.inc({ namespace: job.metadata.namespace ?? '', pool: job.spec.pool });
  const pk = poolKeyOf(job);
  if (pk) ctx.enqueuePool(pk);
  ctx.logger.info({ namespace: job.metadata.namespace, name: job.metadata.name, pod: podName, attempt: attempt.attempt }, 'job of dead pod re-queued');
  return 'requeued';
}
