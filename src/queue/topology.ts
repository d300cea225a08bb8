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
import type { ServerInfo } from '@nats-io/transport-node';
import { isConsumerNotFound, isMessageNotFound, isNoSuitablePeers, isStreamNotFound, StreamReplicasError } from './errors.js';
import { wantedReplicas, type ReplicasSetting } from './replicas.js';
import { ADVISORIES_STREAM, ATTEMPTS_BUCKET, EVENTS_STREAM, maxDeliveriesAdvisorySubject, EVENTS_SUBJECT_PREFIX, JOBS_STREAM, JOBS_SUBJECT_PREFIX, consumerName, eventsWildcard, jobSubject } from './subjects.js';

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
  /** Copies of each stream and of the KV bucket. Default `auto` (see replicas.ts). */
  replicas?: ReplicasSetting;
  /** INFO of the server the connection is on; `auto` reads the cluster size from it. */
  serverInfo?: Pick<ServerInfo, 'cluster' | 'connect_urls' | 'jetstream'>;
}

export interface EnsureStreamsResult {
  jobs: StreamInfo;
  events: StreamInfo;
  /**
   * Streams left below the replica count `auto` wanted because the cluster could not place
   * the extra copies right now (a server is down); the next ensure tries again.
   */
  underReplicated: string[];
}

const DAY = 24 * 3600_000;

/**
 * Creates or updates VISIONQ_JOBS, VISIONQ_EVENTS and the VISIONQ_ATTEMPTS KV bucket,
 * including their replica count. Idempotent. JetStream moves the data itself when the
 * count changes; leaders and placement need nothing from visionq.
 */
export async function ensureStreams(jsm: JetStreamManager, opts: StreamsOptions = {}): Promise<EnsureStreamsResult> {
  const setting = opts.replicas ?? 'auto';
  const underReplicated: string[] = [];
  const ensure = (cfg: Partial<StreamConfig> & { name: string }) => ensureStream(jsm, cfg, setting, opts.serverInfo, underReplicated);
  const jobs = await ensure({
    name: JOBS_STREAM,
    subjects: [`${JOBS_SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    max_bytes: opts.jobsMaxBytes ?? 256 * 1024 * 1024,
    max_msgs: opts.jobsMaxMsgs ?? 1_000_000,
    duplicate_window: nanos(opts.duplicateWindowMs ?? DAY),
  });
  const events = await ensure({
    name: EVENTS_STREAM,
    subjects: [`${EVENTS_SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(opts.eventsMaxAgeMs ?? 7 * DAY),
    duplicate_window: nanos(Math.min(opts.eventsMaxAgeMs ?? 7 * DAY, 10 * 60_000)),
  });
  await ensure({
    name: ADVISORIES_STREAM,
    subjects: [maxDeliveriesAdvisorySubject(JOBS_STREAM, '*')],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(opts.eventsMaxAgeMs ?? 7 * DAY),
  });
  const attemptsMaxAge = nanos(opts.attemptsMaxAgeMs ?? 30 * DAY);
  let kvInfo: StreamInfo | undefined;
  try {
    kvInfo = await jsm.streams.info(`KV_${ATTEMPTS_BUCKET}`);
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
  }
  if (!kvInfo) {
    const replicas = wantedReplicas(setting, opts.serverInfo);
    await withPlacement(`KV_${ATTEMPTS_BUCKET}`, replicas, setting, underReplicated, async (r) => {
      await new Kvm(jsm.jetstream()).create(ATTEMPTS_BUCKET, { history: 1, ttl: opts.attemptsMaxAgeMs ?? 30 * DAY, storage: StorageType.File, replicas: r });
    });
  } else {
    const current = kvInfo.config;
    const replicas = wantedReplicas(setting, opts.serverInfo, current.num_replicas);
    if (current.max_age !== attemptsMaxAge || current.num_replicas !== replicas) {
      await withPlacement(current.name, replicas, setting, underReplicated, async (r) => {
        if (current.max_age === attemptsMaxAge && current.num_replicas === r) return;
        await jsm.streams.update(current.name, { ...current, max_age: attemptsMaxAge, num_replicas: r });
      }, current.num_replicas);
    }
  }
  return { jobs, events, underReplicated };
}

async function ensureStream(
  jsm: JetStreamManager,
  cfg: Partial<StreamConfig> & { name: string },
  setting: ReplicasSetting,
  info: StreamsOptions['serverInfo'],
  underReplicated: string[],
): Promise<StreamInfo> {
  let current: StreamInfo | undefined;
  try {
    current = await jsm.streams.info(cfg.name);
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
  }
  const replicas = wantedReplicas(setting, info, current?.config.num_replicas);
  return withPlacement(cfg.name, replicas, setting, underReplicated, async (r) => {
    if (!current) return jsm.streams.add({ ...cfg, num_replicas: r });
    const { name, retention: _r, storage: _s, ...rest } = cfg;
    const mutable = { ...rest, num_replicas: r };
    const changed = Object.entries(mutable).some(([k, v]) => JSON.stringify((current.config as unknown as Record<string, unknown>)[k]) !== JSON.stringify(v));
    return changed ? jsm.streams.update(name, { ...current.config, ...mutable }) : current;
  }, current?.config.num_replicas);
}

/**
 * Runs `apply` with `replicas`; when the cluster cannot place that many copies ("no suitable
 * peers": a server is down or the cluster is smaller than asked), an `auto` count falls back
 * to what the stream has (or 1) and is reported as under-replicated, while an explicit count
 * fails with an error that says what to change.
 */
async function withPlacement<T>(name: string, replicas: number, setting: ReplicasSetting, underReplicated: string[], apply: (replicas: number) => Promise<T>, current?: number): Promise<T> {
  try {
    return await apply(replicas);
  } catch (err) {
    if (!isNoSuitablePeers(err)) throw err;
    const fallback = current ?? 1;
    if (setting !== 'auto' || fallback >= replicas) {
      throw new StreamReplicasError(
        `stream ${name} needs ${replicas} replicas but the NATS cluster cannot place them (fewer JetStream servers up than that); start the missing servers or set the replicas to "auto" or 1`,
        { cause: err },
      );
    }
    underReplicated.push(name);
    return apply(fallback);
  }
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
  /**
   * False while attempts are in flight: their agents heartbeat at a third of the ack_wait they
   * read, so a shorter deadline could redeliver running jobs. The consumer then keeps its
   * longer ack_wait (the caller sees it in the returned info and tries again later).
   */
  lowerAckWait?: boolean;
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
  if (opts.lowerAckWait === false && c.ack_wait !== undefined && c.ack_wait > wanted.ack_wait) wanted.ack_wait = c.ack_wait;
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
export function ensureEventsConsumer(jsm: JetStreamManager, durable: string, ackWaitMs: number, maxAckPending: number): Promise<void> {
  return ensureControllerConsumer(jsm, EVENTS_STREAM, eventsWildcard(), durable, ackWaitMs, maxAckPending);
}

/** The controller's durable consumer of VISIONQ_ADVISORIES (same terms as the events one). */
export function ensureAdvisoriesConsumer(jsm: JetStreamManager, durable: string, ackWaitMs: number): Promise<void> {
  return ensureControllerConsumer(jsm, ADVISORIES_STREAM, maxDeliveriesAdvisorySubject(JOBS_STREAM, '*'), durable, ackWaitMs, 1024);
}

async function ensureControllerConsumer(jsm: JetStreamManager, stream: string, filter: string, durable: string, ackWaitMs: number, maxAckPending: number): Promise<void> {
  try {
    await jsm.consumers.info(stream, durable);
    return;
  } catch (err) {
    if (!isConsumerNotFound(err)) throw err;
  }
  await jsm.consumers.add(stream, {
    durable_name: durable,
    filter_subject: filter,
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
