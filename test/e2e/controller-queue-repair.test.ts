import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOBS_STREAM } from '../../src/queue/subjects.js';
import { waitFor } from '../helpers/wait-for.js';
import { condition, createJob, createPool, eventsOf, job, probeJob, probePool, probeRuns, startHarness, waitPhase, GROUP, NS, VERSION, type Harness } from './harness.js';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

/**
 * Queued jobs whose queue message vanished are queued again by the controller's sweep: one
 * message deleted from the stream, and a NATS server restarted without its store (what an R1
 * stream's lost volume looks like). Every job then runs exactly once.
 */
describe('controller e2e: queued jobs without their message', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ nodes: 1, gpusPerNode: 2, controller: false });
    await h.startController({ queueSweepIntervalMs: 300 });
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** A pool whose workers cannot be scheduled (4 GPUs asked, 2 on the node): its jobs stay Queued. */
  const stalledPool = (name: string) => createPool(h, probePool(h, name, { minReplicas: 0, maxReplicas: 1, slotsPerWorker: 3 }, 4));
  const unstall = (name: string) =>
    h.custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: NS, plural: 'workerpools', name, body: probePool(h, name, { minReplicas: 0, maxReplicas: 1, slotsPerWorker: 3 }, 1) },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  const runsOf = async (name: string) => (await probeRuns(h)).filter((r) => r.job === name).length;

  it('re-queues a Queued job whose message was deleted, with a MessageLost event, and runs it once', async () => {
    await stalledPool('repair-a');
    await createJob(h, probeJob('lost-1', 'repair-a', { durationSeconds: 0.2 }));
    const queued = await waitPhase(h, 'lost-1', 'Queued');
    const seq = queued.status!.queueSequence!;
    const { jsm } = h.controllers[0]!.ctx.nats.current()!;
    expect(await jsm.streams.deleteMessage(JOBS_STREAM, seq)).toBe(true);

    const requeued = await waitFor(() => {
      const j = job(h, 'lost-1');
      return j?.status?.phase === 'Queued' && (j.status.requeueGeneration ?? 0) === 1 ? j : undefined;
    }, { timeoutMs: 20_000, message: 'lost-1 queued again under requeueGeneration 1' });
    expect(requeued.status!.queueSequence).not.toBe(seq);
    const m = await jsm.streams.getMessage(JOBS_STREAM, { seq: requeued.status!.queueSequence! });
    expect(m?.header.get('Nats-Msg-Id')).toBe(`${requeued.metadata.uid}/1`);
    const events = await eventsOf(h, 'lost-1');
    expect(events.find((e) => e.reason === 'MessageLost')?.message).toContain(`message ${seq} is gone from ${JOBS_STREAM}`);

    await unstall('repair-a');
    await waitPhase(h, 'lost-1', 'Succeeded', 60_000);
    expect(await runsOf('lost-1')).toBe(1);
    const done = job(h, 'lost-1')!;
    expect(done.status?.failures ?? 0).toBe(0);
    expect(condition(done, 'Admitted')?.status).toBe('True');
  });

  it('re-queues every Queued job after NATS comes back without its store', async () => {
    await stalledPool('repair-b');
    const names = ['wiped-1', 'wiped-2', 'wiped-3'];
    for (const n of names) await createJob(h, probeJob(n, 'repair-b', { durationSeconds: 0.2 }));
    for (const n of names) await waitPhase(h, n, 'Queued');

    await h.sandbox.nats!.stop();
    await rm(join(h.sandbox.dir, 'nats'), { recursive: true, force: true });
    await h.sandbox.nats!.start();

    for (const n of names) {
      await waitFor(() => ((job(h, n)?.status?.requeueGeneration ?? 0) >= 1 && job(h, n)?.status?.phase === 'Queued' ? true : undefined), {
        timeoutMs: 30_000,
        message: `${n} queued again after the store was lost`,
      });
    }
    await unstall('repair-b');
    for (const n of names) await waitPhase(h, n, 'Succeeded', 60_000);
    for (const n of names) expect(await runsOf(n)).toBe(1);
  });
});
