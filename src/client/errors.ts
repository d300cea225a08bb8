/**
 * Errors the client throws, one named class per thing a caller may want to handle (nats.js
 * style: check with `instanceof`, never by matching messages). The Kubernetes error, when there
 * was one, is the `cause`.
 */
import type { JobPhase, VisionJob } from '../api/index.js';

/** Base class: every error the client throws on purpose is a VisionQError. */
export class VisionQError extends Error {
  override readonly name: string = 'VisionQError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** One reason the API server gave for refusing an object (a 422's `details.causes[]`). */
export interface FieldCause {
  /** Kubernetes field path, e.g. `spec.pool`. */
  field?: string;
  reason?: string;
  message?: string;
}

/** The API server refused the job (400/422): retrying the same object cannot succeed. */
export class JobRefusedError extends VisionQError {
  override readonly name = 'JobRefusedError';
  constructor(
    message: string,
    readonly causes: FieldCause[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The field paths named by the server, e.g. `['spec.pool']`. */
  get fields(): string[] {
    return this.causes.flatMap((c) => (c.field ? [c.field] : []));
  }
}

export class JobNotFoundError extends VisionQError {
  override readonly name = 'JobNotFoundError';
  constructor(
    readonly jobName: string,
    readonly namespace: string,
    options?: { cause?: unknown },
  ) {
    super(`visionjob ${namespace}/${jobName} not found`, options);
  }
}

/** The idempotency key is taken by a job with a different spec: the caller reused a key. */
export class IdempotencyConflictError extends VisionQError {
  override readonly name = 'IdempotencyConflictError';
  constructor(
    readonly idempotencyKey: string,
    readonly existing: VisionJob,
  ) {
    super(`idempotency key ${JSON.stringify(idempotencyKey)} already names job ${existing.metadata.name} with a different spec`);
  }
}

/** waitFor gave up after timeoutMs; `last` is the job as last seen. */
export class WaitTimeoutError extends VisionQError {
  override readonly name = 'WaitTimeoutError';
  constructor(
    readonly jobName: string,
    readonly timeoutMs: number,
    readonly last?: VisionJob,
  ) {
    super(`visionjob ${jobName}: not done after ${timeoutMs} ms (phase ${last?.status?.phase ?? 'unknown'})`);
  }
}

/** waitFor or watch was aborted by the caller's signal; the signal's reason is the cause. */
export class WaitAbortedError extends VisionQError {
  override readonly name = 'WaitAbortedError';
  constructor(readonly jobName: string, options?: { cause?: unknown }) {
    super(`visionjob ${jobName}: wait aborted`, options);
  }
}

/**
 * The job ended without succeeding: Failed, Cancelled, or deleted before it finished
 * (`phase` 'Deleted'). `reason`/`message` come from its Failed condition or status.message.
 */
export class JobFailedError extends VisionQError {
  override readonly name = 'JobFailedError';
  constructor(
    readonly job: VisionJob,
    readonly phase: JobPhase | 'Deleted',
    readonly reason?: string,
  ) {
    super(`visionjob ${job.metadata.name} ${phase}${reason ? ` (${reason})` : ''}: ${failureMessage(job)}`);
  }
}

/** result() on a job that has not finished yet. */
export class JobNotFinishedError extends VisionQError {
  override readonly name = 'JobNotFinishedError';
  constructor(readonly job: VisionJob) {
    super(`visionjob ${job.metadata.name} has not finished (phase ${job.status?.phase ?? 'Pending'})`);
  }
}

function failureMessage(job: VisionJob): string {
  const failed = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
  return failed?.message || job.status?.message || 'no message';
}
