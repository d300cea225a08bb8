import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentHarness, pidAlive, sh } from './harness.js';
import { JOBS_STREAM, consumerName, controlSubject } from '../../../src/queue/subjects.js';
import type { JobEventOf } from '../../../src/queue/job-events.js';
import { waitFor } from '../../helpers/wait-for.js';

// Attempt 1 runs long; later attempts finish at once, so "another agent finished it" is quick.
const LONG_FIRST = sh('if [ "$VISIONQ_ATTEMPT" = 1 ]; then sleep 60; fi; echo done');

describe.concurrent('agent disruptions', () => {
  const h = new AgentHarness();
  beforeAll(() => h.setup());
  afterAll(() => h.teardown());

  it('redelivers the job of an agent killed with SIGKILL to another agent, which completes it', async () => {
    await h.pool('kill9', { ackWaitSeconds: 1 });
    const a = await h.spawnAgent('kill9', 'pod-kill9-a', ['--ack-wait-seconds', '1'], LONG_FIRST);
    const { uid } = await h.publish('kill9', { name: 'kill9', retries: 0 });
    await h.waitEvent(uid, (e) => e.type === 'started' && e.pod === 'pod-kill9-a');
    a.kill('SIGKILL');
    await h.startAgent('kill9', { pod: 'pod-kill9-b', command: LONG_FIRST });
    const ok = (await h.waitEvent(uid, (e) => e.type === 'succeeded', 30_000)) as JobEventOf<'succeeded'>;
    expect(ok).toMatchObject({ pod: 'pod-kill9-b', deliveryCount: 2, attempt: 2 });
    // A lost worker is a disruption: the second attempt starts with no failure counted.
    const started = (await h.events(uid)).filter((e): e is JobEventOf<'started'> => e.type === 'started');
    expect(started.map((s) => [s.pod, s.failures])).toEqual([
      ['pod-kill9-a', 0],
      ['pod-kill9-b', 0],
    ]);
    await h.killRecordedPids();
  });

  it('SIGTERM during a long job re-queues it at once as a disruption and another agent finishes it', async () => {
    // ack_wait 30 s: only an immediate NAK can get the job to agent B within the test.
    await h.pool('term', { ackWaitSeconds: 30 });
    const a = await h.spawnAgent('term', 'pod-term-a', ['--grace-seconds', '0.5', '--kill-grace-seconds', '1'], LONG_FIRST);
    const { uid } = await h.publish('term', { name: 'term', retries: 0 });
    await h.waitEvent(uid, (e) => e.type === 'started' && e.pod === 'pod-term-a');
    const exited = new Promise<number | null>((r) => a.once('exit', (code) => r(code)));
    a.kill('SIGTERM');
    const req = (await h.waitEvent(uid, (e) => e.type === 'requeued', 15_000)) as JobEventOf<'requeued'>;
    expect(req).toMatchObject({ reason: 'sigterm', pod: 'pod-term-a', deliveryCount: 1 });
    expect(await exited).toBe(0);
    await h.startAgent('term', { pod: 'pod-term-b', command: LONG_FIRST });
    const ok = await h.waitEvent(uid, (e) => e.type === 'succeeded', 15_000);
    expect(ok).toMatchObject({ pod: 'pod-term-b', deliveryCount: 2 });
    const evs = await h.events(uid);
    expect(evs.filter((e) => e.type === 'failed')).toHaveLength(0);
    expect((evs.find((e) => e.type === 'started' && e.pod === 'pod-term-b') as JobEventOf<'started'>).failures).toBe(0);
    // Attempt 1 was killed before its "done".
    expect(a.logs()).not.toContain('[term] done');
    expect(a.logs()).toContain('job re-queued (disruption)');
  });

  it('cancel stops the running process within a second; nothing is redelivered', async () => {
    await h.pool('cancel', { ackWaitSeconds: 1 });
    const agent = await h.startAgent('cancel', { pod: 'pod-cancel', command: sh('sleep 60') });
    const { uid } = await h.publish('cancel', { name: 'cancel', retries: 3 });
    await h.waitEvent(uid, (e) => e.type === 'started');
    const pid = await waitFor(() => agent.runningJobs()[0]?.pid);
    expect(pidAlive(pid)).toBe(true);
    const reply = await h.nc.request(controlSubject(h.ns, 'cancel', 'pod-cancel', 'cancel'), JSON.stringify({ jobUid: uid }), { timeout: 5000 });
    expect(reply.json()).toEqual({ ok: true, state: 'cancelled' });
    expect(pidAlive(pid)).toBe(false);
    const ev = (await h.waitEvent(uid, (e) => e.type === 'cancelled')) as JobEventOf<'cancelled'>;
    expect(ev.durationMs).toBeGreaterThanOrEqual(0);
    const ci = await h.consumerInfo('cancel');
    expect(ci.num_pending + ci.num_ack_pending).toBe(0);
    const unknown = await h.nc.request(controlSubject(h.ns, 'cancel', 'pod-cancel', 'cancel'), JSON.stringify({ jobUid: 'nope' }), { timeout: 5000 });
    expect(unknown.json()).toEqual({ ok: false, state: 'not-running' });
    expect((await h.events(uid)).filter((e) => e.type === 'started')).toHaveLength(1);
  });

  it('refuses a drain while busy or just after taking a job, accepts it when idle and then takes no jobs', async () => {
    await h.pool('drain', { ackWaitSeconds: 1 });
    const busy = await h.startAgent('drain', { pod: 'pod-drain-busy', command: sh('sleep "$1"'), drainRefuseWindowMs: 300 });
    const { uid } = await h.publish('drain', { name: 'drain-1', args: ['1.5'] });
    await h.waitEvent(uid, (e) => e.type === 'started');
    const drain = async (pod: string) =>
      (await h.nc.request(controlSubject(h.ns, 'drain', pod, 'drain'), '{}', { timeout: 5000 })).json<{ accepted: boolean; reason?: string }>();
    expect(await drain('pod-drain-busy')).toMatchObject({ accepted: false, reason: 'busy' });
    await h.waitEvent(uid, (e) => e.type === 'succeeded');
    // Idle now, and the refuse window passes: accepted.
    const accepted = await waitFor(async () => (await drain('pod-drain-busy')).accepted, { timeoutMs: 5000 });
    expect(accepted).toBe(true);
    expect(busy.health().draining).toBe(true);
    const status = (await h.nc.request(controlSubject(h.ns, 'drain', 'pod-drain-busy', 'status'), '{}', { timeout: 5000 })).json<{ draining: boolean }>();
    expect(status.draining).toBe(true);
    // The drained agent no longer pulls: the next job goes to a new agent.
    const second = await h.publish('drain', { name: 'drain-2', args: ['0'] });
    await h.startAgent('drain', { pod: 'pod-drain-new', command: sh('sleep "$1"') });
    const ok = await h.waitEvent(second.uid, (e) => e.type === 'succeeded');
    expect(ok.pod).toBe('pod-drain-new');
  });

  it('takes jobs again when an accepted drain is not followed by the pod being stopped', async () => {
    await h.pool('drain3', { ackWaitSeconds: 1 });
    const agent = await h.startAgent('drain3', { pod: 'pod-drain3', command: sh('true'), drainRefuseWindowMs: 0, drainExpiryMs: 500 });
    const r = (await h.nc.request(controlSubject(h.ns, 'drain3', 'pod-drain3', 'drain'), '{}', { timeout: 5000 })).json();
    expect(r).toMatchObject({ accepted: true });
    expect(agent.health().draining).toBe(true);
    // Nobody deletes the pod: the drain lapses and the same agent runs the next job.
    const { uid } = await h.publish('drain3', { name: 'after-lapse' });
    const ok = await h.waitEvent(uid, (e) => e.type === 'succeeded');
    expect(ok.pod).toBe('pod-drain3');
    expect(agent.health().draining).toBe(false);
  });

  it('refuses a drain right after taking a job even if that job already ended', async () => {
    await h.pool('drain2', { ackWaitSeconds: 1 });
    await h.startAgent('drain2', { pod: 'pod-drain2', command: sh('true'), drainRefuseWindowMs: 60_000 });
    const { uid } = await h.publish('drain2', { name: 'quick' });
    await h.waitEvent(uid, (e) => e.type === 'succeeded');
    const r = (await h.nc.request(controlSubject(h.ns, 'drain2', 'pod-drain2', 'drain'), '{}', { timeout: 5000 })).json();
    expect(r).toMatchObject({ accepted: false, reason: 'recently-took-job' });
  });

  it('on stop re-queues at once a job whose progress says it cannot finish within the grace period', async () => {
    await h.pool('estimate', { ackWaitSeconds: 30 });
    const agent = await h.startAgent('estimate', {
      pod: 'pod-estimate',
      command: sh('sleep 0.3; echo \'{"percent":1,"message":"slow"}\' > "$VISIONQ_PROGRESS_FILE"; sleep 60'),
      killGraceMs: 1000,
    });
    const { uid } = await h.publish('estimate', { name: 'estimate' });
    await h.waitEvent(uid, (e) => e.type === 'progress');
    // 1 % after ~0.3 s: about 30 s left, beyond the 20 s grace period.
    const outcome = await Promise.race([
      agent.stop({ graceMs: 20_000 }).then(() => 'stopped'),
      new Promise((r) => setTimeout(() => r('waited for the grace period'), 15_000)),
    ]);
    expect(outcome).toBe('stopped');
    const req = (await h.waitEvent(uid, (e) => e.type === 'requeued')) as JobEventOf<'requeued'>;
    expect(req.reason).toBe('sigterm');
    // ack_wait is 30 s: getting it again now proves it was NAKed.
    const consumer = await h.js.consumers.get(JOBS_STREAM, consumerName(h.ns, 'estimate'));
    const again = await consumer.next({ expires: 5000 });
    expect(again?.info.deliveryCount).toBe(2);
    again?.ack();
  });
});
