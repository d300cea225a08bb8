import type { DeliveryRef } from '../queue/attempt-store.js';
import type { JobEventOf } from '../queue/job-events.js';
import type { JobMessage } from '../queue/job-message.js';
import type { Heartbeat } from './heartbeat.js';
import type { JobRunner } from './job-runner.js';
import type { ProgressThrottle } from './progress-throttle.js';

/** One attempt the agent runs, from its claim until it is settled. */
export interface RunningJob {
  job: JobMessage;
  ref: DeliveryRef;
  ackSubject: string;
  attempt: number;
  failuresBefore: number;
  startedAt: number;
  deadline: Date | null;
  runner: JobRunner;
  heartbeat: Heartbeat;
  progress: ProgressThrottle;
  /** Resolves once the attempt is settled and its slot free. */
  done: Promise<void>;
}

export type EventBase = Omit<JobEventOf<'heartbeat'>, 'type'>;

/** The fields every event of an attempt carries. */
export function eventBase(
  r: Pick<RunningJob, 'job' | 'ref' | 'attempt'>,
  agent: { pod: string; node: string },
  nowMs: number,
): EventBase {
  return {
    jobUid: r.job.uid,
    namespace: r.job.namespace,
    name: r.job.name,
    pool: r.job.pool,
    attempt: r.attempt,
    deliveryCount: r.ref.deliveryCount,
    streamSeq: r.ref.streamSeq,
    pod: agent.pod,
    node: agent.node,
    time: new Date(nowMs).toISOString(),
  };
}

/**
 * Whether the attempt can finish by `deadline`, extrapolating its progress linearly. Without a
 * progress-based estimate a job may use the whole grace period.
 */
export function canFinishBy(r: Pick<RunningJob, 'startedAt' | 'progress'>, deadline: number): boolean {
  const p = r.progress.latest;
  if (!p || p.percent <= 0) return true;
  if (p.percent >= 100) return true;
  const elapsed = p.at - r.startedAt;
  const remaining = (elapsed * (100 - p.percent)) / p.percent;
  return p.at + remaining <= deadline;
}
