/**
 * Time from publishing a job to the first instruction of its command, with an idle agent
 * (one slot, its pull request already waiting). The command is `date +%s%N`, so its
 * output is the moment it ran. Run: npx tsx bench/agent-latency.ts [iterations]
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { ensurePoolConsumer, ensureStreams, publishJob } from '../src/queue/index.js';
import { percentile, printTable, spawnAgent, waitUntil, writeResult } from './agent-bench-util.js';

const iterations = Number(process.argv[2] ?? 200);
const server = await startNatsServer();
const agent = { current: undefined as ReturnType<typeof spawnAgent> | undefined };
try {
  const nc = await connect({ servers: server.url });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm);
  await ensurePoolConsumer(jsm, { namespace: 'bench', pool: 'lat', ackWaitSeconds: 60, maxAckPending: 10, maxDeliver: 10 });
  const a = spawnAgent(['--nats-url', server.url, '--namespace', 'bench', '--pool', 'lat', '--pod', 'lat-0', '--slots', '1'], ['date', '+%s%N']);
  agent.current = a;
  // Warm-up job: the agent is up and its pull is waiting.
  const samples: number[] = [];
  for (let i = -5; i < iterations; i++) {
    const name = `lat-${i + 5}`;
    const before = a.lines.length;
    // Let the agent's slot free up and its next pull reach the server.
    await new Promise((r) => setTimeout(r, 100));
    const wall0 = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
    await publishJob(js, { uid: `${name}-${process.pid}`, namespace: 'bench', name, pool: 'lat', publishedAt: new Date().toISOString() });
    await waitUntil(() => a.lines.slice(before).some((l) => l.startsWith(`[${name}] `)), 30_000, `job ${name}`);
    const line = a.lines.slice(before).find((l) => l.startsWith(`[${name}] `))!;
    const ranAt = BigInt(line.slice(name.length + 3).trim());
    if (i >= 0) samples.push(Number(ranAt - wall0) / 1e6);
  }
  samples.sort((x, y) => x - y);
  const result = {
    iterations,
    medianMs: +percentile(samples, 50).toFixed(2),
    p90Ms: +percentile(samples, 90).toFixed(2),
    p99Ms: +percentile(samples, 99).toFixed(2),
    minMs: +samples[0]!.toFixed(2),
    maxMs: +samples[samples.length - 1]!.toFixed(2),
  };
  printTable('publish → first instruction of the command (idle agent, 1 slot)', [result]);
  console.log('written', await writeResult('agent-latency', { result }));
  await nc.close();
} finally {
  agent.current?.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  agent.current?.child.kill('SIGKILL');
  await server.cleanup();
}
