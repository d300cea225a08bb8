import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentHarness, sh } from './harness.js';
import { jobSubject } from '../../../src/queue/subjects.js';
import type { JobEventOf } from '../../../src/queue/job-events.js';
import { freePort } from '../../helpers/free-port.js';
import { waitFor } from '../../helpers/wait-for.js';

// Each test uses its own pool (own consumer), so they run concurrently on one server.
describe.concurrent('agent runs jobs', () => {
  const h = new AgentHarness();
  beforeAll(() => h.setup());
  afterAll(() => h.teardown());

  it('runs a job lasting 5 × ack_wait with zero redeliveries, passing job file, env, args, progress and result', async () => {
    await h.pool('long', { ackWaitSeconds: 1 });
    await h.startAgent('long', {
      command: sh(
        'echo "args=$1 $2 attempt=$VISIONQ_ATTEMPT name=$VISIONQ_JOB_NAME extra=$EXTRA"; ' +
          'echo \'{"percent":40,"message":"decoding"}\' > "$VISIONQ_PROGRESS_FILE"; ' +
          'node -e \'const j=require(process.env.VISIONQ_JOB_FILE); console.log("input", JSON.stringify(j.input), j.attempt, j.deadline !== null)\'; ' +
          'sleep 5.2; echo \'{"frames":42}\' > "$VISIONQ_RESULT_FILE"',
      ),
    });
    const { uid } = await h.publish('long', { name: 'long-job', input: { video: 'v1' }, args: ['a1', 'a2'], env: { EXTRA: 'x' }, timeoutSeconds: 60 });
    const done = (await h.waitEvent(uid, (e) => e.type === 'succeeded', 30_000)) as JobEventOf<'succeeded'>;
    expect(done.deliveryCount).toBe(1);
    expect(done.attempt).toBe(1);
    expect(done.result).toEqual({ frames: 42 });
    const evs = await h.events(uid);
    expect(evs.filter((e) => e.type === 'started')).toHaveLength(1);
    expect(evs.some((e) => e.type === 'progress' && e.percent === 40 && e.message === 'decoding')).toBe(true);
    const started = evs.find((e) => e.type === 'started') as JobEventOf<'started'>;
    expect(started.ackSubject).toMatch(/^\$JS\.ACK\.VISIONQ_JOBS\./);
    const ci = await h.consumerInfo('long');
    expect(ci.num_redelivered).toBe(0);
    expect(ci.num_ack_pending).toBe(0);
    expect(h.output).toContain('[long-job] args=a1 a2 attempt=1 name=long-job extra=x');
    expect(h.output).toContain('[long-job] input {"video":"v1"} 1 true');
  });

  it('retries a failing command with growing delays, then reports it failed after `retries`', async () => {
    await h.pool('flaky', { ackWaitSeconds: 2 });
    await h.startAgent('flaky', { command: sh('exit 1') });
    const { uid } = await h.publish('flaky', { name: 'flaky', retries: 2, backoff: { initialSeconds: 0.3, maxSeconds: 10, factor: 2 } });
    await h.waitEvent(uid, (e) => e.type === 'failed' && !e.willRetry, 30_000);
    const evs = await h.events(uid);
    const failed = evs.filter((e): e is JobEventOf<'failed'> => e.type === 'failed');
    expect(failed.map((f) => [f.failures, f.willRetry, f.nextDelayMs, f.retryable, f.exitCode])).toEqual([
      [1, true, 300, true, 1],
      [2, true, 600, true, 1],
      [3, false, undefined, true, 1],
    ]);
    const started = evs.filter((e): e is JobEventOf<'started'> => e.type === 'started');
    expect(started.map((s) => s.attempt)).toEqual([1, 2, 3]);
    // The server holds the NAKed message for at least the delay.
    for (let i = 0; i < 2; i++) {
      const gap = Date.parse(started[i + 1]!.time) - Date.parse(failed[i]!.time);
      expect(gap).toBeGreaterThanOrEqual(failed[i]!.nextDelayMs! - 50);
    }
    expect(await h.consumerInfo('flaky').then((c) => c.num_pending + c.num_ack_pending)).toBe(0);
  });

  it('re-reads max_deliver when an attempt fails: a backstop raised after the agent started is honoured', async () => {
    await h.pool('backstop', { ackWaitSeconds: 2, maxDeliver: 2 });
    await h.startAgent('backstop', { command: sh('[ "$VISIONQ_ATTEMPT" -ge 3 ] || exit 1'), consumerRefreshMs: 0 });
    // The pool's spec changed: the controller raises the consumer's backstop.
    await h.pool('backstop', { ackWaitSeconds: 2, maxDeliver: 10 });
    const { uid } = await h.publish('backstop', { name: 'backstop', retries: 5, backoff: { initialSeconds: 0.1, maxSeconds: 1, factor: 1 } });
    await h.waitEvent(uid, (e) => e.type === 'succeeded' || (e.type === 'failed' && !e.willRetry), 30_000);
    const evs = await h.events(uid);
    const failed = evs.filter((e): e is JobEventOf<'failed'> => e.type === 'failed');
    expect(failed.map((f) => f.willRetry)).toEqual([true, true]);
    expect(evs.find((e) => e.type === 'succeeded')?.attempt).toBe(3);
  });

  it('heartbeats at the deadline the consumer holds when it claims a job, even if its own flag says longer', async () => {
    await h.pool('lowered', { ackWaitSeconds: 6 });
    await h.startAgent('lowered', { command: sh('sleep 3'), ackWaitSeconds: 6 });
    await h.startAgent('lowered', { command: sh('sleep 3'), ackWaitSeconds: 6 });
    // The pool's ackWaitSeconds was lowered after these workers started.
    await h.pool('lowered', { ackWaitSeconds: 1 });
    const { uid } = await h.publish('lowered', { name: 'lowered', retries: 0 });
    await h.waitEvent(uid, (e) => e.type === 'succeeded', 30_000);
    // A heartbeat every 2 s would have let the 1 s deadline pass and the idle agent take it.
    expect((await h.events(uid)).filter((e) => e.type === 'started')).toHaveLength(1);
  });

  it('terminates a permanent failure at once, without retry', async () => {
    await h.pool('perm', { ackWaitSeconds: 1 });
    await h.startAgent('perm', { command: sh('echo unsupported codec >&2; exit 3'), permanentExitCodes: [3] });
    const { uid } = await h.publish('perm', { name: 'perm', retries: 5, backoff: { initialSeconds: 0.1, maxSeconds: 1, factor: 2 } });
    const f = (await h.waitEvent(uid, (e) => e.type === 'failed')) as JobEventOf<'failed'>;
    expect(f).toMatchObject({ retryable: false, willRetry: false, exitCode: 3, failures: 1 });
    await h.waitEvent(uid, () => true); // stored
    const ci = await h.consumerInfo('perm');
    expect(ci.num_ack_pending + ci.num_pending).toBe(0);
    expect(ci.delivered.stream_seq).toBeGreaterThan(0);
    expect((await h.events(uid)).filter((e) => e.type === 'started')).toHaveLength(1);
    expect(h.output).toContain('[perm] unsupported codec');
  });

  it('kills a command that exceeds its timeout and counts it as a failure', async () => {
    await h.pool('slow', { ackWaitSeconds: 1 });
    const agent = await h.startAgent('slow', { command: sh('sleep 30'), killGraceMs: 500 });
    const { uid } = await h.publish('slow', { name: 'slow', timeoutSeconds: 1, retries: 0 });
    const f = (await h.waitEvent(uid, (e) => e.type === 'failed', 20_000)) as JobEventOf<'failed'>;
    expect(f.reason).toMatch(/timeout/);
    expect(f).toMatchObject({ retryable: true, willRetry: false, failures: 1, signal: 'SIGTERM' });
    expect(agent.runningJobs()).toHaveLength(0);
  });

  it('queues a job published twice only once', async () => {
    await h.pool('dedup', { ackWaitSeconds: 1 });
    const first = await h.publish('dedup', { name: 'dedup', uid: 'dedup-uid-1' });
    const second = await h.publish('dedup', { name: 'dedup', uid: 'dedup-uid-1' });
    expect(first.duplicate).toBe(false);
    expect(second).toMatchObject({ duplicate: true, seq: first.seq });
    expect((await h.consumerInfo('dedup')).num_pending).toBe(1);
    await h.startAgent('dedup', { command: sh('true') });
    await h.waitEvent('dedup-uid-1', (e) => e.type === 'succeeded');
    const evs = await h.events('dedup-uid-1');
    expect(evs.filter((e) => e.type === 'started')).toHaveLength(1);
  });

  it('terminates malformed messages with a rejected event and keeps running', async () => {
    await h.pool('junk', { ackWaitSeconds: 1 });
    const agent = await h.startAgent('junk', { command: sh('true') });
    await h.js.publish(jobSubject(h.ns, 'junk'), 'not json{');
    await h.js.publish(jobSubject(h.ns, 'junk'), JSON.stringify({ uid: 'bad-uid', namespace: h.ns, name: 'bad', pool: 'junk', timeoutSeconds: 'soon' }));
    const rejectedBad = await h.waitEvent('bad-uid', (e) => e.type === 'rejected');
    expect(rejectedBad).toMatchObject({ name: 'bad', namespace: h.ns });
    await h.waitEvent('', (e) => e.type === 'rejected' && e.pool === 'junk');
    const { uid } = await h.publish('junk', { name: 'fine' });
    await h.waitEvent(uid, (e) => e.type === 'succeeded');
    expect(agent.health().stopping).toBe(false);
    const ci = await h.consumerInfo('junk');
    expect(ci.num_ack_pending + ci.num_pending).toBe(0);
  });

  it('serves /healthz, /readyz and /metrics with job counts', async () => {
    await h.pool('http', { ackWaitSeconds: 1 });
    const port = await freePort();
    await h.startAgent('http', { command: sh('exit 0'), httpPort: port, httpHost: '127.0.0.1', slots: 3 });
    const { uid } = await h.publish('http', { name: 'http-job' });
    await h.waitEvent(uid, (e) => e.type === 'succeeded');
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', natsConnected: true, running: 0 });
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const metrics = await waitFor(async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return text.includes('visionq_agent_jobs_total{outcome="succeeded"} 1') ? text : undefined;
    });
    expect(metrics).toContain('visionq_agent_slots 3');
    expect(metrics).toContain('visionq_agent_nats_connected 1');
  });
});
