/**
 * Lowering a pool's ackWaitSeconds while attempts run: their agents heartbeat at a third of the
 * deadline they read, so the consumer keeps the longer one until they finish (no redelivery of
 * running work), then takes the new value.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { JOBS_STREAM, consumerName } from '../../src/queue/subjects.js';
import { waitFor } from '../helpers/wait-for.js';
import { NS, createJob, createPool, eventsFor, patchPool, probeJob, probePool, probeRuns, startHarness, waitPhase, type Harness } from './harness.js';

describe('controller e2e: ackWaitSeconds lowered while jobs run', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('keeps the longer ack_wait until the running attempts finish, then lowers it; the next attempt heartbeats at the new deadline', async () => {
    h = await startHarness({ nodes: 1, gpusPerNode: 2 });
    // Two workers: a message redelivered because its heartbeat was too slow would go to the idle one.
    await createPool(h, probePool(h, 'ackwait', { minReplicas: 2, maxReplicas: 2, ackWaitSeconds: 9 }));
    await createJob(h, probeJob('long', 'ackwait', { durationSeconds: 6 }));
    await waitPhase(h, 'long', 'Running', 60_000);
    const { jsm } = h.controllers[0]!.ctx.nats.current()!;
    const ackWait = async () => ((await jsm.consumers.info(JOBS_STREAM, consumerName(NS, 'ackwait'))).config.ack_wait ?? 0) / 1e9;
    expect(await ackWait()).toBe(9);

    await patchPool(h, 'ackwait', { spec: { ackWaitSeconds: 1 } });
    // The consumer is brought to the pool's spec when a job waits for it.
    await createJob(h, probeJob('next', 'ackwait', { durationSeconds: 1 }));
    const ev = await waitFor(async () => (await eventsFor(h!, 'WorkerPool', 'ackwait')).find((e) => e.reason === 'AckWaitChangeDeferred'), { timeoutMs: 30_000, message: 'AckWaitChangeDeferred event' });
    expect(ev.message).toMatch(/keeps 9s until the 1 running attempt/);
    expect(await ackWait()).toBe(9);
    for (const n of ['long', 'next']) expect((await waitPhase(h, n, 'Succeeded', 60_000)).status?.attempts).toBe(1);

    // Nothing runs now: the next pass lowers it, and the job it admits runs under 1 s. Its agent
    // read 9 s when it started; it reads the deadline again when it claims the job, so it
    // heartbeats fast enough and the 4 s job is not handed to the idle worker.
    await createJob(h, probeJob('after', 'ackwait', { durationSeconds: 4 }));
    await waitFor(async () => (await ackWait()) === 1, { timeoutMs: 30_000, message: 'ack_wait lowered to 1 s once idle' });
    expect((await waitPhase(h, 'after', 'Succeeded', 60_000)).status?.attempts).toBe(1);
    const runs = await probeRuns(h);
    for (const n of ['long', 'next', 'after']) expect(runs.filter((r) => r.job === n), n).toHaveLength(1);
  });
});
