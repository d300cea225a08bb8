/**
 * visionq against what a user does without it, side by side on the real control plane
 * (etcd, kube-apiserver, controller-manager, scheduler) and the same simulated GPU nodes:
 * one plain batch/v1 Job per video, run by the real Job controller and kube-scheduler, with
 * the same sleeper algorithm (test/e2e/fixtures/probe-algorithm.mjs, which logs its own start).
 *   - create → algorithm start, one at a time: visionq with warm workers; Job (a cold pod each)
 *   - worker pod force-deleted mid-run → algorithm running again
 *   - wall time of N short jobs (default 200 × 0.5 s) over 8 GPU slots
 * Run: npx tsx bench/kube-vs-jobs.ts   (BENCH_ITERATIONS default 20, BENCH_BURST default 200)
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchV1Api, CoreV1Api, CustomObjectsApi, type V1Job } from '@kubernetes/client-node';
import { pino } from 'pino';
import { startSandbox } from '../src/sandbox/sandbox.js';
import { startSandboxController } from '../src/sandbox/sandbox-controller.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { percentile, REPO, writeResult } from './report-util.js';

const iterations = Number(process.env.BENCH_ITERATIONS ?? 20);
const burst = Number(process.env.BENCH_BURST ?? 200);
const burstSeconds = Number(process.env.BENCH_BURST_SECONDS ?? 0.5);
const SLOTS = 8;
const NS = 'default';
const PROBE = join(REPO, 'test/e2e/fixtures/probe-algorithm.mjs');

interface Run { job: string; attempt: number; start: number; end?: number; pid: number }

const dir = await mkdtemp(join(tmpdir(), 'visionq-bench-kube-jobs-'));
const probeDir = await mkdtemp(join(tmpdir(), 'visionq-bench-probe-'));
const logger = pino({ level: 'warn' });
const sb = await startSandbox({
  // 16 GPUs: the warm visionq pool holds 8, the plain Jobs get the other 8.
  dir, nodes: 2, gpusPerNode: SLOTS, maxNodes: 2, nodeProvisionSeconds: 1, logger, controlPlane: 'kube',
  startController: (env) => startSandboxController(env, logger),
});
const core = sb.kc.makeApiClient(CoreV1Api);
const batch = sb.kc.makeApiClient(BatchV1Api);
const custom = sb.kc.makeApiClient(CustomObjectsApi);

async function runs(): Promise<Run[]> {
  const text = await readFile(join(probeDir, 'runs.log'), 'utf8').catch(() => '');
  const byPid = new Map<string, Run>();
  for (const line of text.split('\n')) {
    const [what, job, attempt, at, pid] = line.split(' ');
    if (!what || !job || !pid) continue;
    const key = `${job}/${pid}`;
    if (what === 'start') byPid.set(key, { job, attempt: Number(attempt), start: Number(at), pid: Number(pid) });
    else if (byPid.get(key)) byPid.get(key)!.end = Number(at);
  }
  return [...byPid.values()];
}

const container = (name: string, input: Record<string, unknown>) => ({
  name: 'algo',
  image: 'visionq/probe:dev',
  command: [process.execPath, PROBE],
  env: [
    { name: 'PROBE_DIR', value: probeDir },
    // What the agent would hand a visionq job; a plain Job has to carry it itself.
    { name: 'VISIONQ_JOB_NAME', value: name },
    { name: 'VISIONQ_INPUT', value: JSON.stringify(input) },
  ],
  resources: { requests: { cpu: '100m', memory: '64Mi', 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '1' } },
});

async function createPlainJob(name: string, input: Record<string, unknown>): Promise<void> {
  const body: V1Job = {
    metadata: { name, namespace: NS },
    spec: {
      backoffLimit: 3,
      ttlSecondsAfterFinished: 30,
      template: { metadata: { labels: { bench: 'plain-job' } }, spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 5, containers: [{ ...container(name, input), env: [...container(name, input).env, { name: 'VISIONQ_ATTEMPT', value: '1' }] }] } },
    },
  };
  await batch.createNamespacedJob({ namespace: NS, body });
}

async function createVisionJob(name: string, input: Record<string, unknown>): Promise<void> {
  await custom.createNamespacedCustomObject({
    group: 'visionq.dev', version: 'v1alpha1', namespace: NS, plural: 'visionjobs',
    body: { apiVersion: 'visionq.dev/v1alpha1', kind: 'VisionJob', metadata: { name }, spec: { pool: 'bench', input } },
  });
}

async function jobDone(name: string): Promise<boolean> {
  const j = await batch.readNamespacedJob({ name, namespace: NS }).catch(() => undefined);
  return (j?.status?.succeeded ?? 0) > 0;
}

async function visionJobPhase(name: string): Promise<string | undefined> {
  const j = (await custom.getNamespacedCustomObject({ group: 'visionq.dev', version: 'v1alpha1', namespace: NS, plural: 'visionjobs', name }).catch(() => undefined)) as { status?: { phase?: string } } | undefined;
  return j?.status?.phase;
}

const started = (name: string, attempt?: (r: Run) => boolean) => async () => (await runs()).find((r) => r.job === name && (attempt ? attempt(r) : true));
const stat = (xs: number[]) => ({ p50: Math.round(percentile(xs, 50)), p99: Math.round(percentile(xs, 99)), n: xs.length });

const table: Record<string, Record<string, number | string>> = {};
try {
  // visionq: a warm pool of 8 one-slot workers.
  await custom.createNamespacedCustomObject({
    group: 'visionq.dev', version: 'v1alpha1', namespace: NS, plural: 'workerpools',
    body: {
      apiVersion: 'visionq.dev/v1alpha1', kind: 'WorkerPool', metadata: { name: 'bench' },
      spec: { minReplicas: SLOTS, maxReplicas: SLOTS, ackWaitSeconds: 300, template: { spec: { containers: [container('-', {})].map(({ name, image, command, env, resources }) => ({ name, image, command, env: env.filter((e) => e.name === 'PROBE_DIR'), resources })) } } },
    },
  });
  await waitFor(async () => (await core.listNamespacedPod({ namespace: NS, labelSelector: 'visionq.dev/pool=bench' })).items.filter((p) => p.status?.phase === 'Running').length === SLOTS, { timeoutMs: 180_000, message: 'warm workers' });
  await createVisionJob('warm', { durationSeconds: 0.1 });
  await waitFor(async () => (await visionJobPhase('warm')) === 'Succeeded', { timeoutMs: 60_000, message: 'warm-up job' });

  const dispatch = { visionq: [] as number[], job: [] as number[] };
  for (let i = 0; i < iterations; i++) {
    const v = `vd-${i}`;
    let t0 = Date.now();
    await createVisionJob(v, { durationSeconds: 0.05 });
    dispatch.visionq.push((await waitFor(started(v), { timeoutMs: 60_000, intervalMs: 5, message: `${v} started` })).start - t0);
    await waitFor(async () => (await visionJobPhase(v)) === 'Succeeded', { timeoutMs: 60_000, intervalMs: 20, message: `${v} done` });
    const k = `kd-${i}`;
    t0 = Date.now();
    await createPlainJob(k, { durationSeconds: 0.05 });
    dispatch.job.push((await waitFor(started(k), { timeoutMs: 120_000, intervalMs: 5, message: `${k} started` })).start - t0);
    await waitFor(() => jobDone(k), { timeoutMs: 120_000, intervalMs: 20, message: `${k} done` });
  }
  table['create → algorithm start (ms)'] = {
    'visionq p50': stat(dispatch.visionq).p50, 'visionq p99': stat(dispatch.visionq).p99,
    'Job p50': stat(dispatch.job).p50, 'Job p99': stat(dispatch.job).p99,
    'Job/visionq (p50)': (stat(dispatch.job).p50 / Math.max(1, stat(dispatch.visionq).p50)).toFixed(1),
  };

  // Recovery: the pod running the algorithm is force-deleted.
  const recovery = { visionq: [] as number[], job: [] as number[] };
  const recoveries = Math.max(3, Math.round(iterations / 4));
  for (let i = 0; i < recoveries; i++) {
    const v = `vr-${i}`;
    await createVisionJob(v, { durationSeconds: 20 });
    const first = await waitFor(started(v), { timeoutMs: 60_000, intervalMs: 5, message: `${v} started` });
    const pod = await waitFor(async () => {
      const j = (await custom.getNamespacedCustomObject({ group: 'visionq.dev', version: 'v1alpha1', namespace: NS, plural: 'visionjobs', name: v })) as { status?: { currentAttempt?: { pod?: string } } };
      return j.status?.currentAttempt?.pod;
    }, { timeoutMs: 30_000, message: `${v} pod` });
    let t0 = Date.now();
    await core.deleteNamespacedPod({ name: pod, namespace: NS, gracePeriodSeconds: 0 });
    await waitFor(started(v, (r) => r.pid !== first.pid), { timeoutMs: 120_000, intervalMs: 5, message: `${v} running again` });
    recovery.visionq.push(Date.now() - t0);
    await custom.deleteNamespacedCustomObject({ group: 'visionq.dev', version: 'v1alpha1', namespace: NS, plural: 'visionjobs', name: v });

    const k = `kr-${i}`;
    await createPlainJob(k, { durationSeconds: 20 });
    const kFirst = await waitFor(started(k), { timeoutMs: 120_000, intervalMs: 5, message: `${k} started` });
    const kPod = (await core.listNamespacedPod({ namespace: NS, labelSelector: `job-name=${k}` })).items[0]!.metadata!.name!;
    t0 = Date.now();
    await core.deleteNamespacedPod({ name: kPod, namespace: NS, gracePeriodSeconds: 0 });
    await waitFor(started(k, (r) => r.pid !== kFirst.pid), { timeoutMs: 120_000, intervalMs: 5, message: `${k} running again` });
    recovery.job.push(Date.now() - t0);
    await batch.deleteNamespacedJob({ name: k, namespace: NS, propagationPolicy: 'Background' });
  }
  table['pod force-deleted → running again (ms)'] = {
    'visionq p50': stat(recovery.visionq).p50, 'visionq p99': stat(recovery.visionq).p99,
    'Job p50': stat(recovery.job).p50, 'Job p99': stat(recovery.job).p99,
    'Job/visionq (p50)': (stat(recovery.job).p50 / Math.max(1, stat(recovery.visionq).p50)).toFixed(1),
  };

  // Burst: N short jobs over 8 slots, wall time from the first create to the last finish.
  const wall = async (kind: 'visionq' | 'job'): Promise<number> => {
    const names = Array.from({ length: burst }, (_, i) => `${kind === 'visionq' ? 'vb' : 'kb'}-${i}`);
    const t0 = Date.now();
    for (let i = 0; i < names.length; i += 20) {
      await Promise.all(names.slice(i, i + 20).map((n) => (kind === 'visionq' ? createVisionJob(n, { durationSeconds: burstSeconds }) : createPlainJob(n, { durationSeconds: burstSeconds }))));
    }
    await waitFor(async () => {
      const done = (await runs()).filter((r) => r.end !== undefined && names.includes(r.job));
      return new Set(done.map((r) => r.job)).size === names.length;
    }, { timeoutMs: 30 * 60_000, intervalMs: 250, message: `${kind} burst finished` });
    return Date.now() - t0;
  };
  const vWall = await wall('visionq');
  const kWall = await wall('job');
  const ideal = Math.ceil(burst / SLOTS) * burstSeconds * 1000;
  table[`${burst} × ${burstSeconds} s jobs over ${SLOTS} slots, wall (s)`] = {
    'visionq': +(vWall / 1000).toFixed(1), 'Job': +(kWall / 1000).toFixed(1),
    'ideal': +(ideal / 1000).toFixed(1), 'Job/visionq': (kWall / vWall).toFixed(2),
  };
  console.log('\nvisionq vs one plain Kubernetes Job per video, real control plane v1.36.3, same nodes and algorithm');
  console.table(table);
  console.log('written', await writeResult('kube-vs-jobs', { iterations, burst, burstSeconds, slots: SLOTS, dispatch, recovery, wallMs: { visionq: vWall, job: kWall, ideal }, table }));
} finally {
  await sb.stop();
  await rm(dir, { recursive: true, force: true });
  await rm(probeDir, { recursive: true, force: true });
}
