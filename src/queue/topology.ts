import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerInfo,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { isConsumerNotFound, isMessageNotFound, isStreamNotFound } from './errors.js';
import { ATTEMPTS_BUCKET, EVENTS_STREAM, EVENTS_SUBJECT_PREFIX, JOBS_STREAM, JOBS_SUBJECT_PREFIX, consumerName, eventsWildcard, jobSubject } from './subjects.js';

export interface StreamsOptions {
  /** Size limit of the jobs stream (DiscardNew: a full queue rejects publishes). Default 256 MiB. */
  jobsMaxBytes?: number;
  /** Message limit of the jobs stream. Default 1,000,000. */
  jobsMaxMsgs?: number;
  /** Publish dedup window. Default 24 h. */
  duplicateWindowMs?: number;
  /** Events kept this long. Default 7 days. */
  eventsMaxAgeMs?: number;
  /** Attempt records kept this long after their last update. Default 30 days. */
  attemptsMaxAgeMs?: number;
}

const DAY = 24 * 3600_000;

/** Creates or updates VISIONQ_JOBS, VISIONQ_EVENTS and the VISIONQ_ATTEMPTS KV bucket. Idempotent. */
export async function ensureStreams(jsm: JetStreamManager, opts: StreamsOptions = {}): Promise<{ jobs: StreamInfo; events: StreamInfo }> {
  const jobs = await ensureStream(jsm, {
    name: JOBS_STREAM,
    subjects: [`${JOBS_SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    max_bytes: opts.jobsMaxBytes ?? 256 * 1024 * 1024,
    max_msgs: opts.jobsMaxMsgs ?? 1_000_000,
    duplicate_window: nanos(opts.duplicateWindowMs ?? DAY),
    num_replicas: 1,
  });
  const events = await ensureStream(jsm, {
    name: EVENTS_STREAM,
    subjects: [`${EVENTS_SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(opts.eventsMaxAgeMs ?? 7 * DAY),
    duplicate_window: nanos(Math.min(opts.eventsMaxAgeMs ?? 7 * DAY, 10 * 60_000)),
    num_replicas: 1,
  });
  const attemptsMaxAge = nanos(opts.attemptsMaxAgeMs ?? 30 * DAY);
  let kvInfo: StreamInfo | undefined;
  try {
    kvInfo = await jsm.streams.info(`KV_${ATTEMPTS_BUCKET}`);
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
  }
  if (!kvInfo) {
    await new Kvm(jsm.jetstream()).create(ATTEMPTS_BUCKET, { history: 1, ttl: opts.attemptsMaxAgeMs ?? 30 * DAY, storage: StorageType.File });
  } else if (kvInfo.config.max_age !== attemptsMaxAge) {
    await jsm.streams.update(kvInfo.config.name, { ...kvInfo.config, max_age: attemptsMaxAge });
  }
  return { jobs, events };
}

async function ensureStream(jsm: JetStreamManager, cfg: Partial<StreamConfig> & { name: string }): Promise<StreamInfo> {
  let current: StreamInfo | undefined;
  try {
    current = await jsm.streams.info(cfg.name);
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
  }
  if (!current) return jsm.streams.add(cfg);
  const { name, retention: _r, storage: _s, ...mutable } = cfg;
  const changed = Object.entries(mutable).some(([k, v]) => JSON.stringify((current.config as unknown as Record<string, unknown>)[k]) !== JSON.stringify(v));
  return changed ? jsm.streams.update(name, { ...current.config, ...mutable }) : current;
}

export interface PoolConsumerOptions {
  namespace: string;
  pool: string;
  /** The pool's ackWaitSeconds: agents heartbeat at a third of it. */
  ackWaitSeconds: number;
  /** The pool's concurrency limit (maxReplicas × slotsPerWorker). */
  maxAckPending: number;
  /** Backstop on deliveries (failures + disruptions); -1 = unlimited. */
  maxDeliver: number;
}

/**
 * Creates the pool's durable pull consumer or updates ack_wait / max_ack_pending /
 * max_deliver when the pool changed. Idempotent.
 */
export async function ensurePoolConsumer(jsm: JetStreamManager, opts: PoolConsumerOptions): Promise<ConsumerInfo> {
  const durable = consumerName(opts.namespace, opts.pool);
  const wanted = {
    ack_wait: nanos(opts.ackWaitSeconds * 1000),
    max_ack_pending: opts.maxAckPending,
    max_deliver: opts.maxDeliver,
  };
  let current: ConsumerInfo | undefined;
  try {
    current = await jsm.consumers.info(JOBS_STREAM, durable);
  } catch (err) {
    if (!isConsumerNotFound(err)) throw err;
  }
  if (!current) {
    return jsm.consumers.add(JOBS_STREAM, {
      durable_name: durable,
      filter_subject: jobSubject(opts.namespace, opts.pool),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      // One outstanding pull per agent is the norm; leave room for many agents.
      max_waiting: 4096,
      ...wanted,
    });
  }
  const c = current.config;
  if (c.ack_wait === wanted.ack_wait && c.max_ack_pending === wanted.max_ack_pending && c.max_deliver === wanted.max_deliver) return current;
  return jsm.consumers.update(JOBS_STREAM, durable, wanted);
}

/** Deletes the pool's consumer; false when it did not exist. */
export async function deletePoolConsumer(jsm: JetStreamManager, namespace: string, pool: string): Promise<boolean> {
  try {
    return await jsm.consumers.delete(JOBS_STREAM, consumerName(namespace, pool));
  } catch (err) {
    if (isConsumerNotFound(err) || isStreamNotFound(err)) return false;
    throw err;
  }
}

/**
 * The controller's durable consumer of VISIONQ_EVENTS (every job event, explicit acks, never
 * given up on). Created when missing; an existing one is left as it is.
 */
export async function ensureEventsConsumer(jsm: JetStreamManager, durable: string, ackWaitMs: number, maxAckPending: number): Promise<void> {
  try {
    await jsm.consumers.info(EVENTS_STREAM, durable);
    return;
  } catch (err) {
    if (!isConsumerNotFound(err)) throw err;
  }
  await jsm.consumers.add(EVENTS_STREAM, {
    durable_name: durable,
    filter_subject: eventsWildcard(),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs),
    max_ack_pending: maxAckPending,
    max_deliver: -1,
  });
}

/** Removes a queued (not yet acked) job from the jobs stream, e.g. when it is cancelled; false if gone. */
export async function deleteQueuedJob(jsm: JetStreamManager, seq: number): Promise<boolean> {
  try {
    return await jsm.streams.deleteMessage(JOBS_STREAM, seq, false);
  } catch (err) {
    if (isMessageNotFound(err) || isStreamNotFound(err)) return false;
    throw err;
  }
}
