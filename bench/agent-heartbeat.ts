/**
 * Heartbeat and bookkeeping overhead of many concurrently running jobs: AGENTS agent
 * processes × SLOTS slots all running `sleep`, measured as CPU (user+system from
 * /proc/<pid>/stat) of the agents and of nats-server over a steady-state window.
 * ack_wait is short here (heartbeat = ack_wait/3) to make the per-heartbeat cost
 * visible; the table also scales it to the default ack_wait of 60 s.
 * Run: npx tsx bench/agent-heartbeat.ts [agents=5] [slots=100] [ackWaitSeconds=6] [windowSeconds=20]
 */
import { execFileSync } from 'node:child_process';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { JOBS_STREAM, consumerName, ensurePoolConsumer, ensureStreams, publishJob } from '../src/queue/index.js';
import { cpuSeconds, printTable, spawnAgent, waitUntil, writeResult, type SpawnedAgent } from './agent-bench-util.js';

const [AGENTS, SLOTS, ACK_WAIT, WINDOW] = [5, 100, 6, 20].map((d, i) => Number(process.argv[2 + i] ?? d)) as [number, number, number, number];
const JOBS = AGENTS * SLOTS;
const server = await startNatsServer();
const agents: SpawnedAgent[] = [];
try {
  const serverPid = Number(execFileSync('sh', ['-c', `ss -ltnp 'sport = :${server.port}' | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2`]).toString().trim());
  const nc = await connect({ servers: server.url });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm);
  await ensurePoolConsumer(jsm, { namespace: 'bench', pool: 'hb', ackWaitSeconds: ACK_WAIT, maxAckPending: JOBS, maxDeliver: 10 });
  for (let i = 0; i < AGENTS; i++) {
    agents.push(spawnAgent(['--nats-url', server.url, '--namespace', 'bench', '--pool', 'hb', '--pod', `hb-${i}`, '--slots', String(SLOTS), '--grace-seconds', '0', '--kill-grace-seconds', '1'], ['sleep', '3600']));
  }
  const idleCpu0 = agents.map((a) => cpuSeconds(a.child.pid!));
  await new Promise((r) => setTimeout(r, 3000));
  const t0 = Date.now();
  for (let i = 0; i < JOBS; i++) {
    await publishJob(js, { uid: `hb-${process.pid}-${i}`, namespace: 'bench', name: `hb-${i}`, pool: 'hb', publishedAt: new Date().toISOString() });
  }
  const startCpu = agents.map((a) => cpuSeconds(a.child.pid!));
  await waitUntil(async () => (await jsm.consumers.info(JOBS_STREAM, consumerName('bench', 'hb'))).num_ack_pending === JOBS && (await jsm.consumers.info(JOBS_STREAM, consumerName('bench', 'hb'))).num_pending === 0, 120_000, 'all jobs delivered');
  // Let the claims and started events settle, then measure the steady state.
  await new Promise((r) => setTimeout(r, 2000));
  const allRunningMs = Date.now() - t0;
  const a0 = agents.map((a) => cpuSeconds(a.child.pid!));
  const s0 = cpuSeconds(serverPid);
  const w0 = Date.now();
  await new Promise((r) => setTimeout(r, WINDOW * 1000));
  const elapsed = (Date.now() - w0) / 1000;
  const a1 = agents.map((a) => cpuSeconds(a.child.pid!));
  const s1 = cpuSeconds(serverPid);
  const ci = await jsm.consumers.info(JOBS_STREAM, consumerName('bench', 'hb'));
  const agentCpu = a1.map((v, i) => v - a0[i]!);
  const totalAgentPct = (agentCpu.reduce((x, y) => x + y, 0) / elapsed) * 100;
  const serverPct = ((s1 - s0) / elapsed) * 100;
  const startupAgentCpu = a0.reduce((x, y, i) => x + y - startCpu[i]!, 0);
  const rows = [
    { metric: 'jobs running', value: JOBS },
    { metric: 'heartbeats (working) per second', value: +(JOBS / (ACK_WAIT / 3)).toFixed(1) },
    { metric: 'agents CPU % (sum, steady)', value: +totalAgentPct.toFixed(2) },
    { metric: 'agent CPU % (mean per agent)', value: +(totalAgentPct / AGENTS).toFixed(2) },
    { metric: 'nats-server CPU % (steady)', value: +serverPct.toFixed(2) },
    { metric: `agents CPU % scaled to ack_wait 60 s`, value: +((totalAgentPct * ACK_WAIT) / 60).toFixed(2) },
    { metric: `nats-server CPU % scaled to ack_wait 60 s`, value: +((serverPct * ACK_WAIT) / 60).toFixed(2) },
    { metric: 'agent CPU ms per heartbeat', value: +(((agentCpu.reduce((x, y) => x + y, 0) * 1000) / elapsed) / (JOBS / (ACK_WAIT / 3))).toFixed(3) },
    { metric: `publish → all ${JOBS} running (s)`, value: +((allRunningMs - 2000) / 1000).toFixed(2) },
    { metric: 'agents CPU s to start all jobs', value: +startupAgentCpu.toFixed(2) },
    { metric: 'agents CPU s idle start-up (tsx)', value: +startCpu.reduce((x, y, i) => x + y - idleCpu0[i]!, 0).toFixed(2) },
    { metric: 'redeliveries during window', value: ci.num_redelivered },
  ];
  printTable(`${AGENTS} agents × ${SLOTS} slots, ack_wait ${ACK_WAIT} s, window ${elapsed.toFixed(1)} s`, rows);
  console.log('written', await writeResult('agent-heartbeat', { agents: AGENTS, slots: SLOTS, ackWaitSeconds: ACK_WAIT, windowSeconds: elapsed, rows }));
  await nc.close();
} finally {
  for (const a of agents) a.child.kill('SIGTERM');
  await Promise.all(agents.map((a) => new Promise((r) => (a.child.exitCode !== null ? r(null) : a.child.once('exit', r)))));
  await server.cleanup();
}
