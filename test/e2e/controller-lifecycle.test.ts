import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOBS_STREAM, consumerName, maxDeliveriesAdvisorySubject } from '../../src/queue/subjects.js';
import { waitFor } from '../helpers/wait-for.js';
import { condition, createJob, createPool, deleteJob, eventsOf, job, messageInStream, NS, patchJob, probeRuns, startHarness, waitAll, waitPhase, type Harness, probePool, probeJob } from './harness.js';

describe('controller e2e: VisionJob lifecycle', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ nodes: 2, gpusPerNode: 2 });
    await createPool(h, probePool(h, 'gpu', { minReplicas: 2, maxReplicas: 2 }));
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('runs jobs to Succeeded with their result; kubectl wait, describe and get work', async () => {
    await createJob(h, probeJob('ok-1', 'gpu', { video: 'a.mp4' }));
    await createJob(h, probeJob('ok-2', 'gpu', { video: 'b.mp4' }));
    const wait = await h.kubectl('wait', '--for=condition=Succeeded', 'vj/ok-1', 'vj/ok-2', '--timeout=60s');
    expect(wait.code, wait.stderr).toBe(0);
    const [a, b] = await waitAll(h, ['ok-1', 'ok-2'], 'Succeeded');
    expect(a!.status?.result).toMatchObject({ job: 'ok-1', attempt: 1, video: 'a.mp4', uid: a!.metadata.uid });
    expect(b!.status?.result).toMatchObject({ job: 'ok-2', video: 'b.mp4' });
    expect(a!.status).toMatchObject({ attempts: 1, failures: 0 });
    expect(a!.status?.queuedAt).toBeDefined();
    expect(a!.status?.startTime).toBeDefined();
    expect(a!.status?.completionTime).toBeDefined();
    expect(a!.status?.progress?.percent).toBe(100);
    expect(condition(a, 'Admitted')?.status).toBe('True');
    expect(a!.status?.observedGeneration).toBe(a!.metadata.generation);

    const describe = await waitFor(async () => {
      const d = await h.kubectl('describe', 'vj', 'ok-1');
      return ['Queued', 'Started', 'Succeeded'].every((r) => d.stdout.includes(r)) ? d : undefined;
    }, { timeoutMs: 10_000, message: 'describe shows Queued, Started, Succeeded events' });
    expect(describe.stdout).toMatch(/Events:/);

    const get = await h.kubectl('get', 'vj', 'ok-1');
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toMatch(/POOL/);
    expect(get.stdout).toMatch(/PHASE/);
    expect(get.stdout).toMatch(/ok-1\s+gpu\s+Succeeded\s+1/);
  });

  it('retries a transient failure and succeeds on a later attempt', async () => {
    await createJob(h, probeJob('flaky', 'gpu', { failMode: 'transient', failAttempts: 1 }));
    const j = await waitPhase(h, 'flaky', 'Succeeded', 60_000);
    expect(j.status).toMatchObject({ failures: 1, attempts: 2 });
    expect(j.status?.result).toMatchObject({ attempt: 2 });
    const events = await waitFor(async () => {
      const ev = await eventsOf(h, 'flaky');
      return ev.some((e) => e.reason === 'Retrying') && ev.some((e) => e.reason === 'Succeeded') ? ev : undefined;
    }, { timeoutMs: 10_000, message: 'Retrying and Succeeded events' });
    expect(events.find((e) => e.reason === 'Retrying')?.message).toContain('exit code 1');
  });

  it('fails a permanently failing job with the exit code in its condition', async () => {
    await createJob(h, probeJob('broken', 'gpu', { failMode: 'permanent' }));
    const j = await waitPhase(h, 'broken', 'Failed', 60_000);
    const c = condition(j, 'Failed');
    expect(c).toMatchObject({ status: 'True', reason: 'PermanentFailure' });
    expect(c?.message).toContain('exit code 3');
    expect(j.status?.failures).toBe(1);
    expect(j.status?.attempts).toBe(1);
  });

  it('fails an invalid job with a condition naming the field', async () => {
    // 64 KiB is the input bound; a CRD schema cannot express it, so the API server accepts it.
    await createJob(h, probeJob('too-big', 'gpu', { blob: 'x'.repeat(70_000) }));
    const j = await waitPhase(h, 'too-big', 'Failed');
    const c = condition(j, 'Failed');
    expect(c).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(c?.message).toMatch(/^spec\.input: .*65536 bytes/);
    expect(await probeRuns(h)).not.toContainEqual(expect.objectContaining({ job: 'too-big' }));
  });

  it('says why a job waits: pool missing, suspended', async () => {
    await createJob(h, probeJob('no-pool', 'nope'));
    await createJob(h, probeJob('held', 'gpu', {}, { suspend: true }));
    await waitFor(() => condition(job(h, 'no-pool'), 'Pending')?.reason === 'PoolNotFound', { message: 'PoolNotFound' });
    expect(condition(job(h, 'no-pool'), 'Pending')?.message).toContain('"nope"');
    await waitFor(() => condition(job(h, 'held'), 'Pending')?.reason === 'Suspended', { message: 'Suspended' });
    expect(job(h, 'held')?.status?.phase).toBe('Pending');
    await deleteJob(h, 'no-pool');
    await deleteJob(h, 'held');
    await waitFor(() => !job(h, 'no-pool') && !job(h, 'held'), { message: 'waiting jobs deleted' });
  });

  it('deleting a running job stops its process and the job is gone', async () => {
    await createJob(h, probeJob('long', 'gpu', { durationSeconds: 60 }));
    await waitPhase(h, 'long', 'Running', 30_000);
    await waitFor(async () => (await probeRuns(h)).some((r) => r.job === 'long'), { message: 'long started' });
    const del = await h.kubectl('delete', 'vj', 'long', '--timeout=30s');
    expect(del.code, del.stderr).toBe(0);
    expect(job(h, 'long')).toBeUndefined();
    const run = (await probeRuns(h)).find((r) => r.job === 'long');
    expect(run?.how).toBe('killed');
    const ev = await eventsOf(h, 'long');
    expect(ev.map((e) => e.reason)).toContain('Cancelled');
  });

  it('deleting a queued job removes it from the stream', async () => {
    // Worker pods of this pool can never be scheduled (no node has 64 GPUs): its jobs stay queued.
    await createPool(h, probePool(h, 'stuck', { minReplicas: 0, maxReplicas: 1 }, 64));
    await createJob(h, probeJob('queued', 'stuck'));
    const j = await waitPhase(h, 'queued', 'Queued');
    const seq = j.status?.queueSequence;
    expect(seq).toBeGreaterThan(0);
    expect(await messageInStream(h, seq!)).toBe(true);
    await deleteJob(h, 'queued');
    await waitFor(() => !job(h, 'queued'), { message: 'queued job deleted' });
    expect(await messageInStream(h, seq!)).toBe(false);
    expect(await probeRuns(h)).not.toContainEqual(expect.objectContaining({ job: 'queued' }));
  });

  it('suspending a queued job takes it out of the stream; resuming queues it again', async () => {
    await createJob(h, probeJob('pausable', 'stuck'));
    const queued = await waitPhase(h, 'pausable', 'Queued');
    const seq = queued.status!.queueSequence!;
    expect(await messageInStream(h, seq)).toBe(true);
    await patchJob(h, 'pausable', { spec: { suspend: true } });
    const held = await waitPhase(h, 'pausable', 'Pending');
    expect(condition(held, 'Pending')?.reason).toBe('Suspended');
    expect(await messageInStream(h, seq)).toBe(false);
    await patchJob(h, 'pausable', { spec: { suspend: false } });
    const again = await waitPhase(h, 'pausable', 'Queued');
    expect(again.status?.queueSequence).toBeGreaterThan(seq);
    expect(await messageInStream(h, again.status!.queueSequence!)).toBe(true);
    await deleteJob(h, 'pausable');
  });

  it('deleting the pool of a queued job takes it out of the stream and holds it until the pool is back', async () => {
    // Unschedulable workers (64 GPUs) keep the job Queued with its message in the stream.
    await createPool(h, probePool(h, 'doomed', { minReplicas: 0, maxReplicas: 1 }, 64));
    await createJob(h, probeJob('orphaned', 'doomed'));
    const queued = await waitPhase(h, 'orphaned', 'Queued');
    const seq = queued.status!.queueSequence!;
    expect(await messageInStream(h, seq)).toBe(true);

    const del = await h.kubectl('delete', 'wp', 'doomed', '--timeout=30s');
    expect(del.code, del.stderr).toBe(0);
    const held = await waitPhase(h, 'orphaned', 'Pending');
    expect(condition(held, 'Pending')?.reason).toBe('PoolNotFound');
    expect(await messageInStream(h, seq)).toBe(false);
    expect((await eventsOf(h, 'orphaned')).map((e) => e.reason)).toContain('PoolDeleted');

    // A pool of that name that can run it: the job is queued again and finishes.
    await createPool(h, probePool(h, 'doomed', { minReplicas: 0, maxReplicas: 1 }));
    await waitPhase(h, 'orphaned', 'Succeeded', 60_000);
  });

  it('a MAX_DELIVERIES advisory fails the job and removes the dead message', async () => {
    await createJob(h, probeJob('dead-letter', 'stuck'));
    const j = await waitPhase(h, 'dead-letter', 'Queued');
    const seq = j.status!.queueSequence!;
    const { nc, jsm } = h.controllers[0]!.ctx.nats.current()!;
    // What nats-server publishes when the consumer's max_deliver is reached.
    nc.publish(
      maxDeliveriesAdvisorySubject(JOBS_STREAM, consumerName(NS, 'stuck')),
      JSON.stringify({ type: 'io.nats.jetstream.advisory.v1.max_deliver', stream: JOBS_STREAM, consumer: consumerName(NS, 'stuck'), stream_seq: seq, deliveries: 23 }),
    );
    const failed = await waitPhase(h, 'dead-letter', 'Failed');
    expect(condition(failed, 'Failed')).toMatchObject({ status: 'True', reason: 'MaxDeliveriesExceeded' });
    await waitFor(async () => {
      try {
        return (await jsm.streams.getMessage(JOBS_STREAM, { seq })) === null;
      } catch {
        return true;
      }
    }, { message: 'dead message removed' });
  });

  it('deletes a finished job after ttlSecondsAfterFinished', async () => {
    await createJob(h, probeJob('short-lived', 'gpu', { durationSeconds: 0.5 }, { ttlSecondsAfterFinished: 1 }));
    await waitPhase(h, 'short-lived', 'Succeeded', 30_000);
    await waitFor(() => !job(h, 'short-lived'), { timeoutMs: 15_000, message: 'short-lived deleted after its TTL' });
  });

  it('serves /metrics, /healthz and /readyz', async () => {
    const c = h.controllers[0]!;
    expect(c.isLeader()).toBe(true);
    expect((await fetch(`${c.healthUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${c.healthUrl}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${c.metricsUrl}/metrics`)).text();
    expect(text).toContain('visionq_nats_connected 1');
    expect(text).toContain('visionq_controller_leader 1');
    expect(text).toMatch(/visionq_reconcile_duration_seconds_count\{controller="visionjob"\} \d+/);
    expect(text).toMatch(/visionq_jobs_published_total\{namespace="default",pool="gpu"\} \d+/);
    expect(text).toMatch(/visionq_job_retries_total\{namespace="default",pool="gpu"\} 1/);
    expect(text).toMatch(/visionq_job_run_duration_seconds_count\{namespace="default",pool="gpu",outcome="Succeeded"\} \d+/);
    expect(text).toMatch(/visionq_job_queue_wait_seconds_count\{namespace="default",pool="gpu"\} \d+/);
  });
});
