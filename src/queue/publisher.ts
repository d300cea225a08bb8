import type { JetStreamClient } from '@nats-io/jetstream';
import { encodeJobMessage, jobMsgId, JobMessage, type JobMessageInput } from './job-message.js';
import { encodeJobEvent, jobEventMsgId, type JobEvent } from './job-events.js';
import { eventSubject, jobSubject } from './subjects.js';
import { NatsUnavailableError, QueueFullError, isQueueFull, isUnavailable } from './errors.js';

export interface PublishResult {
  /** Stream sequence of the job message (of the first publish when `duplicate`). */
  seq: number;
  /** True when the msgID was seen within the duplicate window: nothing new was queued. */
  duplicate: boolean;
}

/**
 * Queues a job on `visionq.jobs.<ns>.<pool>` with msgID `uid` (or `uid/requeueGeneration`),
 * so repeating the publish is a no-op. Throws QueueFullError or NatsUnavailableError.
 */
export async function publishJob(js: JetStreamClient, msg: JobMessageInput, opts: { timeoutMs?: number } = {}): Promise<PublishResult> {
  const job = JobMessage.parse(msg);
  try {
    const ack = await js.publish(jobSubject(job.namespace, job.pool), encodeJobMessage(job), {
      msgID: jobMsgId(job),
      timeout: opts.timeoutMs ?? 5000,
    });
    return { seq: ack.seq, duplicate: ack.duplicate };
  } catch (err) {
    throw mapPublishError(err, `publish job ${job.namespace}/${job.name}`);
  }
}

/** Publishes a job event with a dedup msgID (see `jobEventMsgId`). */
export async function publishJobEvent(js: JetStreamClient, ev: JobEvent, opts: { timeoutMs?: number } = {}): Promise<PublishResult> {
  try {
    const ack = await js.publish(eventSubject(ev.namespace, ev.name), encodeJobEvent(ev), {
      msgID: jobEventMsgId(ev),
      timeout: opts.timeoutMs ?? 5000,
    });
    return { seq: ack.seq, duplicate: ack.duplicate };
  } catch (err) {
    throw mapPublishError(err, `publish ${ev.type} event of ${ev.namespace}/${ev.name}`);
  }
}

export function mapPublishError(err: unknown, what: string): Error {
  if (isQueueFull(err)) return new QueueFullError(`${what}: queue full`, { cause: err });
  if (isUnavailable(err)) return new NatsUnavailableError(`${what}: NATS unavailable`, { cause: err });
  return err instanceof Error ? err : new Error(String(err));
}
