/**
 * Cancellation of a deleted VisionJob (finalizer `visionq.dev/cancel`):
 * - never published → released at once;
 * - queued → its message is deleted from VISIONQ_JOBS, then released;
 * - running → the agent named in currentAttempt is asked to stop the process (it replies once
 *   the process is gone and the message termed); released when it confirms, when nobody
 *   answers on its control subject (pod gone), or after cancelTimeoutMs: a dead agent must
 *   never block a deletion forever.
 */
import type { ReconcileResult } from '../../kube/controller-loop.js';
import { isNoResponders } from '../../queue/errors.js';
import { controlSubject } from '../../queue/subjects.js';
import { deleteQueuedJob } from '../../queue/topology.js';
import type { NatsHandles } from '../manager/context.js';
import type { VisionJobObject } from '../manager/context-types.js';
import { hasFinalizer, removeFinalizer } from './visionjob-finalizer.js';
import { objectKey } from '../../kube/object-store.js';
import { type VisionJobRuntime } from './visionjob-runtime.js';
import { isTerminal, queuedMessageSeq } from './visionjob-status.js';

const RETRY_MS = 1000;
const CANCEL_REQUEST_TIMEOUT_MS = 5000;

export type CancelReply = 'stopped' | 'not-running' | 'no-agent' | 'no-answer';

/** Asks the agent of `pod` to stop job `uid`; resolves how it answered. */
export async function requestAgentCancel(nats: NatsHandles, namespace: string, pool: string, pod: string, uid: string, timeoutMs = CANCEL_REQUEST_TIMEOUT_MS): Promise<CancelReply> {
  try {
    const msg = await nats.nc.request(controlSubject(namespace, pool, pod, 'cancel'), JSON.stringify({ jobUid: uid }), { timeout: timeoutMs });
    const body = JSON.parse(new TextDecoder().decode(msg.data)) as { ok?: boolean; state?: string };
    if (body.ok) return 'stopped';
    return 'not-running';
  } catch (err) {
    if (isNoResponders(err)) return 'no-agent';
    return 'no-answer';
  }
}

export async function handleDeletion(rt: VisionJobRuntime, job: VisionJobObject): Promise<ReconcileResult | void> {
  if (!hasFinalizer(job)) return;
  const key = objectKey(job);
  const uid = job.metadata.uid ?? '';
  const ns = job.metadata.namespace ?? '';
  const st = job.status ?? {};
  const log = rt.ctx.logger.child({ namespace: ns, name: job.metadata.name });
  const now = rt.now().getTime();
  const deletedAt = Date.parse(String(job.metadata.deletionTimestamp));
  const timedOut = Number.isFinite(deletedAt) && now - deletedAt > rt.ctx.settings.cancelTimeoutMs;
  const release = async (message?: string): Promise<void> => {
    if (message) rt.ctx.recorder.event(job, 'Normal', 'Cancelled', message);
    rt.published.delete(uid);
    await removeFinalizer(rt, key, uid);
    log.info({ message }, 'finalizer released');
  };

  if (isTerminal(st)) return release();
  const phase = st.phase ?? 'Pending';
  if (phase === 'Pending' && !rt.published.has(uid)) return release('Cancelled before it was queued');
  // Being published right now: wait for the admission to record the message's sequence.
  if (phase === 'Pending' && st.queueSequence === undefined && !timedOut) return { requeueAfterMs: 200 };

  const nats = rt.ctx.nats.current();
  if (!nats) {
    if (timedOut) return release('Cancelled; NATS was unreachable, the queued message could not be removed');
    return { requeueAfterMs: RETRY_MS };
  }
  const removeMessage = async (): Promise<void> => {
    const seq = queuedMessageSeq(st);
    if (seq !== undefined) await deleteQueuedJob(nats.jsm, seq);
  };

  const attempt = st.currentAttempt;
  if (phase === 'Running' && attempt && !attempt.ended) {
    const reply = await requestAgentCancel(nats, ns, job.spec.pool, attempt.pod, uid);
    log.info({ pod: attempt.pod, reply, attempt: attempt.attempt }, 'cancel requested from agent');
    if (reply === 'no-answer' && !timedOut) return { requeueAfterMs: RETRY_MS };
    await removeMessage();
    return release(
      reply === 'stopped'
        ? `Cancelled: attempt ${attempt.attempt} stopped on pod ${attempt.pod}`
        : `Cancelled: pod ${attempt.pod} did not confirm (${reply}); removed from the queue`,
    );
  }
  // Queued (possibly between attempts): take it out of the stream before anyone fetches it.
  await removeMessage();
  return release('Cancelled: removed from the queue');
}
