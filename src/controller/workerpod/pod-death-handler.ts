import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { timeMs } from './worker-pod-state.js';
import type { VisionJobView } from '../workerpool/workerpool-view.js';

/** Re-queues the job a dead pod was running (the VisionJob side's requeueJobOfDeadPod bound to its runtime). */
export type RequeueJobOfDeadPod<J> = (job: J, podName: string) => Promise<void>;

/** A pod that will never run its job to the end: gone, or finished while the job says Running. */
export function isDeadPod(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Failed' || phase === 'Succeeded';
}

/** What the pool reconciler needs of the handler. */
export interface PodDeathTracker<J> {
  podDied(namespace: string, podName: string, why: string): Promise<void>;
  sweep(namespace: string, pool: string, podExists: (name: string) => boolean, minAgeMs?: number, poolJobs?: Iterable<J>): number | undefined;
}

export type JobLike = VisionJobView;

/**
 * Turns "this worker pod died" into "its jobs run again now" instead of after the ack deadline.
 * Called from pod informer events (fast path) and from every pool reconcile (a sweep for deaths
 * missed while the controller was down). Idempotent: a job is re-queued once per (job, pod); the
 * requeue is itself idempotent through status.currentAttempt.requeuedForPod.
 */
export class PodDeathHandler<J extends JobLike> implements PodDeathTracker<J> {
  private readonly inFlight = new Set<string>();
  private readonly done = new Map<string, number>();

  constructor(
    private readonly jobs: () => Iterable<J>,
    private readonly requeue: RequeueJobOfDeadPod<J>,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The pod `podName` in `namespace` is gone or dead: re-queue every job still running on it. */
  podDied(namespace: string, podName: string, why: string): Promise<void> {
    const work: Promise<void>[] = [];
    for (const job of this.jobs()) {
      if (job.metadata.namespace !== namespace) continue;
      if (job.status?.phase !== 'Running' || job.status?.currentAttempt?.pod !== podName) continue;
      if (job.status.currentAttempt.requeuedForPod === podName) continue;
      const a = job.status.currentAttempt;
      const key = `${job.metadata.uid ?? job.metadata.name}/${a.attempt ?? ''}/${a.deliveryCount ?? ''}/${podName}`;
      if (this.inFlight.has(key) || this.done.has(key)) continue;
      this.inFlight.add(key);
      const log = this.logger.child({ namespace, name: job.metadata.name, pod: podName });
      log.info({ why }, 'worker pod died while running the job: re-queueing it now');
      work.push(
        this.requeue(job, podName)
          .then(() => {
            this.done.set(key, this.now());
          })
          .catch((err: unknown) => {
            // Not marked done: the next pod event or pool sweep retries (the ack deadline is the backstop).
            log.warn({ err }, 're-queueing the job of a dead pod failed');
          })
          .finally(() => this.inFlight.delete(key)),
      );
    }
    this.forgetOld();
    return Promise.all(work).then(() => undefined);
  }

  /**
   * Level-triggered backup: Running jobs of `pool` whose pod is not in the pod cache at all. A job
   * that started moments ago may name a pod the cache has not shown yet, hence `minAgeMs`.
   * Returns how long until such a young job should be looked at again (undefined: none).
   */
  sweep(
    namespace: string,
    pool: string,
    podExists: (name: string) => boolean,
    minAgeMs = 10_000,
    poolJobs: Iterable<J> = this.jobs(),
  ): number | undefined {
    const dead = new Set<string>();
    const now = this.now();
    let recheckMs: number | undefined;
    for (const job of poolJobs) {
      if (job.metadata.namespace !== namespace || job.spec.pool !== pool || job.status?.phase !== 'Running') continue;
      const pod = job.status.currentAttempt?.pod;
      if (!pod || podExists(pod) || job.status.currentAttempt?.requeuedForPod === pod) continue;
      const started = timeMs(job.status.currentAttempt?.startedAt) ?? now;
      if (now - started >= minAgeMs) dead.add(pod);
      else recheckMs = Math.min(recheckMs ?? Infinity, started + minAgeMs - now);
    }
    for (const p of dead) void this.podDied(namespace, p, 'pod not found');
    return recheckMs;
  }

  private forgetOld(): void {
    if (this.done.size < 10_000) return;
    const cutoff = this.now() - 3_600_000;
    for (const [k, at] of this.done) if (at < cutoff) this.done.delete(k);
  }
}
