/**
 * The WorkerPool controller alone against the sandbox API server (real HTTP, real client-node):
 * job load is simulated by writing VisionJob status directly, drains and re-queues are recorded.
 * No kubelet or scheduler: pods stay unscheduled, which is exactly "capacity on its way".
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { startSandboxApi, type SandboxApi } from '../helpers/sandbox-api.js';
import { waitFor } from '../helpers/wait-for.js';
import { installCrds, readCrds } from '../../src/sandbox/crd-installer.js';
import { packageRoot } from '../../src/sandbox/package-root.js';
import { makeClients } from '../../src/kube/kube-clients.js';
import { Informer } from '../../src/kube/informer.js';
import { EventRecorder } from '../../src/kube/event-recorder.js';
import { createControllerMetrics } from '../../src/controller/manager/metrics.js';
import type { ControllerContext } from '../../src/controller/manager/context.js';
import { DEFAULT_CONTROLLER_SETTINGS } from '../../src/controller/manager/context.js';
import type { VisionJobObject, WorkerPoolObject } from '../../src/controller/manager/context-types.js';
import { startWorkerPoolController, type WorkerPoolController } from '../../src/controller/workerpool/workerpool-controller.js';
import type { DrainResult } from '../../src/controller/workerpod/worker-drain.js';
import { samplePool } from './workerpool-fixtures.js';

const GROUP = 'visionq.dev';
const VERSION = 'v1alpha1';
const NS = 'default';
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

describe('WorkerPool controller against the sandbox API server', () => {
  let api: SandboxApi;
  let ctx: ControllerContext;
  let controller: WorkerPoolController;
  const drains: string[] = [];
  const drainAnswers = new Map<string, DrainResult>();
  const requeued: Array<{ job: string; pod: string }> = [];
  const informers: Array<Informer<never>> = [];

  beforeAll(async () => {
    api = await startSandboxApi();
    await installCrds(api.kc, await readCrds(join(packageRoot, 'crds')));
    const kube = makeClients(api.kc);
    const jobs = new Informer<VisionJobObject>({ kc: api.kc, path: `/apis/${GROUP}/${VERSION}/visionjobs`, indexers: { pool: (j) => [`${j.metadata.namespace}/${j.spec.pool}`] } });
    const pools = new Informer<WorkerPoolObject>({ kc: api.kc, path: `/apis/${GROUP}/${VERSION}/workerpools` });
    const pods = new Informer<V1Pod>({ kc: api.kc, path: '/api/v1/pods', labelSelector: 'visionq.dev/pool' });
    informers.push(jobs as never, pools as never, pods as never);
    for (const i of [jobs, pools, pods]) i.start();
    await Promise.all([jobs.waitForSync(), pools.waitForSync(), pods.waitForSync()]);
    const recorder = new EventRecorder({ core: kube.core, component: 'visionq-controller' });
    ctx = {
      kube,
      jobs,
      pools,
      pods,
      nats: { current: () => undefined, connected: () => false },
      recorder: { event: (o, t, r, m) => void recorder.event(o, t, r, m) },
      metrics: createControllerMetrics(),
      clock: () => new Date(),
      logger: pino({ level: process.env.VISIONQ_TEST_LOG ?? 'silent' }),
      settings: { ...DEFAULT_CONTROLLER_SETTINGS, natsUrlForWorkers: 'nats://127.0.0.1:4222', agentCommand: ['node', 'agent.js'] },
      enqueueJob: () => undefined,
      enqueuePool: (k) => controller?.enqueue(k),
    };
    controller = startWorkerPoolController(ctx, {
      drain: async (_ns, _pool, pod) => {
        drains.push(pod);
        return drainAnswers.get(pod) ?? { outcome: 'accepted' };
      },
      requeue: async (job, pod) => {
        requeued.push({ job: job.metadata.name ?? '', pod });
      },
    });
  });

  afterAll(async () => {
    await controller?.stop();
    for (const i of informers) await i.stop();
    await api?.cleanup();
  });

  const custom = () => ctx.kube.custom;
  const createJob = async (name: string, pool: string) =>
    custom().createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NS,
      plural: 'visionjobs',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'VisionJob', metadata: { name, namespace: NS }, spec: { pool, input: {} } },
    });
  const setJobStatus = async (name: string, status: Record<string, unknown>) =>
    custom().patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace: NS, plural: 'visionjobs', name, body: { status } }, MERGE);
  const pool = async (name: string) =>
    (await custom().getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'workerpools', name })) as WorkerPoolObject;
  const podsOf = (p: string) => ctx.pods.store.list().filter((x) => x.metadata?.labels?.['visionq.dev/pool'] === p);

  it('scales up to the load, never past maxReplicas, and reports status and events', async () => {
    await custom().createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'workerpools', body: samplePool('alpha', { maxReplicas: 3, scaleDownDelaySeconds: 1 }) });
    for (let i = 0; i < 5; i++) await createJob(`a-${i}`, 'alpha');
    // nothing queued yet: no workers
    await waitFor(async () => (await pool('alpha')).status?.conditions?.length, { message: 'pool status written' });
    expect(podsOf('alpha')).toHaveLength(0);

    for (let i = 0; i < 5; i++) await setJobStatus(`a-${i}`, { phase: 'Queued' });
    await waitFor(() => podsOf('alpha').length === 3, { message: '3 worker pods' });
    const st = await waitFor(async () => {
      const s = (await pool('alpha')).status;
      return s?.queued === 5 && s?.replicas === 3 ? s : undefined;
    });
    expect(st).toMatchObject({ replicas: 3, ready: 0, busy: 0, pending: 3, queued: 5, running: 0 });
    expect(st.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ScalingUp' });

    const p = podsOf('alpha')[0];
    expect(p.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'WorkerPool', name: 'alpha', controller: true, blockOwnerDeletion: true });
    expect(p.metadata?.annotations?.['cluster-autoscaler.kubernetes.io/safe-to-evict']).toBe('false');
    expect(p.spec?.containers[0].command?.slice(0, 2)).toEqual(['node', 'agent.js']);

    // More load changes nothing: already at maxReplicas.
    await createJob('a-5', 'alpha');
    await setJobStatus('a-5', { phase: 'Queued' });
    await waitFor(async () => (await pool('alpha')).status?.queued === 6);
    expect(podsOf('alpha')).toHaveLength(3);

    const events = (await ctx.kube.core.listNamespacedEvent({ namespace: NS })).items.filter((e) => e.involvedObject?.name === 'alpha');
    expect(events.some((e) => e.reason === 'ScaledUp')).toBe(true);

    const metrics = await ctx.metrics.registry.metrics();
    expect(metrics).toContain('visionq_worker_pods{namespace="default",pool="alpha",state="unscheduled"} 3');
    expect(metrics).toContain('visionq_workerpool_desired_replicas{namespace="default",pool="alpha"} 3');
    expect(metrics).toContain('visionq_worker_pods_created_total{namespace="default",pool="alpha"} 3');
  });

  it('re-queues the job of a worker pod that is deleted while running it', async () => {
    const victim = podsOf('alpha')[0].metadata!.name!;
    await setJobStatus('a-0', {
      phase: 'Running',
      currentAttempt: { attempt: 1, pod: victim, startedAt: new Date().toISOString(), streamSeq: 1, deliveryCount: 1 },
    });
    await waitFor(() => ctx.jobs.store.get(`${NS}/a-0`)?.status?.phase === 'Running');
    await ctx.kube.core.deleteNamespacedPod({ name: victim, namespace: NS });
    await waitFor(() => requeued.find((r) => r.pod === victim), { message: 'job of deleted pod re-queued' });
    expect(requeued).toEqual([{ job: 'a-0', pod: victim }]);
    // the pool still needs 3 workers: the pod is replaced
    await waitFor(() => podsOf('alpha').length === 3 && !podsOf('alpha').some((p) => p.metadata?.name === victim));
  });

  it('removes idle workers after the delay through the drain handshake, skipping a refusing one, down to zero', async () => {
    for (let i = 0; i < 6; i++) await setJobStatus(`a-${i}`, { phase: 'Succeeded' });
    const [refuser] = podsOf('alpha').map((p) => p.metadata!.name!);
    drainAnswers.set(refuser, { outcome: 'refused', reason: 'busy' });
    // unscheduled pods have no agent to ask: they go without a drain
    await waitFor(() => podsOf('alpha').length === 0, { timeoutMs: 15_000, message: 'pool scaled to zero' });
    expect(drains).toEqual([]);
    const st = await waitFor(async () => {
      const s = (await pool('alpha')).status;
      return s?.replicas === 0 && s?.queued === 0 ? s : undefined;
    });
    expect(st.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'NoWorkersNeeded' });
    const events = (await ctx.kube.core.listNamespacedEvent({ namespace: NS })).items.filter((e) => e.involvedObject?.name === 'alpha');
    expect(events.some((e) => e.reason === 'ScaledDown')).toBe(true);
  });

  it('asks scheduled workers to drain, never deletes one that refuses, and deletes it once it accepts', async () => {
    await custom().createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'workerpools', body: samplePool('beta', { maxReplicas: 2, scaleDownDelaySeconds: 0 }) });
    for (const n of ['b-0', 'b-1']) {
      await createJob(n, 'beta');
      await setJobStatus(n, { phase: 'Queued' });
    }
    await waitFor(() => podsOf('beta').length === 2);
    // Pretend a kubelet runs them: bind to a node and mark Running + Ready.
    for (const p of podsOf('beta')) {
      const name = p.metadata!.name!;
      await ctx.kube.core.createNamespacedBinding({ namespace: NS, body: { metadata: { name }, target: { kind: 'Node', name: 'node-1' } } });
      await ctx.kube.core.patchNamespacedPodStatus(
        { name, namespace: NS, body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } } },
        MERGE,
      );
    }
    const [a, b] = podsOf('beta').map((p) => p.metadata!.name!).sort();
    drainAnswers.set(a, { outcome: 'refused', reason: 'recently-took-job' });
    drainAnswers.set(b, { outcome: 'accepted' });
    for (const n of ['b-0', 'b-1']) await setJobStatus(n, { phase: 'Succeeded' });
    await waitFor(() => podsOf('beta').every((p) => p.metadata?.name !== b || p.metadata?.deletionTimestamp), { message: 'accepting worker deleted' });
    await waitFor(() => drains.includes(a), { message: 'refusing worker asked' });
    expect(drains).toContain(b);
    // the refusing one stays until it accepts
    expect(podsOf('beta').find((p) => p.metadata?.name === a)?.metadata?.deletionTimestamp).toBeFalsy();
    drainAnswers.set(a, { outcome: 'accepted' });
    await waitFor(() => podsOf('beta').every((p) => p.metadata?.name !== a || p.metadata?.deletionTimestamp), { timeoutMs: 10_000, message: 'refusing worker deleted after accepting' });
  });
});
