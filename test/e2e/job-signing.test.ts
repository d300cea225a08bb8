/**
 * The controller signs every job message and worker pods carry its public key: a job message
 * published straight into the stream by anyone else (here one copying a running job's uid) is
 * refused by the agent, never run, and changes nothing about the real job.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { headers } from '@nats-io/transport-node';
import { EVENT_MAC_HEADER } from '../../src/queue/event-mac.js';
import { encodeJobMessage, JobMessage } from '../../src/queue/job-message.js';
import { encodeJobEvent, jobEventMsgId, safeDecodeJobEvent, type JobEvent } from '../../src/queue/job-events.js';
import { publishJobEvent } from '../../src/queue/publisher.js';
import { EVENTS_STREAM, eventSubject, jobSubject } from '../../src/queue/subjects.js';
import { waitFor } from '../helpers/wait-for.js';
import { NS, createJob, job, createPool, probeJob, probePool, probeRuns, startHarness, waitPhase, type Harness } from './harness.js';

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

  it('a forged or replayed event for a running job changes nothing and is counted', async () => {
    h = await startHarness({ nodes: 1, gpusPerNode: 1 });
    await createPool(h, probePool(h, 'macs', { minReplicas: 1, maxReplicas: 1 }));
    await createJob(h, probeJob('target', 'macs', { durationSeconds: 5 }));
    await waitPhase(h, 'target', 'Running', 60_000);
    const ctl = h.controllers[0]!;
    const { js, jsm } = ctl.ctx.nats.current()!;
    // The real `started` event gives the attacker everything but the job's event key.
    const startedMsg = await waitFor(
      () => jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: eventSubject(NS, 'target') }).catch(() => undefined),
      { message: 'the started event' },
    );
    const started = safeDecodeJobEvent(startedMsg.data)!;
    expect(started.type).toBe('started');
    expect(startedMsg.header.get(EVENT_MAC_HEADER)).toBeTruthy();
    const forged: JobEvent = { ...started, type: 'succeeded', result: { forged: true }, durationMs: 1, time: new Date().toISOString() } as JobEvent;
    const forgedCount = async (): Promise<number> => {
      const text = await (await fetch(`${ctl.metricsUrl!}/metrics`)).text();
      return Number(/visionq_job_events_total\{type="succeeded",outcome="forged"\} (\d+)/.exec(text)?.[1] ?? 0);
    };

    // 1. no MAC, under the msgID an unsigned succeeded event of this attempt has (it must not make
    // the real one a duplicate); 2. a MAC under a key of its own; 3. the real started event's MAC
    // replayed on the forged body.
    await publishJobEvent(js, forged);
    await publishJobEvent(js, forged, { macKey: randomBytes(32) });
    const replayedMac = startedMsg.header.get(EVENT_MAC_HEADER);
    const replayed = headers();
    replayed.set(EVENT_MAC_HEADER, replayedMac);
    await js.publish(eventSubject(NS, 'target'), encodeJobEvent(forged), { headers: replayed, msgID: `${jobEventMsgId(forged)}/${replayedMac.slice(0, 22)}` });
    await waitFor(async () => (await forgedCount()) >= 3, { timeoutMs: 20_000, message: 'three forged events counted' });
    expect(job(h, 'target')?.status?.phase).toBe('Running');

    const done = await waitPhase(h, 'target', 'Succeeded', 60_000);
    expect(done.status?.attempts).toBe(1);
    expect(done.status?.result).not.toEqual({ forged: true });
    expect(await forgedCount()).toBe(3);
  });
});
