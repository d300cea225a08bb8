/**
 * The agent's own CPU per job, alone: one agent process (the built bundle, as a worker pod runs
 * it) with 5 slots runs N jobs of `true` published in one burst; its CPU seconds from /proc
 * over the run, divided by N. The command costs the agent nothing but a spawn, so this is the
 * per-job price of pulling, claiming, signing checks, events, acks, files and logs.
 * Run: npx tsx bench/agent-cpu.ts   (BENCH_JOBS default 500; BENCH_SLEEP=s runs `sleep s` instead;
 * BENCH_AGENT_PROFILE_DIR=dir: a V8 profile)
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { ensurePoolConsumer, ensureStreams, publishJob } from '../src/queue/index.js';
import { JobSigner } from '../src/queue/job-signature.js';
import { EVENTS_STREAM } from '../src/queue/subjects.js';
import { cpuSeconds, printTable, REPO, waitUntil, writeResult } from './agent-bench-util.js';

const jobs = Number(process.env.BENCH_JOBS ?? 500);
const profileDir = process.env.BENCH_AGENT_PROFILE_DIR;
const sleepS = Number(process.env.BENCH_SLEEP ?? 0);
const command = sleepS > 0 ? ['/bin/sh', '-c', `sleep ${sleepS}`] : ['true'];
const server = await startNatsServer();
const { signer } = JobSigner.generate();
const prof = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
const child = spawn(process.execPath, [...prof, join(REPO, 'dist/agent/main.js'), '--nats-url', server.url, '--namespace', 'bench', '--pool', 'cpu', '--pod', 'cpu-0', '--slots', '5', '--job-public-keys', signer.publicKey, '--', ...command], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { PATH: process.env.PATH, HOME: process.env.HOME, VISIONQ_LOG_LEVEL: 'info' },
});
try {
  const nc = await connect({ servers: server.url });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm);
  await ensurePoolConsumer(jsm, { namespace: 'bench', pool: 'cpu', ackWaitSeconds: 60, maxAckPending: 10, maxDeliver: 10 });
  const succeeded = async () => {
    const info = await jsm.streams.info(EVENTS_STREAM, { subjects_filter: 'visionq.events.>' });
    return info.state.messages;
  };
  // Warm-up: the agent's modules are loaded and its pulls are waiting.
  await publishJob(js, { uid: `warm-${process.pid}`, namespace: 'bench', name: 'warm', pool: 'cpu', publishedAt: new Date().toISOString() }, { signer });
  await waitUntil(async () => (await jsm.consumers.info('VISIONQ_JOBS', 'visionq_bench_cpu')).num_pending === 0 && (await succeeded()) >= 2, 60_000, 'warm-up');
  await new Promise((r) => setTimeout(r, 500));
  const events0 = await succeeded();
  const cpu0 = cpuSeconds(child.pid!);
  const t0 = Date.now();
  await Promise.all(Array.from({ length: jobs }, (_, i) => publishJob(js, { uid: `j-${i}-${process.pid}`, namespace: 'bench', name: `j-${i}`, pool: 'cpu', publishedAt: new Date().toISOString() }, { signer })));
  await waitUntil(async () => {
    const c = await jsm.consumers.info('VISIONQ_JOBS', 'visionq_bench_cpu');
    return c.num_ack_pending + c.num_pending === 0;
  }, 600_000, 'all jobs acked');
  // The last jobs' final events follow their acks.
  await new Promise((r) => setTimeout(r, 300));
  const wallS = (Date.now() - t0) / 1000;
  const cpu = cpuSeconds(child.pid!) - cpu0;
  const events = (await succeeded()) - events0;
  const result = { jobs, agentCpuMsPerJob: +((cpu * 1000) / jobs).toFixed(2), eventsPerJob: +(events / jobs).toFixed(2), jobsPerSecond: +(jobs / wallS).toFixed(1) };
  printTable('one agent, 5 slots, command `true`: agent CPU per job', [result]);
  console.log('written', await writeResult('agent-cpu', { result }));
  await nc.close();
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await server.cleanup();
}
