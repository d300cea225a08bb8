import type { JetStreamClient } from '@nats-io/jetstream';
import { jobMsgId, JobMessage, type JobMessageInput } from './job-message.js';
import { encodeJobEvent, jobEventMsgId, type JobEvent } from './job-events.js';
import { eventSubject, jobSubject } from './subjects.js';
import { NatsUnavailableError, QueueFullError, isQueueFull, isUnavailable } from './errors.js';
import { retry } from '../lib/retry.js';
import { realClock, type Clock } from '../lib/clock.js';
import type { JobSigner } from './job-signature.js';
import { EVENT_MAC_HEADER, eventMac } from './event-mac.js';
import { headers, type MsgHdrs } from '@nats-io/transport-node';

export interface PublishOptions {
  /** Per-try timeout waiting for the stream's ack. Default 5 s. */
  timeoutMs?: number;
  /**
   * Keeps retrying an unavailable stream (no responders, timeout: a stream leader election
   * on a cluster takes a few seconds) for this long before NatsUnavailableError. The msgID
   * makes a retry of a publish that was stored after all a no-op. Default 10 s; 0: one try.
   */
  retryForMs?: number;
  clock?: Clock;
}

export interface PublishJobOptions extends PublishOptions {
  /** Signs the message (agents with public keys run only signed jobs). */
  signer?: JobSigner;
}

const PUBLISH_BACKOFF = { initialMs: 100, maxMs: 1000 };
const encoder = new TextEncoder();

async function publishRetrying<T>(fn: () => Promise<T>, opts: PublishOptions): Promise<T> {
  const clock = opts.clock ?? realClock;
  const until = clock.now() + (opts.retryForMs ?? 10_000);
  return retry(fn, { backoff: PUBLISH_BACKOFF, clock, shouldRetry: (err) => isUnavailable(err) && !isQueueFull(err) && clock.now() < until });
}

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
export async function publishJob(js: JetStreamClient, msg: JobMessageInput, opts: PublishJobOptions = {}): Promise<PublishResult> {
  const job = JobMessage.parse(opts.signer ? { ...msg, eventKey: opts.signer.eventKey(msg.uid).toString('base64') } : msg);
  // Already parsed: encodeJobMessage would validate it a second time.
  const data = encoder.encode(JSON.stringify(job));
  const hdrs = opts.signer?.headers(data);
  try {
    const ack = await publishRetrying(() => js.publish(jobSubject(job.namespace, job.pool), data, {
      msgID: jobMsgId(job),
      timeout: opts.timeoutMs ?? 5000,
      ...(hdrs ? { headers: hdrs } : {}),
    }), opts);
    return { seq: ack.seq, duplicate: ack.duplicate };
  } catch (err) {
    throw mapPublishError(err, `publish job ${job.namespace}/${job.name}`);
  }
}

export interface PublishEventOptions extends PublishOptions {
  /** The job's event key (from its signed message): the event carries a MAC under it. */
  macKey?: Uint8Array;
}

/** Publishes a job event with a dedup msgID (see `jobEventMsgId`). */
export async function publishJobEvent(js: JetStreamClient, ev: JobEvent, opts: PublishEventOptions = {}): Promise<PublishResult> {
  const data = encodeJobEvent(ev);
  let hdrs: MsgHdrs | undefined;
  let msgID = jobEventMsgId(ev);
  if (opts.macKey) {
    const mac = eventMac(opts.macKey, data);
    hdrs = headers();
    hdrs.set(EVENT_MAC_HEADER, mac);
    // Part of the MAC in the msgID: a forger who guesses an event's id (uid, queue sequence and
    // delivery are no secret) and publishes first must not make the real event a duplicate.
    // A retry sends the same bytes, so it is still deduplicated.
    msgID = `${msgID}/${mac.slice(0, 22)}`;
  }
  try {
    const ack = await publishRetrying(() => js.publish(eventSubject(ev.namespace, ev.name), data, {
      msgID,
      timeout: opts.timeoutMs ?? 5000,
      ...(hdrs ? { headers: hdrs } : {}),
    }), opts);
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
