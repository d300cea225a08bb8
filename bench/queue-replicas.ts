/**
 * What three copies of the queue cost and what they buy, in one run on loopback: VISIONQ_JOBS
 * at R1 on a single server, at R1 on a 3-node cluster and at R3 on the same cluster.
 *  - publish throughput through publishJob (msgID dedup on): sequential and 64 in flight;
 *  - dispatch latency: publish → received by a pull like the agent's → ack confirmed;
 *  - failover (R3): SIGKILL of the stream leader or of the pool consumer's leader while jobs
 *    flow, time until a job published after the kill has been received and its ack confirmed;
 *    the node is restarted and caught up before the next kill.
 * On the cluster the publisher and the consumer sit on the two nodes that do not lead the
 * stream (the 2-in-3 case of a client picking a node at random), so R1 and R3 pay the same
 * hop; for a kill, on the two surviving nodes (no client reconnect in the figure).
 * Run: npx tsx bench/queue-replicas.ts   (or npm run bench -- queue-replicas)
 * BENCH_ROUNDS (5), BENCH_SEQ_MSGS (300), BENCH_PAR_MSGS (2000), BENCH_LATENCY (150), BENCH_KILLS (6).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type Consumer, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsCluster } from '../src/sandbox/nats-cluster.js';
import { JOBS_STREAM, consumerName, ensurePoolConsumer, ensureStreams, publishJob } from '../src/queue/index.js';
import { freePort } from '../src/sandbox/free-port.js';
import { NatsServerProcess } from '../src/sandbox/nats-server-process.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { AgentStylePuller, connectVia, delay, median, round, type Taken } from './queue-bench-util.js';
import { procCpu } from './proc-cpu-util.js';
import { percentile, writeResult } from './report-util.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const seqMsgs = Number(process.env.BENCH_SEQ_MSGS ?? 300);
const parMsgs = Number(process.env.BENCH_PAR_MSGS ?? 2000);
const inFlight = 64;
const latencyIterations = Number(process.env.BENCH_LATENCY ?? 150);
const kills = Number(process.env.BENCH_KILLS ?? 6);
const NS = 'bench';
const TPUT_POOL = 'tput';
const LAT_POOL = 'lat';
const runId = `${process.pid}-${Date.now()}`;
let uidSeq = 0;

const job = (pool: string) => {
  const n = uidSeq++;
  return { uid: `qr-${runId}-${n}`, namespace: NS, name: `qr-${n}`, pool, publishedAt: new Date().toISOString() };
};

interface Throughput {
  sequentialMsgsPerSec: number[];
  parallelMsgsPerSec: number[];
  /** nats-server CPU (all nodes) per 1000 jobs published, ms. */
  serverCpuMsPer1000: { sequential: number; parallel: number };
  /** This process's CPU (publishJob: zod, JSON, nats.js) per 1000 jobs, ms: whether the client or the server is the limit. */
  clientCpuMsPer1000: { sequential: number; parallel: number };
}

/** CPU seconds so far of the nats-server processes and of this process. */
function cpuNow(serverPids: number[]): { server: number; client: number } {
  const u = process.cpuUsage();
  return { server: serverPids.reduce((s, pid) => s + (procCpu(pid)?.self ?? 0), 0), client: (u.user + u.system) / 1e6 };
}

/** Rounds of `seqMsgs` awaited one by one and of `parMsgs` with `inFlight` outstanding; the stream is purged between rounds. */
async function throughput(js: JetStreamClient, jsm: JetStreamManager, serverPids: number[]): Promise<Throughput> {
  const seqMs: number[] = [];
  const parMs: number[] = [];
  const cpu = { seq: { server: 0, client: 0 }, par: { server: 0, client: 0 } };
  const add = (into: { server: number; client: number }, c0: { server: number; client: number }) => {
    const c1 = cpuNow(serverPids);
    into.server += c1.server - c0.server;
    into.client += c1.client - c0.client;
  };
  // Warm-up: connection, stream leader's file store, dedup map.
  for (let i = 0; i < 50; i++) await publishJob(js, job(TPUT_POOL));
  for (let r = 0; r < rounds; r++) {
    await jsm.streams.purge(JOBS_STREAM, { filter: `visionq.jobs.${NS}.${TPUT_POOL}` });
    let c0 = cpuNow(serverPids);
    let t0 = performance.now();
    for (let i = 0; i < seqMsgs; i++) await publishJob(js, job(TPUT_POOL));
    seqMs.push(performance.now() - t0);
    add(cpu.seq, c0);
    await jsm.streams.purge(JOBS_STREAM, { filter: `visionq.jobs.${NS}.${TPUT_POOL}` });
    let next = 0;
    c0 = cpuNow(serverPids);
    t0 = performance.now();
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next++ < parMsgs) await publishJob(js, job(TPUT_POOL));
    }));
    parMs.push(performance.now() - t0);
    add(cpu.par, c0);
  }
  await jsm.streams.purge(JOBS_STREAM, { filter: `visionq.jobs.${NS}.${TPUT_POOL}` });
  const per1000 = (cpuSeconds: number, msgs: number) => Math.round((cpuSeconds * 1e6) / (msgs * rounds));
  return {
    sequentialMsgsPerSec: seqMs.map((ms) => Math.round(seqMsgs / (ms / 1000))),
    parallelMsgsPerSec: parMs.map((ms) => Math.round(parMsgs / (ms / 1000))),
    serverCpuMsPer1000: { sequential: per1000(cpu.seq.server, seqMsgs), parallel: per1000(cpu.par.server, parMsgs) },
    clientCpuMsPer1000: { sequential: per1000(cpu.seq.client, seqMsgs), parallel: per1000(cpu.par.client, parMsgs) },
  };
}

interface Latency {
  publishAckMs: number[];
  receivedMs: number[];
  ackConfirmedMs: number[];
}

/** One job at a time to an idle one-slot puller whose pull is already waiting at the server. */
async function dispatchLatency(js: JetStreamClient, consumerNc: NatsConnection): Promise<Latency> {
  const consumer = await jetstream(consumerNc).consumers.get(JOBS_STREAM, consumerName(NS, LAT_POOL));
  const taken = new Map<string, Taken>();
  const puller = new AgentStylePuller(consumerNc, consumer, (t) => taken.set(t.job.uid, t));
  puller.start();
  const out: Latency = { publishAckMs: [], receivedMs: [], ackConfirmedMs: [] };
  try {
    for (let i = -10; i < latencyIterations; i++) {
      await waitFor(() => puller.pullSentAt !== undefined, { timeoutMs: 15_000, intervalMs: 1, message: 'puller waiting' });
      // The pull has left the client; give it time to reach the consumer's leader through the route.
      await consumerNc.flush();
      await delay(10);
      const j = job(LAT_POOL);
      const t0 = performance.now();
      await publishJob(js, j);
      const published = performance.now();
      const t = await waitFor(() => taken.get(j.uid), { timeoutMs: 15_000, intervalMs: 1, message: `job ${j.name} taken` });
      if (i < 0) continue;
      out.publishAckMs.push(published - t0);
      out.receivedMs.push(t.receivedAt - t0);
      out.ackConfirmedMs.push(t.ackedAt - t0);
    }
  } finally {
    await puller.stop();
  }
  return out;
}

interface Target {
  js: JetStreamClient;
  jsm: JetStreamManager;
  pubNc: NatsConnection;
  subNc: NatsConnection;
  close(): Promise<void>;
}

/** Publisher and consumer connections; on a cluster each on a different node other than `avoid` (the stream leader, a node to be killed). */
async function targetOn(urls: string[], avoid: number | undefined): Promise<Target> {
  const others = urls.filter((_, i) => i !== avoid);
  const pubNc = await connectVia(others[0]!, urls, 'bench-queue-replicas-pub');
  const subNc = await connectVia(others[1] ?? others[0]!, urls, 'bench-queue-replicas-sub');
  return {
    js: jetstream(pubNc),
    jsm: await jetstreamManager(pubNc),
    pubNc,
    subNc,
    close: async () => {
      await pubNc.close();
      await subNc.close();
    },
  };
}

async function setUpQueue(jsm: JetStreamManager, replicas: number): Promise<void> {
  await ensureStreams(jsm, { replicas });
  await ensurePoolConsumer(jsm, { namespace: NS, pool: LAT_POOL, ackWaitSeconds: 30, maxAckPending: 10, maxDeliver: -1 });
}

interface Scenario {
  throughput: Throughput;
  latency: Latency;
}

async function measure(t: Target, serverPids: number[]): Promise<Scenario> {
  return { throughput: await throughput(t.js, t.jsm, serverPids), latency: await dispatchLatency(t.js, t.subNc) };
}

async function leadersOf(cluster: NatsCluster, jsm: JetStreamManager): Promise<{ stream?: number; consumer?: number }> {
  const stream = await cluster.streamLeader(jsm, JOBS_STREAM);
  const consumer = cluster.indexOf((await jsm.consumers.info(JOBS_STREAM, consumerName(NS, LAT_POOL))).cluster?.leader);
  return { stream, consumer };
}

/** Stream and pool consumer each have a leader and two current, online followers. */
async function fullyReplicated(jsm: JetStreamManager): Promise<boolean> {
  const s = await jsm.streams.info(JOBS_STREAM);
  const c = await jsm.consumers.info(JOBS_STREAM, consumerName(NS, LAT_POOL));
  const ok = (cl: typeof s.cluster) => cl?.leader !== undefined && (cl.replicas ?? []).length === 2 && (cl.replicas ?? []).every((r) => r.current && !r.offline);
  return ok(s.cluster) && ok(c.cluster);
}

interface Kill {
  killed: 'stream leader' | 'consumer leader' | 'stream + consumer leader';
  /** Kill → stream and consumer info both name leaders other than the killed node (polled, 500 ms API timeout: a rough bound). */
  electedMs: number;
  /** Kill → the first job published after it stored (publish acked). */
  publishStallMs: number;
  /** Kill → the first job published after it received by the puller and its ack confirmed. */
  nextJobMs: number;
  /** Restart of the killed node → stream and consumer current on all three again. */
  catchUpMs: number;
  /** The puller's pulls that failed between the kill and the next job (each one costs the agent's 0.5–5 s backoff). */
  failedPulls: number;
}

/**
 * Jobs published every 20 ms through publishJob (each retried through an election, as the
 * controller's are) and taken by the agent-style puller. Publish starts, stores and
 * confirmed acks are timestamped as they happen, so the stall is read off, not polled.
 */
class JobFlow {
  readonly startedAt = new Map<string, number>();
  readonly stored: Array<{ uid: string; at: number }> = [];
  readonly taken: Taken[] = [];
  private publishing = true;
  private readonly pending = new Set<Promise<void>>();
  readonly puller: AgentStylePuller;
  private publisher?: Promise<void>;

  constructor(private readonly t: Target, consumer: Consumer) {
    this.puller = new AgentStylePuller(t.subNc, consumer, (x) => this.taken.push(x));
  }

  start(): void {
    this.puller.start();
    this.publisher = (async () => {
      while (this.publishing) {
        const j = job(LAT_POOL);
        this.startedAt.set(j.uid, performance.now());
        const p: Promise<void> = publishJob(this.t.js, j, { retryForMs: 120_000 })
          .then(() => void this.stored.push({ uid: j.uid, at: performance.now() }))
          .catch(() => undefined)
          .finally(() => this.pending.delete(p));
        this.pending.add(p);
        await delay(20);
      }
    })();
  }

  /** performance.now() when a job whose publish started at or after `since` had its ack confirmed. */
  takenSince(since: number): number | undefined {
    return this.taken.find((x) => this.startedAt.get(x.job.uid)! >= since)?.ackedAt;
  }

  storedSince(since: number): number | undefined {
    return this.stored.find((x) => this.startedAt.get(x.uid)! >= since)?.at;
  }

  async stop(): Promise<void> {
    this.publishing = false;
    await this.publisher;
    await Promise.race([Promise.all(this.pending), delay(15_000)]);
    await this.puller.stop();
  }
}

/**
 * Kill after kill, alternating the stream's leader and the pool consumer's leader. Each kill
 * gets fresh publisher and consumer connections on the two surviving nodes, so the stall is
 * the queue's failover and the agent's pull, not a client reconnect.
 */
async function failover(cluster: NatsCluster, admin: NatsConnection, adminJsm: JetStreamManager): Promise<Kill[]> {
  const out: Kill[] = [];
  for (let k = 0; k < kills; k++) {
    // Each kill hits a node leading only one of the two: a stream leader stepdown (graceful,
    // the consumer's waiting pulls stay where they are) moves the stream off the consumer
    // leader's node when they share one.
    let leaders = await leadersOf(cluster, adminJsm);
    for (let tries = 0; leaders.stream === leaders.consumer && tries < 5; tries++) {
      await admin.request(`$JS.API.STREAM.LEADER.STEPDOWN.${JOBS_STREAM}`, undefined, { timeout: 5_000 }).catch(() => undefined);
      leaders = await waitFor(async () => {
        const l = await leadersOf(cluster, adminJsm);
        return l.stream !== undefined && l.consumer !== undefined ? l : undefined;
      }, { timeoutMs: 30_000, message: 'leaders after a stepdown' });
    }
    const { stream: streamLeader, consumer: consumerLeader } = leaders;
    if (streamLeader === undefined || consumerLeader === undefined) throw new Error('no leader before the kill');
    const victim = k % 2 === 0 ? streamLeader : consumerLeader;
    const killed: Kill['killed'] = streamLeader === consumerLeader ? 'stream + consumer leader' : victim === streamLeader ? 'stream leader' : 'consumer leader';
    const t = await targetOn(cluster.urls, victim);
    // Short API timeouts, so polling for the new leaders follows the election, not a 5 s timeout.
    const probeJsm = await jetstreamManager(t.pubNc, { timeout: 500, checkAPI: false });
    const flow = new JobFlow(t, await jetstream(t.subNc).consumers.get(JOBS_STREAM, consumerName(NS, LAT_POOL)));
    flow.start();
    try {
      // Steady state: a job published from now on has gone all the way through.
      const since = performance.now();
      await waitFor(() => flow.takenSince(since), { timeoutMs: 30_000, message: 'jobs flowing before the kill' });
      const failed0 = flow.puller.failedPulls;
      const t0 = performance.now();
      await cluster.kill(victim);
      const elected = waitFor(async () => {
        const l = await leadersOf(cluster, probeJsm);
        return l.stream !== undefined && l.stream !== victim && l.consumer !== undefined && l.consumer !== victim ? performance.now() : undefined;
      }, { timeoutMs: 60_000, intervalMs: 50, message: 'new leaders elected' });
      const pubAt = await waitFor(() => flow.storedSince(t0), { timeoutMs: 60_000, message: 'a publish after the kill stored' });
      const nextAt = await waitFor(() => flow.takenSince(t0), { timeoutMs: 60_000, message: 'a job published after the kill taken' });
      const failedPulls = flow.puller.failedPulls - failed0;
      const electedAt = await elected;
      const r0 = performance.now();
      await cluster.restart(victim);
      await waitFor(() => fullyReplicated(t.jsm), { timeoutMs: 60_000, intervalMs: 100, message: 'the restarted node caught up' });
      out.push({ killed, electedMs: round(electedAt - t0, 1), publishStallMs: round(pubAt - t0, 1), nextJobMs: round(nextAt - t0, 1), catchUpMs: Math.round(performance.now() - r0), failedPulls });
      console.log(`kill ${k + 1}/${kills}: ${killed} n${victim}: publish stall ${Math.round(pubAt - t0)} ms, next job acked ${Math.round(nextAt - t0)} ms, new leaders seen ${Math.round(electedAt - t0)} ms, failed pulls ${failedPulls}, caught up ${Math.round(performance.now() - r0)} ms after restart`);
    } finally {
      await flow.stop();
      await t.close();
    }
  }
  return out;
}

const stats = (xs: number[]) => ({ median: round(median(xs)), p90: round(percentile(xs, 90)) });
const summary = (s: Scenario) => ({
  sequentialMsgsPerSec: Math.round(median(s.throughput.sequentialMsgsPerSec)),
  parallelMsgsPerSec: Math.round(median(s.throughput.parallelMsgsPerSec)),
  publishAckMs: stats(s.latency.publishAckMs),
  receivedMs: stats(s.latency.receivedMs),
  ackConfirmedMs: stats(s.latency.ackConfirmedMs),
  serverCpuMsPer1000: s.throughput.serverCpuMsPer1000,
  clientCpuMsPer1000: s.throughput.clientCpuMsPer1000,
  rounds: { sequentialMsgsPerSec: s.throughput.sequentialMsgsPerSec, parallelMsgsPerSec: s.throughput.parallelMsgsPerSec },
});

const benchStart = performance.now();
const singleDir = await mkdtemp(join(tmpdir(), 'visionq-bench-single-'));
const single = new NatsServerProcess({ port: await freePort(), storeDir: singleDir });
let singleResult: Scenario;
try {
  await single.start();
  const nc = await connectVia(single.url, [single.url], 'bench-queue-replicas-setup');
  await setUpQueue(await jetstreamManager(nc), 1);
  await nc.close();
  const t = await targetOn([single.url], undefined);
  singleResult = await measure(t, [single.pid!]);
  await t.close();
} finally {
  await single.stop();
  await rm(singleDir, { recursive: true, force: true });
}

const baseDir = await mkdtemp(join(tmpdir(), 'visionq-bench-replicas-'));
const cluster = await NatsCluster.create({ baseDir, size: 3 });
let r1: Scenario;
let r3: Scenario;
let killsResult: Kill[];
try {
  await cluster.start();
  const admin = await connectVia(cluster.urls[0]!, cluster.urls, 'bench-queue-replicas-admin');
  const adminJsm = await jetstreamManager(admin);

  await setUpQueue(adminJsm, 1);
  let t = await targetOn(cluster.urls, await cluster.streamLeader(adminJsm, JOBS_STREAM));
  const pids = () => cluster.nodes.map((n) => n.pid!);
  r1 = await measure(t, pids());
  await t.close();

  // A fresh R3 queue (its consumer inherits three replicas), not an R1 one scaled up.
  await adminJsm.streams.delete(JOBS_STREAM);
  await setUpQueue(adminJsm, 3);
  await waitFor(() => fullyReplicated(adminJsm), { timeoutMs: 30_000, message: 'R3 queue placed' });
  t = await targetOn(cluster.urls, await cluster.streamLeader(adminJsm, JOBS_STREAM));
  r3 = await measure(t, pids());
  await t.close();
  killsResult = await failover(cluster, admin, adminJsm);
  await admin.close();
} finally {
  await cluster.cleanup();
  await rm(baseDir, { recursive: true, force: true });
}

const s1 = summary(singleResult);
const c1 = summary(r1);
const c3 = summary(r3);
const ratio = (a: number, b: number) => round(a / b, 2);
const byKind = (kind?: Kill['killed']) => {
  const ks = killsResult.filter((k) => kind === undefined || k.killed === kind);
  if (ks.length === 0) return undefined;
  const mm = (xs: number[]) => ({ median: round(median(xs)), max: Math.max(...xs) });
  return { kills: ks.length, electedMs: mm(ks.map((k) => k.electedMs)), nextJobMs: { median: round(median(ks.map((k) => k.nextJobMs))), max: Math.max(...ks.map((k) => k.nextJobMs)) }, publishStallMs: { median: round(median(ks.map((k) => k.publishStallMs))), max: Math.max(...ks.map((k) => k.publishStallMs)) } };
};
const result = {
  rounds,
  sequentialMsgsPerRound: seqMsgs,
  parallelMsgsPerRound: parMsgs,
  inFlight,
  latencyIterations,
  singleR1: s1,
  clusterR1: c1,
  clusterR3: c3,
  r3OverClusterR1: {
    sequentialThroughput: ratio(c3.sequentialMsgsPerSec, c1.sequentialMsgsPerSec),
    parallelThroughput: ratio(c3.parallelMsgsPerSec, c1.parallelMsgsPerSec),
    ackConfirmedP50: ratio(c3.ackConfirmedMs.median, c1.ackConfirmedMs.median),
    ackConfirmedP90: ratio(c3.ackConfirmedMs.p90, c1.ackConfirmedMs.p90),
    serverCpuPerJobSequential: ratio(c3.serverCpuMsPer1000.sequential, c1.serverCpuMsPer1000.sequential),
    serverCpuPerJobParallel: ratio(c3.serverCpuMsPer1000.parallel, c1.serverCpuMsPer1000.parallel),
  },
  r3OverSingleR1: {
    sequentialThroughput: ratio(c3.sequentialMsgsPerSec, s1.sequentialMsgsPerSec),
    parallelThroughput: ratio(c3.parallelMsgsPerSec, s1.parallelMsgsPerSec),
    ackConfirmedP50: ratio(c3.ackConfirmedMs.median, s1.ackConfirmedMs.median),
    ackConfirmedP90: ratio(c3.ackConfirmedMs.p90, s1.ackConfirmedMs.p90),
  },
  failover: {
    all: byKind(),
    streamLeader: byKind('stream leader'),
    consumerLeader: byKind('consumer leader'),
    bothLeaders: byKind('stream + consumer leader'),
    kills: killsResult,
  },
  totalSeconds: Math.round((performance.now() - benchStart) / 1000),
};

const row = (s: typeof s1) => ({
  'seq msg/s': s.sequentialMsgsPerSec,
  [`${inFlight}-inflight msg/s`]: s.parallelMsgsPerSec,
  'publish ack p50': s.publishAckMs.median,
  'received p50': s.receivedMs.median,
  'ack confirmed p50': s.ackConfirmedMs.median,
  'ack confirmed p90': s.ackConfirmedMs.p90,
  'server CPU ms/1000 (seq, 64)': `${s.serverCpuMsPer1000.sequential}, ${s.serverCpuMsPer1000.parallel}`,
  'client CPU ms/1000 (seq, 64)': `${s.clientCpuMsPer1000.sequential}, ${s.clientCpuMsPer1000.parallel}`,
});
console.log(`\nVISIONQ_JOBS publish throughput (median of ${rounds} rounds) and dispatch latency (ms from publish, ${latencyIterations} jobs)`);
console.table({
  'R1 single server': row(s1),
  'R1 on 3-node cluster': row(c1),
  'R3 on 3-node cluster': row(c3),
  'R3 / R1 cluster': { 'seq msg/s': result.r3OverClusterR1.sequentialThroughput, [`${inFlight}-inflight msg/s`]: result.r3OverClusterR1.parallelThroughput, 'ack confirmed p50': result.r3OverClusterR1.ackConfirmedP50, 'ack confirmed p90': result.r3OverClusterR1.ackConfirmedP90, 'server CPU ms/1000 (seq, 64)': `${result.r3OverClusterR1.serverCpuPerJobSequential}, ${result.r3OverClusterR1.serverCpuPerJobParallel}` },
  'R3 / R1 single': { 'seq msg/s': result.r3OverSingleR1.sequentialThroughput, [`${inFlight}-inflight msg/s`]: result.r3OverSingleR1.parallelThroughput, 'ack confirmed p50': result.r3OverSingleR1.ackConfirmedP50, 'ack confirmed p90': result.r3OverSingleR1.ackConfirmedP90 },
});
console.log(`\nR3 failover, ${kills} SIGKILLs: kill → next job published after it received and acked; kill → a publish after it stored; kill → new leaders seen (ms)`);
const frow = (s: ReturnType<typeof byKind>) => (s ? { kills: s.kills, 'leaders seen median': s.electedMs.median, 'leaders seen max': s.electedMs.max, 'next job median': s.nextJobMs.median, 'next job max': s.nextJobMs.max, 'publish stall median': s.publishStallMs.median, 'publish stall max': s.publishStallMs.max } : { kills: 0 });
console.table({
  'any leader': frow(result.failover.all),
  'stream leader only': frow(result.failover.streamLeader),
  'consumer leader only': frow(result.failover.consumerLeader),
  'both (same node)': frow(result.failover.bothLeaders),
});
console.log(`total ${result.totalSeconds} s`);
console.log('written', await writeResult('queue-replicas', { result }));
