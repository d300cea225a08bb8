import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { CoreV1Api, CustomObjectsApi, V1Pod } from '@kubernetes/client-node';
import { WorkerPoolReconciler, type PoolObject } from '../../../../src/controller/workerpool/workerpool-reconciler.js';
import { workerTemplateHash } from '../../../../src/controller/workerpod/worker-pod-builder.js';
import type { DrainResult } from '../../../../src/controller/workerpod/worker-drain.js';
import type { VisionJobView } from '../../../../src/controller/workerpool/workerpool-view.js';
import type { JobPhase } from '../../../../src/api/vision-job.js';
import { makeJob, makePool } from '../../../helpers/builders.js';

const settings = { natsUrlForWorkers: 'nats://n:4222', agentCommand: ['agent'] };

function gpuPool(o: Partial<PoolObject['spec']> = {}): PoolObject {
  return makePool('gpu')
    .namespace('ns')
    .uid('pool-uid')
    .bareMetadata()
    .max(3)
    .scaleDownDelay(10)
    .template({ spec: { containers: [{ name: 'a', command: ['run'] }] } })
    .spec(o)
    .obj();
}

/** A tiny in-memory world: pods the fake API creates/deletes are visible to the next reconcile only when `sync()` says so. */
function world(pool: PoolObject) {
  let nowMs = 1_000_000;
  const apiPods = new Map<string, V1Pod>();
  let cachePods: V1Pod[] = [];
  const jobs: VisionJobView[] = [];
  const drains: string[] = [];
  const drainAnswers = new Map<string, DrainResult>();
  const deleted: string[] = [];
  const statuses: unknown[] = [];
  const events: string[] = [];
  let n = 0;
  const failCreate: { err?: unknown } = {};
  const core = {
    createNamespacedPod: async ({ body }: { body: V1Pod }) => {
      if (failCreate.err) throw failCreate.err;
      apiPods.set(body.metadata!.name!, { ...body, metadata: { ...body.metadata, creationTimestamp: new Date(nowMs) } });
      return body;
    },
    deleteNamespacedPod: async ({ name }: { name: string }) => {
      deleted.push(name);
      apiPods.delete(name);
      return {};
    },
  } as unknown as CoreV1Api;
  const custom = {
    patchNamespacedCustomObjectStatus: async (p: { body: { status: unknown } }) => {
      statuses.push(p.body.status);
      pool.status = p.body.status as PoolObject['status'];
      return {};
    },
  } as unknown as CustomObjectsApi;
  const r = new WorkerPoolReconciler<VisionJobView>({
    core,
    custom,
    getPool: () => pool,
    listPods: () => cachePods,
    listJobs: () => jobs,
    load: (js) => ({
      queued: js.filter((j) => j.status?.phase === 'Queued').length,
      running: js.filter((j) => j.status?.phase === 'Running').length,
    }),
    settings,
    drain: async (_ns, _pool, pod) => {
      drains.push(pod);
      return drainAnswers.get(pod) ?? { outcome: 'accepted' };
    },
    deaths: { sweep: () => undefined, podDied: async () => undefined },
    event: (_o, _t, reason, msg) => void events.push(`${reason}: ${msg}`),
    clock: () => new Date(nowMs),
    logger: pino({ level: 'silent' }),
    random: () => (n++ % 27) / 27,
  });
  return {
    r,
    failCreate,
    jobs,
    drains,
    drainAnswers,
    deleted,
    statuses,
    events,
    apiPods,
    advance: (ms: number) => (nowMs += ms),
    /** The informer catches up: cache = API state, with pods bound, running and ready. */
    sync: (phase: 'Running' | 'Pending' = 'Running') => {
      cachePods = [...apiPods.values()].map((p) => ({
        ...p,
        spec: { ...p.spec!, nodeName: phase === 'Running' ? 'node-1' : undefined },
        status: { phase, conditions: phase === 'Running' ? [{ type: 'Ready', status: 'True' }] : [] },
      }));
    },
    setCache: (pods: V1Pod[]) => (cachePods = pods),
    queue: (count: number, phase: JobPhase = 'Queued') => {
      for (let i = 0; i < count; i++) jobs.push(makeJob(`j${jobs.length}`).namespace('ns').pool('gpu').phase(phase).obj());
    },
  };
}

describe('WorkerPoolReconciler', () => {
  it('creates up to the desired count once, even before the cache shows the new pods', async () => {
    const pool = gpuPool();
    const w = world(pool);
    w.queue(5);
    await w.r.reconcile('ns/gpu');
    expect(w.apiPods.size).toBe(3);
    await w.r.reconcile('ns/gpu'); // cache still empty: expectations hold the count
    expect(w.apiPods.size).toBe(3);
    w.sync();
    await w.r.reconcile('ns/gpu');
    expect(w.apiPods.size).toBe(3);
    expect(w.events.filter((e) => e.startsWith('ScaledUp'))).toHaveLength(1);
    expect(w.statuses.at(-1)).toMatchObject({ replicas: 3, ready: 3, idle: 3, queued: 5 });
  });

  it('holds a status change of counters only for a second after the last write, and writes others at once', async () => {
    const pool = gpuPool({ minReplicas: 3 });
    const w = world(pool);
    await w.r.reconcile('ns/gpu');
    w.sync();
    await w.r.reconcile('ns/gpu');
    const written = w.statuses.length;
    expect(w.statuses.at(-1)).toMatchObject({ ready: 3, queued: 0 });
    // A job is queued 100 ms later: only a counter moves, so the write waits and says when.
    w.advance(100);
    w.queue(1);
    const res = await w.r.reconcile('ns/gpu');
    expect(w.statuses).toHaveLength(written);
    expect(res?.requeueAfterMs).toBe(900);
    w.advance(900);
    await w.r.reconcile('ns/gpu');
    expect(w.statuses).toHaveLength(written + 1);
    expect(w.statuses.at(-1)).toMatchObject({ queued: 1 });
    // A worker that stops being ready is not a counter: written at once.
    w.advance(10);
    w.setCache([...w.apiPods.values()].map((p, i) => ({ ...p, spec: { ...p.spec!, nodeName: 'node-1' }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: i === 0 ? 'False' : 'True' }] } })));
    await w.r.reconcile('ns/gpu');
    expect(w.statuses).toHaveLength(written + 2);
    expect(w.statuses.at(-1)).toMatchObject({ ready: 2 });
  });

  it('scales down only after the delay, tries the next worker when one refuses, and keeps busy ones', async () => {
    const pool = gpuPool();
    const w = world(pool);
    w.queue(3);
    await w.r.reconcile('ns/gpu');
    w.sync();
    const [a, b, c] = [...w.apiPods.keys()].sort();
    // one job running on a, the others finished
    w.jobs.splice(0, w.jobs.length, makeJob('x').namespace('ns').pool('gpu').phase('Running').attempt(a).obj());
    const res = await w.r.reconcile('ns/gpu');
    expect(w.deleted).toEqual([]);
    expect(res?.requeueAfterMs).toBe(10_000);
    w.advance(10_000);
    w.drainAnswers.set(b, { outcome: 'refused', reason: 'recently-took-job' });
    // desired 1 (the busy a): b refuses, so c is asked and goes; b is retried later
    await w.r.reconcile('ns/gpu');
    expect(w.drains.sort()).toEqual([b, c].sort());
    expect(w.deleted).toEqual([c]);
    expect(w.events.some((e) => e.startsWith(`ScaledDown: Removed idle worker pod ${c}`))).toBe(true);
    w.sync();
    w.drainAnswers.delete(b);
    // b's idle clock restarted when it refused
    await w.r.reconcile('ns/gpu');
    expect(w.deleted).toEqual([c]);
    w.advance(10_000);
    await w.r.reconcile('ns/gpu');
    expect(w.deleted).toEqual([c, b]);
    expect(w.deleted).not.toContain(a);
  });

  it('does not remove a ready worker whose agent is silent until that outlasts the ack deadline', async () => {
    const pool = gpuPool({ ackWaitSeconds: 40, scaleDownDelaySeconds: 0 });
    const w = world(pool);
    w.queue(1);
    await w.r.reconcile('ns/gpu');
    w.sync();
    const [a] = [...w.apiPods.keys()];
    w.jobs.length = 0;
    w.drainAnswers.set(a, { outcome: 'no-agent' });
    await w.r.reconcile('ns/gpu');
    w.advance(39_000);
    await w.r.reconcile('ns/gpu');
    expect(w.deleted).toEqual([]);
    w.advance(2_000);
    await w.r.reconcile('ns/gpu');
    expect(w.deleted).toEqual([a]);
  });

  it('removes unscheduled workers without asking an agent', async () => {
    const pool = gpuPool({ scaleDownDelaySeconds: 0 });
    const w = world(pool);
    w.queue(2);
    await w.r.reconcile('ns/gpu');
    w.sync('Pending');
    w.jobs.length = 0;
    await w.r.reconcile('ns/gpu');
    expect(w.drains).toEqual([]);
    expect(w.deleted).toHaveLength(2);
  });

  it('replaces idle outdated workers, leaves busy outdated ones, and deletes dead pods', async () => {
    const pool = gpuPool();
    const w = world(pool);
    w.queue(2);
    await w.r.reconcile('ns/gpu');
    w.sync();
    const [a, b] = [...w.apiPods.keys()].sort();
    w.jobs.splice(0, 2, makeJob('x').namespace('ns').pool('gpu').phase('Running').attempt(a).obj(), makeJob('y').namespace('ns').pool('gpu').phase('Queued').obj());
    const oldHash = workerTemplateHash(pool, settings);
    pool.spec.template = { spec: { containers: [{ name: 'a', command: ['run', '--v2'] }] } };
    pool.metadata.generation = 2;
    await w.r.reconcile('ns/gpu');
    expect(w.deleted).toEqual([b]);
    expect(w.events.some((e) => e.includes("template changed"))).toBe(true);
    w.sync();
    await w.r.reconcile('ns/gpu');
    const fresh = [...w.apiPods.values()].filter((p) => p.metadata?.labels?.['visionq.dev/template-hash'] !== oldHash);
    expect(fresh).toHaveLength(1);
    expect(w.apiPods.has(a)).toBe(true);
    expect(w.statuses.at(-1)).toMatchObject({ observedGeneration: 2 });

    // a dies (Failed): it is deleted at once, no drain
    w.sync();
    w.setCache([...w.apiPods.values()].map((p) => (p.metadata?.name === a ? { ...p, spec: { ...p.spec!, nodeName: 'n' }, status: { phase: 'Failed' } } : { ...p, spec: { ...p.spec!, nodeName: 'n' }, status: { phase: 'Running' } })));
    w.drains.length = 0;
    await w.r.reconcile('ns/gpu');
    expect(w.deleted).toContain(a);
    expect(w.drains).not.toContain(a);
  });

  it('reports an unusable template on the pool and creates nothing', async () => {
    const pool = gpuPool({ template: { spec: { containers: [{ name: 'a' }] } } });
    const w = world(pool);
    w.queue(2);
    await w.r.reconcile('ns/gpu');
    expect(w.apiPods.size).toBe(0);
    expect(w.events.some((e) => e.startsWith('InvalidTemplate'))).toBe(true);
    expect((w.statuses.at(-1) as { conditions: Array<{ type: string; reason: string }> }).conditions[0]).toMatchObject({ type: 'Ready', reason: 'InvalidTemplate' });
  });

  it('reports pods the API server rejects on the pool and retries later; transient failures go to the backoff', async () => {
    const pool = gpuPool();
    const w = world(pool);
    w.queue(2);
    w.failCreate.err = Object.assign(new Error('forbidden'), { code: 403, body: { message: 'pods "gpu-x" is forbidden: exceeded quota: gpu-quota' } });
    const res = await w.r.reconcile('ns/gpu');
    expect(res?.requeueAfterMs).toBe(30_000);
    expect(w.events.some((e) => e.startsWith('FailedCreate') && e.includes('exceeded quota'))).toBe(true);
    const ready = (w.statuses.at(-1) as { conditions: Array<{ type: string; reason: string; message: string }> }).conditions[0];
    expect(ready).toMatchObject({ type: 'Ready', reason: 'FailedCreate' });
    expect(ready.message).toContain('exceeded quota');

    w.failCreate.err = Object.assign(new Error('boom'), { code: 503 });
    await expect(w.r.reconcile('ns/gpu')).rejects.toThrow('boom');

    w.failCreate.err = undefined;
    await w.r.reconcile('ns/gpu');
    expect(w.apiPods.size).toBe(2);
    expect((w.statuses.at(-1) as { conditions: Array<{ reason: string }> }).conditions[0].reason).toBe('ScalingUp');
  });
});
