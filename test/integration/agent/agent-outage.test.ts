import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentHarness, sh } from './harness.js';
import { nakByAckSubject, workingByAckSubject } from '../../../src/queue/ack.js';
import { AttemptStore } from '../../../src/queue/attempt-store.js';
import { ATTEMPTS_BUCKET } from '../../../src/queue/subjects.js';
import type { JobEventOf } from '../../../src/queue/job-events.js';
import { Kvm } from '@nats-io/kv';
import { waitFor } from '../../helpers/wait-for.js';

describe('agent across a nats-server restart', () => {
  const h = new AgentHarness();
  beforeAll(() => h.setup());
  afterAll(() => h.teardown());

  it('completes a running job exactly once when nats-server restarts with the same storage', async () => {
    await h.pool('restart', { ackWaitSeconds: 2 });
    const agent = await h.startAgent('restart', { pod: 'pod-restart', command: sh('sleep 4; echo finished') });
    const { uid } = await h.publish('restart', { name: 'restart' });
    await h.waitEvent(uid, (e) => e.type === 'started');
    await h.server.stop();
    await waitFor(() => !agent.health().natsConnected, { message: 'agent saw the outage' });
    await new Promise((r) => setTimeout(r, 1500)); // an outage of a noticeable length
    await h.server.start();
    const ok = (await h.waitEvent(uid, (e) => e.type === 'succeeded', 30_000)) as JobEventOf<'succeeded'>;
    expect(ok.deliveryCount).toBe(1);
    expect(agent.health().natsConnected).toBe(true);
    // Give a (wrong) redelivery the chance to show up: wait past ack_wait for the consumer to settle.
    const ci = await waitFor(async () => {
      const c = await h.consumerInfo('restart');
      return c.num_ack_pending === 0 && c.num_pending === 0 ? c : undefined;
    });
    expect(ci.num_redelivered).toBe(0);
    const evs = await h.events(uid);
    expect(evs.filter((e) => e.type === 'started')).toHaveLength(1);
    expect(evs.filter((e) => e.type === 'succeeded')).toHaveLength(1);
    expect(h.output.filter((l) => l === '[restart] finished')).toHaveLength(1);
  });
});

describe('stale attempts', () => {
  const h = new AgentHarness();
  beforeAll(() => h.setup());
  afterAll(() => h.teardown());

  it('a late ack or heartbeat of an older attempt never changes the newer attempt', async () => {
    // Long ack_wait: only the explicit NAK below causes the second delivery.
    await h.pool('stale', { ackWaitSeconds: 9 });
    // Attempt 1 finishes (exit 0) after the job moved on; attempt 2 runs a bit longer, then fails once.
    const script = sh('if [ "$VISIONQ_ATTEMPT" = 1 ]; then sleep 3; exit 0; fi; sleep 2; exit 1');
    const a = await h.startAgent('stale', { pod: 'pod-stale-a', command: script });
    const { uid } = await h.publish('stale', { name: 'stale', retries: 0 });
    const s1 = (await h.waitEvent(uid, (e) => e.type === 'started')) as JobEventOf<'started'>;
    // The controller wrongly believes pod A is dead and re-queues its delivery.
    nakByAckSubject(h.nc, s1.ackSubject);
    const b = await h.startAgent('stale', { pod: 'pod-stale-b', command: script });
    const s2 = (await h.waitEvent(uid, (e) => e.type === 'started' && e.deliveryCount === 2)) as JobEventOf<'started'>;
    expect(s2).toMatchObject({ pod: 'pod-stale-b', attempt: 2 });
    // Late heartbeats of attempt 1 (as an old agent would send) while attempt 2 runs.
    workingByAckSubject(h.nc, s1.ackSubject);
    // Attempt 1's process exits 0 after being superseded: agent A must not ack it (which
    // would remove the job under attempt 2) nor report success.
    await waitFor(() => a.metrics.jobs.get().then((m) => m.values.find((v) => v.labels.outcome === 'superseded')?.value === 1), {
      timeoutMs: 15_000,
      message: 'agent A saw its attempt superseded',
    });
    workingByAckSubject(h.nc, s1.ackSubject);
    // Attempt 2 fails: its retry decision and events are its own, and the job is Failed (retries 0).
    const f = (await h.waitEvent(uid, (e) => e.type === 'failed', 20_000)) as JobEventOf<'failed'>;
    expect(f).toMatchObject({ pod: 'pod-stale-b', deliveryCount: 2, attempt: 2, failures: 1, willRetry: false });
    const evs = await h.events(uid);
    expect(evs.filter((e) => e.pod === 'pod-stale-a').map((e) => e.type)).toEqual(['started']);
    expect(evs.some((e) => e.type === 'succeeded')).toBe(false);
    const kv = await new Kvm(h.js).open(ATTEMPTS_BUCKET);
    const rec = await new AttemptStore(kv).get(uid);
    expect(rec?.record).toMatchObject({ attempts: 2, failures: 1, deliveryCount: 2, pod: 'pod-stale-b' });
    const ci = await h.consumerInfo('stale');
    expect(ci.num_pending + ci.num_ack_pending).toBe(0);
    expect(b.runningJobs()).toHaveLength(0);
  });
});
