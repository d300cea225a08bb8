/**
 * The job queue on a real 3-node JetStream cluster (R3 streams, consumers and attempts bucket)
 * under node faults: the stream leader SIGKILLed, a follower losing its disk, a rolling
 * restart and a short outage of every node. Each fault hits while jobs are both running and
 * queued; afterwards every job has Succeeded and its algorithm ran exactly once, to the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../src/queue/connect.js';
import { ADVISORIES_STREAM, ATTEMPTS_BUCKET, EVENTS_STREAM, JOBS_STREAM, consumerName } from '../../src/queue/subjects.js';
import type { NatsCluster } from '../../src/sandbox/nats-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { counts, createJob, createPool, job, NS, probeJob, probePool, probeRuns, startHarness, waitAllSucceeded, type Harness } from './harness.js';

const POOL = 'ha-queue';
/** Workers that fit on the 2 nodes × 2 GPUs. */
const SLOTS = 4;
/**
 * The pool's limit (maxReplicas × 1 slot) is above what fits, so the controller publishes
 * more jobs than there are workers and some wait in VISIONQ_JOBS when a fault hits; the
 * two extra worker pods stay unschedulable.
 */
const LIMIT = 6;
/**
 * ack_wait above the failover time. A new consumer leader knows a running job's delivery
 * time but not the working() beats the dead leader took, so a job delivered more than
 * ack_wait before the election ends is redelivered at once and its running attempt is
 * superseded: a second run that JetStream semantics, not visionq, cause. With the probe
 * pools' 6 s that happens on every SIGKILL here (elections took 6-8 s); 30 s (the default
 * is 60) leaves room for the election and the next beat (every 10 s).
 */
const ACK_WAIT_SECONDS = 30;
const STREAMS = [JOBS_STREAM, EVENTS_STREAM, ADVISORIES_STREAM, `KV_${ATTEMPTS_BUCKET}`];

describe('job queue on a 3-node NATS cluster under node faults', () => {
  let h: Harness;
  let cluster: NatsCluster;
  /** The test's own connection, for leader lookups and health checks (never the controller's). */
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    h = await startHarness({ natsCluster: 3, nodes: 2, gpusPerNode: 2 });
    cluster = h.sandbox.natsCluster!;
    nc = await connectNats({ servers: h.sandbox.natsUrl, name: 'queue-ha-test', reconnectTimeWaitMs: 100, reconnectJitterMs: 0 });
    // A short API timeout so polls during elections take the next turn instead of waiting 5 s.
    jsm = await jetstreamManager(nc, { timeout: 1_000, checkAPI: false });
    await createPool(h, probePool(h, POOL, { minReplicas: SLOTS, maxReplicas: LIMIT, ackWaitSeconds: ACK_WAIT_SECONDS }));
    await waitFor(() => h.pods.podsOf(POOL).filter((p) => p.status?.phase === 'Running').length === SLOTS, {
      timeoutMs: 60_000,
      message: `${SLOTS} ${POOL} workers running`,
    });
    await waitHealthy('start', false);
  }, 120_000);

  afterAll(async () => {
    await nc?.close();
    await h?.stop();
  });

  /**
   * Streams (and the pool consumer, which the controller creates with the pool's first
   * admitted job) all have a leader and two current, online followers.
   */
  const healthy = async (withConsumer = true): Promise<boolean> => {
    for (const s of STREAMS) {
      const c = (await jsm.streams.info(s)).cluster;
      if (!c?.leader || c.replicas?.length !== 2 || !c.replicas.every((r) => r.current && !r.offline)) return false;
    }
    if (!withConsumer) return true;
    const c = (await jsm.consumers.info(JOBS_STREAM, consumerName(NS, POOL))).cluster;
    return !!c?.leader && c.replicas?.length === 2 && c.replicas.every((r) => r.current && !r.offline);
  };
  const waitHealthy = (what: string, withConsumer = true) => waitFor(() => healthy(withConsumer), { timeoutMs: 60_000, intervalMs: 200, message: `every stream and the pool consumer on 3 current peers (${what})` });

  /** Node i is back as a current peer of every stream and of the pool consumer. */
  const rejoined = async (i: number): Promise<boolean> => {
    const name = cluster.nodes[i]!.name;
    const current = (c: { leader?: string; replicas?: Array<{ name: string; current: boolean; offline?: boolean }> } | undefined) =>
      !!c?.leader && (c.leader === name || !!c.replicas?.some((r) => r.name === name && r.current && !r.offline));
    for (const s of STREAMS) if (!current((await jsm.streams.info(s)).cluster)) return false;
    return current((await jsm.consumers.info(JOBS_STREAM, consumerName(NS, POOL))).cluster);
  };

  /**
   * Creates `n` jobs of 2-3 s and resolves once jobs run and others are published but still
   * waiting in the queue: the moment the fault must hit.
   */
  const loadUp = async (prefix: string, n: number): Promise<string[]> => {
    const names = Array.from({ length: n }, (_, k) => `${prefix}-${k + 1}`);
    for (const [k, name] of names.entries()) await createJob(h, probeJob(name, POOL, { durationSeconds: 2 + (k % 2) }));
    await waitFor(
      async () => {
        const mine = (await probeRuns(h)).filter((r) => names.includes(r.job));
        const running = mine.filter((r) => r.end === undefined).length;
        const queued = names.filter((nm) => job(h, nm)?.status?.phase === 'Queued').length;
        if (running > 0 && queued > 0) return true;
        // Not ready yet; the last of these becomes the timeout's cause.
        throw new Error(`${running} running, ${queued} queued, ${mine.length} runs so far`);
      },
      { timeoutMs: 60_000, intervalMs: 50, message: `${prefix}: jobs running and some queued` },
    );
    return names;
  };

  /** Every job Succeeded after exactly one run of its algorithm, which ran to its end. */
  const expectEachRanOnce = async (names: string[]): Promise<void> => {
    const done = await waitAllSucceeded(h, names, 120_000);
    const runs = (await probeRuns(h)).filter((r) => names.includes(r.job));
    for (const name of names) {
      const mine = runs.filter((r) => r.job === name);
      expect(mine.map((r) => r.how), `${name} runs ${JSON.stringify(mine)}, status ${JSON.stringify(job(h, name)?.status)}`).toEqual(['end']);
    }
    for (const j of done) expect(counts(j), j.metadata.name).toMatchObject({ phase: 'Succeeded', attempts: 1, failures: 0, disruptions: 0 });
  };

  const elapsed = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

  it('SIGKILL of the jobs stream leader mid-run: a new leader takes over, every job runs once', async () => {
    const t0 = Date.now();
    const names = await loadUp('kill-leader', 12);
    const leader = await cluster.streamLeader(jsm, JOBS_STREAM);
    expect(leader).toBeDefined();
    const killedAt = Date.now();
    await cluster.kill(leader!);
    const next = await waitFor(
      async () => {
        const l = await cluster.streamLeader(jsm, JOBS_STREAM);
        return l !== undefined && l !== leader ? { l } : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, message: 'a new VISIONQ_JOBS leader' },
    );
    const failoverMs = Date.now() - killedAt;
    await expectEachRanOnce(names);
    await cluster.restart(leader!);
    await waitHealthy('killed leader restarted');
    // Not asserted (no timed assertions): reported so failover cost is visible in the log.
    console.info(`queue-ha: leader n${leader} SIGKILLed, n${next.l} leads after ${failoverMs} ms; scenario ${elapsed(t0)}`);
  }, 180_000);

  it('a follower SIGKILLed and wiped rejoins blank and catches up while jobs run', async () => {
    const t0 = Date.now();
    const names = await loadUp('wipe-follower', 12);
    const leader = await cluster.streamLeader(jsm, JOBS_STREAM);
    const follower = [0, 1, 2].find((i) => i !== leader)!;
    await cluster.kill(follower);
    await cluster.wipe(follower);
    await cluster.restart(follower);
    const restartedAt = Date.now();
    await waitFor(() => rejoined(follower), { timeoutMs: 60_000, intervalMs: 200, message: `wiped n${follower} current on every stream` });
    const catchUpMs = Date.now() - restartedAt;
    await expectEachRanOnce(names);
    await waitHealthy('wiped follower back');
    console.info(`queue-ha: follower n${follower} wiped, current again ${catchUpMs} ms after restart; scenario ${elapsed(t0)}`);
  }, 180_000);

  it('rolling restart of all three nodes, one at a time: every job runs once', async () => {
    const t0 = Date.now();
    const names = await loadUp('rolling', 24);
    const rejoinMs: number[] = [];
    for (const i of [0, 1, 2]) {
      await cluster.stop(i);
      await cluster.restart(i);
      const t = Date.now();
      await waitFor(() => rejoined(i), { timeoutMs: 60_000, intervalMs: 200, message: `n${i} current again after its restart` });
      rejoinMs.push(Date.now() - t);
    }
    await expectEachRanOnce(names);
    await waitHealthy('rolling restart done');
    console.info(`queue-ha: rolling restart, rejoin ${rejoinMs.join('/')} ms; scenario ${elapsed(t0)}`);
  }, 240_000);

  it('all three nodes down for ~2 s: everything resumes, every job runs once', async () => {
    const t0 = Date.now();
    const names = await loadUp('outage', 12);
    await cluster.stopAll();
    // The deliberate outage gap of this scenario (the one sleep in this file).
    await new Promise((r) => setTimeout(r, 2_000));
    const restartAt = Date.now();
    await cluster.start();
    await waitHealthy('after the full outage');
    const recoverMs = Date.now() - restartAt;
    await expectEachRanOnce(names);
    console.info(`queue-ha: full outage, cluster healthy ${recoverMs} ms after restart; scenario ${elapsed(t0)}`);
  }, 180_000);
});
