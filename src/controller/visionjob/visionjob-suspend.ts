/**
 * Suspending a running job stops it. Chosen semantics (like a Kubernetes Job's suspend): the
 * attempt is stopped and the job goes back to Pending/Suspended as not started; it counts as
 * neither a failure nor a disruption, because the user asked for it. Resuming queues it again
 * under a new requeueGeneration.
 *
 * Order matters: the status is written first (attempt ended `suspending`), so the agent's
 * `cancelled` report of that attempt is ignored instead of finishing the job as Cancelled.
 * Then the agent is asked to stop; then the old message is deleted in case no agent termed it
 * (pod gone); only then is the attempt `suspended` and the job free to be queued again, so a
 * quick resume can never leave two messages of one job in the stream.
 */
import { setCondition } from '../../api/conditions.js';
import type { ReconcileResult } from '../../kube/controller-loop.js';
import { deleteQueuedJob } from '../../queue/topology.js';
import type { VisionJobObject } from '../manager/context-types.js';
import { poolKeyOf } from '../manager/jobs-by-pool.js';
import { requestAgentCancel } from './visionjob-cancel.js';
import { pendingStatus } from './visionjob-pending.js';
import type { VisionJobRuntime } from './visionjob-runtime.js';
import { isTerminal } from './visionjob-status.js';

const RETRY_MS = 1000;

/** Phase Running, spec.suspend true: mark the attempt `suspending`, then stop it. */
export async function suspendRunning(rt: VisionJobRuntime, key: string, job: VisionJobObject): Promise<ReconcileResult | void> {
  const attempt = job.status?.currentAttempt;
  if (!attempt || attempt.ended) return;
  const now = rt.now();
  const message = `spec.suspend is true: attempt ${attempt.attempt ?? '?'} on pod ${attempt.pod} is being stopped; the job waits until it is resumed`;
  const written = await rt.store.updateStatus(
    key,
    (j) => {
      const st = j.status ?? {};
      const cur = st.currentAttempt;
      if (isTerminal(st) || st.phase !== 'Running' || j.spec.suspend !== true || !cur || cur.ended) return undefined;
      if (cur.streamSeq !== attempt.streamSeq || cur.deliveryCount !== attempt.deliveryCount) return undefined;
      const held = pendingStatus(st, 'Suspended', message, now, j.metadata.generation);
      return {
        ...held,
        currentAttempt: { ...cur, ended: 'suspending' },
        queueSequence: undefined,
        requeueGeneration: (st.requeueGeneration ?? 0) + 1,
        progress: undefined,
        conditions: setCondition(
          setCondition(held.conditions, { type: 'Running', status: 'False', reason: 'Suspended', message, observedGeneration: j.metadata.generation }, now),
          { type: 'Admitted', status: 'False', reason: 'Suspended', message: 'taken out of the queue by spec.suspend', observedGeneration: j.metadata.generation },
          now,
        ),
      };
    },
    { uid: job.metadata.uid },
  );
  if (!written) return;
  rt.ctx.recorder.event(written, 'Normal', 'Suspended', `Stopping attempt ${attempt.attempt ?? '?'} on pod ${attempt.pod} (spec.suspend)`);
  return finishSuspend(rt, key, written);
}

/** The attempt is `suspending`: stop it on its agent, remove its message, then mark it `suspended`. */
export async function finishSuspend(rt: VisionJobRuntime, key: string, job: VisionJobObject): Promise<ReconcileResult | void> {
  const attempt = job.status?.currentAttempt;
  if (!attempt || attempt.ended !== 'suspending') return;
  const nats = rt.ctx.nats.current();
  if (!nats) return { requeueAfterMs: RETRY_MS };
  const ns = job.metadata.namespace ?? '';
  const uid = job.metadata.uid ?? '';
  const reply = await requestAgentCancel(nats, ns, job.spec.pool, attempt.pod, uid);
  if (reply === 'no-answer') return { requeueAfterMs: RETRY_MS };
  if (attempt.streamSeq !== undefined) await deleteQueuedJob(nats.jsm, attempt.streamSeq);
  const written = await rt.store.updateStatus(
    key,
    (j) => {
      const st = j.status ?? {};
      const cur = st.currentAttempt;
      if (isTerminal(st) || cur?.ended !== 'suspending' || cur.streamSeq !== attempt.streamSeq || cur.deliveryCount !== attempt.deliveryCount) return undefined;
      return { ...st, currentAttempt: { ...cur, ended: 'suspended' } };
    },
    { uid },
  );
  if (!written) return;
  rt.ctx.recorder.event(
    written,
    'Normal',
    'Suspended',
    reply === 'stopped' ? `Attempt ${attempt.attempt ?? '?'} stopped on pod ${attempt.pod}; the job waits until it is resumed` : `Attempt ${attempt.attempt ?? '?'} taken back (pod ${attempt.pod} no longer runs it); the job waits until it is resumed`,
  );
  rt.ctx.logger.info({ namespace: ns, name: job.metadata.name, pod: attempt.pod, reply }, 'running job suspended');
  const pk = poolKeyOf(job);
  if (pk) {
    rt.enqueueAdmission(pk);
    rt.ctx.enqueuePool(pk);
  }
}
