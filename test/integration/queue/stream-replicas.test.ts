/**
 * ensureStreams' replica count against real servers: `auto` makes every visionq stream and
 * the attempts bucket R3 on a 3-node cluster (also scaling up streams an older version made
 * R1, keeping their messages), stays R1 on a single server, and an explicit count the cluster
 * cannot place fails with StreamReplicasError instead of a raw JetStream error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  ADVISORIES_STREAM,
  ATTEMPTS_BUCKET,
  EVENTS_STREAM,
  JOBS_STREAM,
  StreamReplicasError,
  connectNats,
  ensureStreams,
  isStreamNotFound,
  jobSubject,
  publishJob,
} from '../../../src/queue/index.js';
import { startNatsCluster, type NatsClusterHandle } from '../../helpers/nats-cluster.js';
import { startNatsServer, type NatsServerHandle } from '../../helpers/nats-server.js';
import { waitFor } from '../../helpers/wait-for.js';

const ALL_STREAMS = [JOBS_STREAM, EVENTS_STREAM, ADVISORIES_STREAM, `KV_${ATTEMPTS_BUCKET}`];

const replicasOf = async (jsm: JetStreamManager) =>
  Object.fromEntries(await Promise.all(ALL_STREAMS.map(async (s) => [s, (await jsm.streams.info(s)).config.num_replicas] as const)));

const deleteAll = async (jsm: JetStreamManager) => {
  for (const s of ALL_STREAMS) await jsm.streams.delete(s).catch(() => false);
};

/** Every server of the cluster is in the connection's INFO, which is what `auto` counts. */
const seesWholeCluster = (nc: NatsConnection, size: number) =>
  waitFor(() => new Set(nc.info?.connect_urls ?? []).size >= size, { timeoutMs: 20_000, message: `INFO lists ${size} client URLs` });

describe('stream replicas on a 3-node JetStream cluster', () => {
  let h: NatsClusterHandle;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    h = await startNatsCluster({ size: 3 });
    nc = await connectNats({ servers: h.urls, name: 'stream-replicas-test', reconnectTimeWaitMs: 100, reconnectJitterMs: 0 });
    jsm = await jetstreamManager(nc);
    await seesWholeCluster(nc, 3);
  });
  afterAll(async () => {
    await nc?.close();
    await h?.cleanup();
  });

  it("'auto' creates the jobs, events and advisories streams and the attempts bucket with 3 replicas", async () => {
    await deleteAll(jsm);
    const r = await ensureStreams(jsm, { replicas: 'auto', serverInfo: nc.info });
    expect(r.underReplicated).toEqual([]);
    expect(r.jobs.config.num_replicas).toBe(3);
    expect(r.events.config.num_replicas).toBe(3);
    expect(await replicasOf(jsm)).toEqual(Object.fromEntries(ALL_STREAMS.map((s) => [s, 3])));
    // Placed on three distinct servers, not just configured so.
    const info = await jsm.streams.info(JOBS_STREAM);
    expect(new Set([info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((p) => p.name)]).size).toBe(3);
  });

  it("streams made R1 are scaled to R3 by 'auto' with their messages kept", async () => {
    await deleteAll(jsm);
    const r1 = await ensureStreams(jsm, { replicas: 1, serverInfo: nc.info });
    expect(r1.underReplicated).toEqual([]);
    expect(await replicasOf(jsm)).toEqual(Object.fromEntries(ALL_STREAMS.map((s) => [s, 1])));

    const js = jetstream(nc);
    const uids = Array.from({ length: 5 }, (_, k) => `scale-${process.pid}-${k}`);
    for (const uid of uids) await publishJob(js, { uid, namespace: 'ns', name: uid, pool: 'scale', publishedAt: new Date().toISOString() });
    await js.publish(`visionq.events.ns.scale-${process.pid}`, 'an event');
    const kv = await new Kvm(js).open(ATTEMPTS_BUCKET);
    await kv.put(`scale-${process.pid}`, 'attempt record');

    const r3 = await ensureStreams(jsm, { replicas: 'auto', serverInfo: nc.info });
    expect(r3.underReplicated).toEqual([]);
    expect(await replicasOf(jsm)).toEqual(Object.fromEntries(ALL_STREAMS.map((s) => [s, 3])));
    // The new copies are filled from the old one: all three peers current with every message.
    for (const s of [JOBS_STREAM, EVENTS_STREAM, `KV_${ATTEMPTS_BUCKET}`]) {
      await waitFor(
        async () => {
          const info = await jsm.streams.info(s);
          const peers = info.cluster?.replicas ?? [];
          return info.cluster?.leader !== undefined && peers.length === 2 && peers.every((p) => p.current && !p.offline);
        },
        { timeoutMs: 30_000, message: `${s} has three current peers` },
      );
    }
    expect((await jsm.streams.info(JOBS_STREAM)).state.messages).toBe(uids.length);
    const subjects: Array<string | undefined> = [];
    for (let seq = 1; seq <= uids.length; seq++) subjects.push((await jsm.streams.getMessage(JOBS_STREAM, { seq }))?.subject);
    expect(subjects).toEqual(uids.map(() => jobSubject('ns', 'scale')));
    expect((await jsm.streams.info(EVENTS_STREAM)).state.messages).toBe(1);
    expect((await kv.get(`scale-${process.pid}`))?.string()).toBe('attempt record');

    // Idempotent at R3: nothing to change, nothing under-replicated.
    const again = await ensureStreams(jsm, { replicas: 'auto', serverInfo: nc.info });
    expect(again.jobs.created).toEqual(r3.jobs.created);
  });

  it('an explicit count the cluster cannot place (5 on 3 servers) fails with StreamReplicasError', async () => {
    await deleteAll(jsm);
    const err = await ensureStreams(jsm, { replicas: 5, serverInfo: nc.info }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamReplicasError);
    expect((err as StreamReplicasError).cause).toBeDefined();
    // Nothing half-made: the jobs stream, the first one ensured, was refused, not created smaller.
    expect(isStreamNotFound(await jsm.streams.info(JOBS_STREAM).catch((e: unknown) => e))).toBe(true);
  });
});

describe('stream replicas on a single server', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectNats({ servers: server.url, name: 'stream-replicas-single' });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.cleanup();
  });

  it("'auto' makes every stream R1", async () => {
    const jsm = await jetstreamManager(nc);
    const r = await ensureStreams(jsm, { replicas: 'auto', serverInfo: nc.info });
    expect(r.underReplicated).toEqual([]);
    expect(await replicasOf(jsm)).toEqual(Object.fromEntries(ALL_STREAMS.map((s) => [s, 1])));
  });
});
