/**
 * A confirmed success of an older attempt finishes the job even when a newer attempt is
 * running (the ack was confirmed, so the work is done): the newer attempt's process is then
 * stopped instead of running on for nothing. The older attempt's success is published here
 * the way a slow agent would have (same job, lower delivery count).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { publishJobEvent } from '../../src/queue/publisher.js';
import { waitFor } from '../helpers/wait-for.js';
import { createJob, createPool, messageInStream, probeJob, probePool, probeRuns, startHarness, waitPhase, type Harness } from './harness.js';

describe('controller e2e: a stale success', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('finishes the job and stops the newer attempt still running', async () => {
    h = await startHarness({ nodes: 1, gpusPerNode: 1 });
    await createPool(h, probePool(h, 'stale-pool', { minReplicas: 1, maxReplicas: 1 }));
    await createJob(h, probeJob('stale', 'stale-pool', { durationSeconds: 60 }));
    const running = await waitPhase(h, 'stale', 'Running', 60_000);
    const cur = running.status!.currentAttempt!;
    await waitFor(async () => (await probeRuns(h!)).some((r) => r.job === 'stale'), { message: 'the attempt started' });

    const { js } = h.controllers[0]!.ctx.nats.current()!;
    await publishJobEvent(js, {
      type: 'succeeded',
      jobUid: running.metadata.uid!,
      namespace: running.metadata.namespace!,
      name: 'stale',
      pool: 'stale-pool',
      attempt: 0,
      deliveryCount: (cur.deliveryCount ?? 1) - 1,
      streamSeq: cur.streamSeq!,
      pod: 'an-older-pod',
      node: '',
      time: new Date().toISOString(),
      result: { from: 'older attempt' },
      durationMs: 1,
    }, { macKey: h.sandbox.jobSigner.eventKey(running.metadata.uid!) }); // the older attempt's agent had the job's key

    const done = await waitPhase(h, 'stale', 'Succeeded', 30_000);
    expect(done.status?.result).toEqual({ from: 'older attempt' });
    const run = await waitFor(async () => (await probeRuns(h!)).find((r) => r.job === 'stale' && r.how !== undefined), { timeoutMs: 30_000, message: 'the newer attempt stopped' });
    expect(run.how).toBe('killed');
    await waitFor(async () => !(await messageInStream(h!, cur.streamSeq!)), { message: 'the message removed' });
  });
});
