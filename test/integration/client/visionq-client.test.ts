/**
 * The typed client against the whole sandbox (in-memory API server, real nats-server, the
 * controller, worker pods running the probe algorithm), including the API server's fault
 * switches for dropped and expired watches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IDEMPOTENCY_KEY_ANNOTATION,
  IdempotencyConflictError,
  JobFailedError,
  JobNotFinishedError,
  JobNotFoundError,
  JobRefusedError,
  VisionQ,
  WaitAbortedError,
  WaitTimeoutError,
  nameForKey,
  type VisionJob,
} from '../../../src/client/index.js';
import { waitFor } from '../../helpers/wait-for.js';
import { createPool, NS, probePool, patchJob, startHarness, waitPhase, type Harness } from '../../e2e/harness.js';

/** Consecutive duplicates removed: the phases a watcher went through. */
function phases(seen: VisionJob[]): string[] {
  const out: string[] = [];
  for (const j of seen) {
    const p = j.status?.phase ?? 'New';
    if (out[out.length - 1] !== p) out.push(p);
  }
  return out;
}

describe('visionq/client against the sandbox', () => {
  let h: Harness;
  let vq: VisionQ;

  beforeAll(async () => {
    h = await startHarness({ nodes: 2, gpusPerNode: 2 });
    await createPool(h, probePool(h, 'cl', { minReplicas: 2, maxReplicas: 2 }));
    vq = new VisionQ({ kubeconfig: h.sandbox.kubeconfigPath, namespace: NS });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('submit twice with the same idempotency key creates one job; a different spec under the key is refused', async () => {
    const spec = { pool: 'cl', input: { video: 'idem.mp4', durationSeconds: 1 }, tenant: 'acme' };
    const [a, b] = await Promise.all([vq.submit(spec, { idempotencyKey: 'upload-42' }), vq.submit(spec, { idempotencyKey: 'upload-42' })]);
    const c = await vq.submit(spec, { idempotencyKey: 'upload-42' });
    expect(a.metadata.uid).toBeDefined();
    expect(b.metadata.uid).toBe(a.metadata.uid);
    expect(c.metadata.uid).toBe(a.metadata.uid);
    const withKey = (await vq.list()).filter((j) => j.metadata.annotations?.[IDEMPOTENCY_KEY_ANNOTATION] === 'upload-42');
    expect(withKey.map((j) => j.metadata.uid)).toEqual([a.metadata.uid]);
    const other = await vq.submit({ ...spec, input: { video: 'other.mp4' } }, { idempotencyKey: 'upload-43' });
    expect(other.metadata.name).not.toBe(a.metadata.name);
    await expect(vq.submit({ ...spec, input: { video: 'changed.mp4' } }, { idempotencyKey: 'upload-42' })).rejects.toBeInstanceOf(IdempotencyConflictError);
    const done = await vq.waitFor(a.metadata.name!, 'Succeeded', { timeoutMs: 60_000 });
    expect(await vq.result(done.metadata.name!)).toMatchObject({ video: 'idem.mp4', uid: a.metadata.uid });
  });

  it('a refused job names the Kubernetes field', async () => {
    const err = await vq.submit({ pool: 'Not_A_Label' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobRefusedError);
    expect((err as JobRefusedError).fields).toContain('spec.pool');
    expect((err as JobRefusedError).cause).toBeDefined();
    await expect(vq.get('no-such-job')).rejects.toBeInstanceOf(JobNotFoundError);
    await expect(vq.waitFor('no-such-job', 'Finished', { timeoutMs: 5_000 })).rejects.toBeInstanceOf(JobNotFoundError);
  });

  it('watch yields the status changes in order, Pending -> (Queued) -> Running -> Succeeded, with progress', async () => {
    // Suspended, so the watch is open before the job can move.
    const j = await vq.submit({ pool: 'cl', input: { durationSeconds: 2 }, suspend: true });
    const name = j.metadata.name!;
    const seen: VisionJob[] = [];
    const watching = (async () => {
      for await (const s of vq.watch(name)) seen.push(s);
    })();
    await waitFor(() => seen.length > 0, { message: 'first watch event' });
    await patchJob(h, name, { spec: { suspend: false } });
    await watching;
    // 'New': the watch may open before the controller wrote any status.
    const p = phases(seen).filter((x) => x !== 'New');
    // Queued may never be visible: when the agent starts the job before the controller's
    // Queued write lands, the status store folds both into one write (Running).
    expect(p[0]).toBe('Pending');
    expect(p.slice(-2)).toEqual(['Running', 'Succeeded']);
    expect(['Pending,Running,Succeeded', 'Pending,Queued,Running,Succeeded']).toContain(p.join(','));
    expect(seen.some((s) => s.status?.phase === 'Running' && (s.status.progress?.percent ?? 0) > 0)).toBe(true);
    expect(seen[seen.length - 1]!.status?.result).toMatchObject({ job: name });
  });

  it('watch resumes after the server drops the watch and still yields the final state', async () => {
    const j = await vq.submit({ pool: 'cl', input: { durationSeconds: 3 } });
    const name = j.metadata.name!;
    const seen: VisionJob[] = [];
    let dropped = 0;
    for await (const s of vq.watch(name)) {
      seen.push(s);
      if (s.status?.phase === 'Running' && dropped === 0) dropped = h.sandbox.api!.faults.dropWatches();
    }
    expect(dropped).toBeGreaterThan(0);
    expect(phases(seen).slice(-2)).toEqual(['Running', 'Succeeded']);
  });

  it('watch relists after 410 Expired and still yields the final state', async () => {
    const j = await vq.submit({ pool: 'cl', input: { durationSeconds: 3 } });
    const name = j.metadata.name!;
    const seen: VisionJob[] = [];
    let expired = false;
    for await (const s of vq.watch(name)) {
      seen.push(s);
      if (s.status?.phase === 'Running' && !expired) {
        expired = true;
        // Compact history, then end every watch: each re-watch from an old resourceVersion gets 410.
        h.sandbox.api!.faults.expireWatches({ count: 6 });
        h.sandbox.api!.faults.dropWatches();
      }
    }
    expect(expired).toBe(true);
    expect(phases(seen).slice(-2)).toEqual(['Running', 'Succeeded']);
  });

  it('waitFor times out and aborts with named errors', async () => {
    const j = await vq.submit({ pool: 'cl', input: { durationSeconds: 30 } });
    const name = j.metadata.name!;
    const timeout = await vq.waitFor(name, 'Succeeded', { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(timeout).toBeInstanceOf(WaitTimeoutError);
    expect((timeout as WaitTimeoutError).last?.metadata.name).toBe(name);

    const ac = new AbortController();
    const waiting = vq.waitFor(name, 'Finished', { signal: ac.signal }).catch((e: unknown) => e);
    await waitPhase(h, name, 'Running');
    const reason = new Error('caller went away');
    ac.abort(reason);
    const aborted = await waiting;
    expect(aborted).toBeInstanceOf(WaitAbortedError);
    expect((aborted as WaitAbortedError).cause).toBe(reason);
    await expect(vq.result(name)).rejects.toBeInstanceOf(JobNotFinishedError);
  });

  it('cancel deletes a running job: waitFor Succeeded rejects, Finished resolves, the job goes away', async () => {
    const j = await vq.submit({ pool: 'cl', input: { durationSeconds: 30 }, tenant: 'cancel-me' });
    const name = j.metadata.name!;
    await waitPhase(h, name, 'Running');
    const succeeded = vq.waitFor(name, 'Succeeded').catch((e: unknown) => e);
    const finished = vq.waitFor(name, 'Finished');
    await vq.cancel(name);
    expect(await succeeded).toBeInstanceOf(JobFailedError);
    expect((await finished).metadata.name).toBe(name);
    await waitFor(() => vq.get(name).then(() => false, (e: unknown) => e instanceof JobNotFoundError), { timeoutMs: 30_000, message: 'cancelled job gone' });
    await vq.cancel(name); // already gone: not an error
  });

  it('a permanently failing job rejects waitFor Succeeded with JobFailedError; list filters by pool, tenant and phase', async () => {
    const bad = await vq.submit({ pool: 'cl', input: { durationSeconds: 0.2, failMode: 'permanent' }, tenant: 'beta' });
    const err = await vq.waitFor(bad.metadata.name!, 'Succeeded', { timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailedError);
    expect((err as JobFailedError).phase).toBe('Failed');
    await expect(vq.result(bad.metadata.name!)).rejects.toBeInstanceOf(JobFailedError);

    const beta = await vq.list({ tenant: 'beta' });
    expect(beta.map((x) => x.metadata.name)).toEqual([bad.metadata.name]);
    expect((await vq.list({ tenant: 'beta', phase: 'Succeeded' })).length).toBe(0);
    const acmeDone = await vq.list({ tenant: 'acme', phase: ['Succeeded'], pool: 'cl' });
    expect(acmeDone.map((x) => x.metadata.name)).toContain(nameForKey('upload-42'));
    expect(acmeDone.every((x) => x.status?.phase === 'Succeeded' && x.metadata.labels?.['visionq.dev/tenant'] === 'acme')).toBe(true);
    expect((await vq.list({ pool: 'elsewhere' })).length).toBe(0);
  });
});
