import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { startNatsServer, type NatsServerHandle } from '../../helpers/nats-server.js';
import { waitFor } from '../../helpers/wait-for.js';
import {
  ATTEMPTS_BUCKET,
  AttemptStore,
  EVENTS_STREAM,
  JOBS_STREAM,
  NatsUnavailableError,
  QueueFullError,
  consumerName,
  deletePoolConsumer,
  deleteQueuedJob,
  detectServerFeatures,
  ensurePoolConsumer,
  ensureStreams,
  nakByAckSubject,
  termByAckSubject,
  publishJob,
  subscribeMaxDeliveries,
  connectNats,
  type MaxDeliveriesAdvisory,
} from '../../../src/queue/index.js';

const job = (uid: string, pool = 'p1') => ({ uid, namespace: 'ns', name: `job-${uid}`, pool, publishedAt: new Date().toISOString() });

describe('queue topology and protocol on nats-server 2.9', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectNats({ servers: server.url, name: 'queue-test' });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await nc?.close();
    await server?.cleanup();
  });

  it('creates streams idempotently and applies changed limits', async () => {
    const first = await ensureStreams(jsm, { jobsMaxMsgs: 100 });
    expect(first.jobs.config).toMatchObject({ retention: 'workqueue', discard: 'new', max_msgs: 100, storage: 'file' });
    expect(first.events.config).toMatchObject({ retention: 'limits' });
    const again = await ensureStreams(jsm, { jobsMaxMsgs: 100 });
    expect(again.jobs.created).toEqual(first.jobs.created);
    const changed = await ensureStreams(jsm, { jobsMaxMsgs: 5, eventsMaxAgeMs: 3600_000, attemptsMaxAgeMs: 7200_000 });
    expect((await jsm.streams.info(`KV_${ATTEMPTS_BUCKET}`)).config.max_age).toBe(7200_000 * 1e6);
    expect(changed.jobs.config.max_msgs).toBe(5);
    expect(changed.events.config.max_age).toBe(3600_000 * 1e6);
    expect((await jsm.streams.info(EVENTS_STREAM)).config.max_age).toBe(3600_000 * 1e6);
  });

  it('creates a pool consumer and updates ack_wait / max_ack_pending / max_deliver in place', async () => {
    const c1 = await ensurePoolConsumer(jsm, { namespace: 'ns', pool: 'my.pool', ackWaitSeconds: 60, maxAckPending: 4, maxDeliver: 10 });
    expect(c1.name).toBe('visionq_ns_my~pool');
    expect(c1.config).toMatchObject({ ack_policy: 'explicit', filter_subject: 'visionq.jobs.ns.my~pool', max_ack_pending: 4, ack_wait: 60e9 });
    const c2 = await ensurePoolConsumer(jsm, { namespace: 'ns', pool: 'my.pool', ackWaitSeconds: 30, maxAckPending: 8, maxDeliver: 20 });
    expect(c2.config).toMatchObject({ ack_wait: 30e9, max_ack_pending: 8, max_deliver: 20 });
    expect(c2.created).toEqual(c1.created);
    expect(await deletePoolConsumer(jsm, 'ns', 'my.pool')).toBe(true);
    expect(await deletePoolConsumer(jsm, 'ns', 'my.pool')).toBe(false);
  });

  it('publishes once per msgID, maps a full queue to QueueFullError and deletes queued jobs', async () => {
    await ensureStreams(jsm, { jobsMaxMsgs: 2 });
    const a = await publishJob(js, job('a'));
    expect(await publishJob(js, job('a'))).toEqual({ seq: a.seq, duplicate: true });
    // A re-send with a new generation is a new message.
    const a2 = await publishJob(js, { ...job('a'), requeueGeneration: 1 });
    expect(a2.duplicate).toBe(false);
    const err = await publishJob(js, job('b')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueFullError);
    expect((err as Error).cause).toBeDefined();
    expect(await deleteQueuedJob(jsm, a.seq)).toBe(true);
    expect(await deleteQueuedJob(jsm, a.seq)).toBe(false);
    await deleteQueuedJob(jsm, a2.seq);
    await ensureStreams(jsm, { jobsMaxMsgs: 1000 });
    expect((await publishJob(js, job('b'))).duplicate).toBe(false);
    await jsm.streams.purge(JOBS_STREAM);
  });

  it('maps an unreachable server to NatsUnavailableError', async () => {
    const other = await startNatsServer();
    const nc2 = await connect({ servers: other.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    await ensureStreams(await jetstreamManager(nc2));
    await other.stop();
    const err = await publishJob(jetstream(nc2), job('x'), { timeoutMs: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsUnavailableError);
    await nc2.close();
    await other.cleanup();
  });

  it('re-queues a delivery at once with nakByAckSubject and reports MAX_DELIVERIES advisories', async () => {
    await ensurePoolConsumer(jsm, { namespace: 'ns', pool: 'adv', ackWaitSeconds: 30, maxAckPending: 10, maxDeliver: 2 });
    const seen: MaxDeliveriesAdvisory[] = [];
    const sub = subscribeMaxDeliveries(nc, (a) => void seen.push(a));
    await nc.flush();
    const { seq } = await publishJob(js, job('adv-1', 'adv'));
    const consumer = await js.consumers.get(JOBS_STREAM, consumerName('ns', 'adv'));
    const m1 = await consumer.next({ expires: 5000 });
    expect(m1?.info.deliveryCount).toBe(1);
    nakByAckSubject(nc, (m1 as unknown as { reply: string }).reply);
    const m2 = await consumer.next({ expires: 5000 });
    expect(m2?.info.deliveryCount).toBe(2);
    nakByAckSubject(nc, (m2 as unknown as { reply: string }).reply);
    // The server notices the exhausted message when it next looks for one to deliver (a pull).
    expect(await consumer.next({ expires: 1000 })).toBeNull();
    await waitFor(() => seen.length > 0, { message: 'max deliveries advisory' });
    expect(seen[0]).toMatchObject({ stream: JOBS_STREAM, consumer: consumerName('ns', 'adv'), stream_seq: seq });
    // The message stays in the WorkQueue stream until the controller removes it.
    expect(await deleteQueuedJob(jsm, seq)).toBe(true);
    sub.unsubscribe();
  });

  it('counts each failure once per delivery and detects superseded attempts', async () => {
    const kv = await new Kvm(js).open(ATTEMPTS_BUCKET);
    const store = new AttemptStore(kv);
    expect((await store.claim('u1', { streamSeq: 5, deliveryCount: 1 }, 'pod-a')).ok).toBe(true);
    expect(await store.recordFailure('u1', { streamSeq: 5, deliveryCount: 1 })).toEqual({ failures: 1, superseded: false });
    expect(await store.recordFailure('u1', { streamSeq: 5, deliveryCount: 1 })).toEqual({ failures: 1, superseded: false });
    const c2 = await store.claim('u1', { streamSeq: 5, deliveryCount: 2 }, 'pod-b');
    expect(c2).toMatchObject({ ok: true, record: { attempts: 2, failures: 1 } });
    expect(await store.isSuperseded('u1', { streamSeq: 5, deliveryCount: 1 })).toBe(true);
    expect((await store.claim('u1', { streamSeq: 5, deliveryCount: 1 }, 'pod-a')).ok).toBe(false);
    expect(await store.recordFailure('u1', { streamSeq: 5, deliveryCount: 1 })).toEqual({ failures: 1, superseded: true });
    // Concurrent claims of the same delivery: exactly one wins.
    const results = await Promise.all([1, 2, 3].map((i) => store.claim('u2', { streamSeq: 9, deliveryCount: 1 }, `pod-${i}`)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });

  it('sends plain +TERM on 2.9, where a +TERM with a reason is ignored and the job would come back', async () => {
    await ensurePoolConsumer(jsm, { namespace: 'ns', pool: 'term', ackWaitSeconds: 1, maxAckPending: 10, maxDeliver: 5 });
    const consumer = await js.consumers.get(JOBS_STREAM, consumerName('ns', 'term'));
    const reasonSupported = detectServerFeatures(nc).termReason;
    await publishJob(js, job('term-reason', 'term'));
    const m1 = await consumer.next({ expires: 5000 });
    await termByAckSubject(nc, (m1 as unknown as { reply: string }).reply, { reason: 'bad input' });
    const back = await consumer.next({ expires: 2500 });
    expect(back !== null).toBe(!reasonSupported);
    // Plain +TERM (what the agent sends on 2.9) removes the job for good.
    if (back) await termByAckSubject(nc, (back as unknown as { reply: string }).reply);
    expect(await consumer.next({ expires: 2000 })).toBeNull();
    expect((await jsm.consumers.info(JOBS_STREAM, consumerName('ns', 'term'))).num_ack_pending).toBe(0);
  });

  it('detects nats-server 2.9 features as off', () => {
    expect(detectServerFeatures(nc)).toMatchObject({ version: '2.9.10', termReason: false, priorityGroups: false, perMessageTtl: false, multiFilter: false });
  });
});
