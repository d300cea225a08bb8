import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterEach, describe, expect, it } from 'vitest';
import { connectNats } from '../../src/queue/connect.js';
import { JOBS_STREAM } from '../../src/queue/subjects.js';
import { waitFor } from '../helpers/wait-for.js';
import { condition, createJob, createPool, job, leaseHolder, NS, startHarness, waitAll, waitPhase, type Harness, probePool, probeJob } from './harness.js';

const RANK: Record<string, number> = { Pending: 0, Queued: 1, Running: 2, Succeeded: 3, Failed: 3, Cancelled: 3 };

/** Records every phase each job passes through, as the API server published it. */
function recordPhases(h: Harness): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const note = (j: { metadata: { name?: string }; status?: { phase?: string } }): void => {
    const name = j.metadata.name ?? '';
    const phase = j.status?.phase ?? 'Pending';
    const list = seen.get(name) ?? [];
    if (list[list.length - 1] !== phase) list.push(phase);
    seen.set(name, list);
  };
  h.jobs.addEventHandler({ onAdd: note, onUpdate: (_o, n) => note(n) });
  return seen;
}

describe('controller e2e: high availability and faults', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('the standby finishes every job when the leader is SIGKILLed; nothing is published twice, no status goes backwards', async () => {
    h = await startHarness({ nodes: 2, gpusPerNode: 2, controller: false });
    const lease = ['--leader-elect', '--leader-elect-lease-duration', '3', '--leader-elect-renew-deadline', '2', '--leader-elect-retry-period', '0.5'];
    const a = h.spawnController('ctl-a', lease);
    const b = h.spawnController('ctl-b', lease);
    const holder = (): Promise<string> => leaseHolder(h!);
    const first = await waitFor(holder, { timeoutMs: 30_000, message: 'a leader' });
    const phases = recordPhases(h);
    await createPool(h, probePool(h, 'ha', { minReplicas: 2, maxReplicas: 2 }));
    const names = Array.from({ length: 6 }, (_, i) => `ha-${i + 1}`);
    for (const n of names) await createJob(h, probeJob(n, 'ha', { durationSeconds: 2 }));
    await waitFor(() => names.some((n) => job(h!, n)?.status?.phase === 'Running'), { timeoutMs: 60_000, message: 'a job running' });

    const leader = first.startsWith('ctl-a') ? a : b;
    const standby = leader === a ? 'ctl-b' : 'ctl-a';
    leader.kill('SIGKILL');
    await waitFor(async () => (await holder()).startsWith(standby), { timeoutMs: 30_000, message: `${standby} takes the lease` });

    const done = await waitAll(h, names, 'Succeeded', 90_000);
    for (const j of done) {
      expect(j.status?.attempts, j.metadata.name).toBe(1);
      expect(j.status?.failures ?? 0).toBe(0);
    }
    for (const n of names) {
      const ranks = (phases.get(n) ?? []).map((p) => RANK[p] ?? -1);
      expect(ranks, `${n}: ${phases.get(n)?.join(' → ')}`).toEqual([...ranks].sort((x, y) => x - y));
    }
    const nc = await connectNats({ servers: h.sandbox.natsUrl, name: 'ha-test' });
    try {
      const info = await (await jetstreamManager(nc)).streams.info(JOBS_STREAM);
      // One stored message per job: a repeated publish would have taken a new sequence.
      expect(info.state.last_seq).toBe(names.length);
    } finally {
      await nc.close();
    }
  });

  it('a leader that stops hands over at once; the standby is ready and idle until then', async () => {
    h = await startHarness({ nodes: 1, gpusPerNode: 2, controller: false });
    const le = { namespace: NS, leaseName: 'handover', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 300 };
    const first = await h.startController({ leaderElection: { ...le, identity: 'first' } });
    await waitFor(() => first.isLeader(), { timeoutMs: 20_000, message: 'first leads' });
    const second = await h.startController({ leaderElection: { ...le, identity: 'second' } });
    await waitFor(() => second.ready(), { message: 'standby ready (caches synced)' });
    expect(second.isLeader()).toBe(false);
    expect((await fetch(`${second.healthUrl}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${second.metricsUrl}/metrics`)).text()).toContain('visionq_controller_leader 0');

    await createPool(h, probePool(h, 'handover', { minReplicas: 1, maxReplicas: 1 }));
    await createJob(h, probeJob('ho-1', 'handover', { durationSeconds: 2 }));
    await waitPhase(h, 'ho-1', 'Running', 60_000);
    const stoppedAt = Date.now();
    await first.stop();
    // Released, not expired: far sooner than the 15 s lease duration.
    await waitFor(() => second.isLeader(), { timeoutMs: 10_000, message: 'second leads' });
    expect(Date.now() - stoppedAt).toBeLessThan(15_000);
    await createJob(h, probeJob('ho-2', 'handover', { durationSeconds: 0.5 }));
    await waitAll(h, ['ho-1', 'ho-2'], 'Succeeded', 60_000);
  });

  it('NATS down for 10 s: new jobs wait with a NatsUnavailable condition, then everything finishes', async () => {
    h = await startHarness({ nodes: 2, gpusPerNode: 2 });
    const ctl = h.controllers[0]!;
    await createPool(h, probePool(h, 'nq', { minReplicas: 2, maxReplicas: 2 }));
    await createJob(h, probeJob('before-1', 'nq', { durationSeconds: 4 }));
    await createJob(h, probeJob('before-2', 'nq', { durationSeconds: 4 }));
    await waitPhase(h, 'before-1', 'Running', 60_000);
    await waitPhase(h, 'before-2', 'Running', 60_000);

    const downAt = Date.now();
    await h.sandbox.nats!.stop();
    await waitFor(() => !ctl.ready(), { message: 'controller not ready without NATS' });
    await createJob(h, probeJob('during', 'nq', { durationSeconds: 1 }));
    await waitFor(() => condition(job(h!, 'during'), 'Pending')?.reason === 'NatsUnavailable', { timeoutMs: 15_000, message: 'during: NatsUnavailable' });
    expect(job(h, 'during')?.status?.phase).toBe('Pending');
    // The outage itself is the scenario: keep NATS down for 10 s in total.
    await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - downAt))));
    await h.sandbox.nats!.start();

    await waitAll(h, ['before-1', 'before-2', 'during'], 'Succeeded', 90_000);
    await waitFor(() => ctl.ready(), { message: 'ready again' });
    expect(condition(job(h, 'during'), 'Pending')?.status).toBe('False');
  });

  it('NATS restarted without its store: streams and consumers are re-created and new jobs finish', async () => {
    h = await startHarness({ nodes: 1, gpusPerNode: 1 });
    await createPool(h, probePool(h, 'wiped', { minReplicas: 1, maxReplicas: 1 }));
    await createJob(h, probeJob('wipe-before', 'wiped', { durationSeconds: 1 }));
    await waitAll(h, ['wipe-before'], 'Succeeded', 60_000);

    await h.sandbox.nats!.stop();
    await rm(join(h.sandbox.dir, 'nats'), { recursive: true, force: true });
    await h.sandbox.nats!.start();

    await createJob(h, probeJob('wipe-after', 'wiped', { durationSeconds: 1 }));
    await waitAll(h, ['wipe-after'], 'Succeeded', 90_000);
  });
});
