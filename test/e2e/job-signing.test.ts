/**
 * The controller signs every job message and worker pods carry its public key: a job message
 * published straight into the stream by anyone else (here one copying a running job's uid) is
 * refused by the agent, never run, and changes nothing about the real job.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeJobMessage, JobMessage } from '../../src/queue/job-message.js';
import { safeDecodeJobEvent } from '../../src/queue/job-events.js';
import { EVENTS_STREAM, eventSubject, jobSubject } from '../../src/queue/subjects.js';
import { waitFor } from '../helpers/wait-for.js';
import { NS, createJob, createPool, probeJob, probePool, probeRuns, startHarness, waitPhase, type Harness } from './harness.js';

describe('controller e2e: signed job messages', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('worker pods run the controller-signed jobs and refuse a forged one', async () => {
    h = await startHarness({ nodes: 1, gpusPerNode: 2 });
    await createPool(h, probePool(h, 'signed', { minReplicas: 2, maxReplicas: 2 }));
    await createJob(h, probeJob('victim', 'signed', { durationSeconds: 4 }));
    const running = await waitPhase(h, 'victim', 'Running', 60_000);
    const pods = h.pods.podsOf('signed');
    expect(pods.length).toBeGreaterThan(0);
    const cmd = pods[0]!.spec!.containers[0]!.command!;
    expect(cmd[cmd.indexOf('--job-public-keys') + 1]).toBe(h.sandbox.jobSigner.publicKey);

    // A well-formed message for the same job, unsigned, on the pool's subject: an idle worker takes it.
    const forged = JobMessage.parse({
      uid: running.metadata.uid!,
      namespace: NS,
      pool: 'signed',
      name: 'victim',
      input: { durationSeconds: 0.1, forged: true },
      publishedAt: new Date().toISOString(),
      requeueGeneration: 99,
    });
    const { js, jsm } = h.controllers[0]!.ctx.nats.current()!;
    const ack = await js.publish(jobSubject(NS, 'signed'), encodeJobMessage(forged));
    // The agent that got it reports the refusal under a name of its own, with no job uid.
    const refusal = await waitFor(
      async () => {
        const m = await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: eventSubject(NS, `refused-seq-${ack.seq}`) }).catch(() => undefined);
        return m ? safeDecodeJobEvent(m.data) : undefined;
      },
      { timeoutMs: 30_000, message: 'the refusal event' },
    );
    expect(refusal).toMatchObject({ type: 'rejected', jobUid: '', reason: expect.stringMatching(/unsigned job message/) });

    const done = await waitPhase(h, 'victim', 'Succeeded', 60_000);
    expect(done.status?.attempts).toBe(1);
    expect(done.status?.failures ?? 0).toBe(0);
    // One run, the real one: the forged input never reached an algorithm.
    const runs = (await probeRuns(h)).filter((r) => r.job === 'victim');
    expect(runs).toHaveLength(1);
    expect(await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: eventSubject(NS, 'victim') }).then((m) => safeDecodeJobEvent(m!.data)?.type)).toBe('succeeded');
  });
});
