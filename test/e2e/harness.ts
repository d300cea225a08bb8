/**
 * The one harness of the end-to-end tests: the whole sandbox (API server with the CRDs,
 * nats-server, scheduler, process kubelet running worker pods with the real agent, simulated
 * autoscaler), controllers in-process, run by the sandbox, or as child processes (to SIGKILL a
 * leader), real kubectl, and a pod recorder that sees every worker pod ever created.
 * Probe pools run test/e2e/fixtures/probe-algorithm.mjs (logs its start/end to a temp dir);
 * sample pools run examples/algorithms/sample-vision.mjs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type CoreV1Event, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Informer } from '../../src/kube/informer.js';
import { startController, type ControllerHandle, type StartControllerOptions } from '../../src/controller/index.js';
import type { VisionJobObject, WorkerPoolObject } from '../../src/controller/manager/context-types.js';
import { kubectlBinary, testControlPlane } from '../helpers/control-plane.js';
import { startSandbox, type SandboxEnvironment, type SandboxHandle } from '../../src/sandbox/sandbox.js';
import { packageRoot } from '../../src/sandbox/package-root.js';
import { JOBS_STREAM } from '../../src/queue/subjects.js';
import { waitFor } from '../helpers/wait-for.js';

import { GROUP, NS, VERSION } from './workerpool-fixtures.js';

export { GROUP, NS, VERSION, samplePool } from './workerpool-fixtures.js';
export const AGENT_COMMAND = [process.execPath, '--import', 'tsx', join(packageRoot, 'src/agent/main.ts')];
const PROBE = 'test/e2e/fixtures/probe-algorithm.mjs';
const exec = promisify(execFile);

/** Every worker pod seen, with creation/deletion times, and the peak number alive at once. */
export class PodRecorder {
  readonly created = new Map<string, { at: number; pool: string }>();
  readonly gone = new Map<string, number>();
  readonly startedAt = new Map<string, number>();
  readonly nodeOf = new Map<string, string>();
  readonly hashOf = new Map<string, string>();
  maxAlive = 0;
  private alive = new Set<string>();
  readonly informer: Informer<V1Pod>;

  constructor(h: SandboxHandle) {
    this.informer = new Informer<V1Pod>({ kc: h.kc, path: '/api/v1/pods', labelSelector: 'visionq.dev/pool', name: 'test-pods' });
    this.informer.addEventHandler({
      onAdd: (p) => this.seen(p),
      onUpdate: (_o, p) => this.seen(p),
      onDelete: (p) => {
        const n = p.metadata?.name ?? '';
        this.alive.delete(n);
        this.gone.set(n, Date.now());
      },
    });
  }

  private seen(p: V1Pod): void {
    const n = p.metadata?.name ?? '';
    if (!this.created.has(n)) this.created.set(n, { at: Date.now(), pool: p.metadata?.labels?.['visionq.dev/pool'] ?? '' });
    if (p.spec?.nodeName) this.nodeOf.set(n, p.spec.nodeName);
    this.hashOf.set(n, p.metadata?.labels?.['visionq.dev/template-hash'] ?? '');
    if (p.status?.phase === 'Running' && !this.startedAt.has(n)) this.startedAt.set(n, Date.now());
    if (!this.gone.has(n)) {
      this.alive.add(n);
      this.maxAlive = Math.max(this.maxAlive, this.alive.size);
    }
  }

  /** Peak number of pods of `pool` that existed at the same time (terminating ones included). */
  maxAliveOf(pool: string): number {
    const events: Array<[number, number]> = [];
    for (const [n, c] of this.created) {
      if (c.pool !== pool) continue;
      events.push([c.at, 1]);
      const g = this.gone.get(n);
      if (g !== undefined) events.push([g, -1]);
    }
    events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let cur = 0;
    let max = 0;
    for (const [, d] of events) max = Math.max(max, (cur += d));
    return max;
  }

  podsOf(pool: string): V1Pod[] {
    return this.informer.store.list().filter((p) => p.metadata?.labels?.['visionq.dev/pool'] === pool);
  }

  creationsOf(pool: string): number {
    return [...this.created.values()].filter((c) => c.pool === pool).length;
  }
}

export interface Harness {
  sandbox: SandboxHandle;
  custom: CustomObjectsApi;
  core: CoreV1Api;
  /** The test's own view of the jobs (never the controller's cache). */
  jobs: Informer<VisionJobObject>;
  /** Every worker pod seen (for "never more than N"). */
  pods: PodRecorder;
  probeDir: string;
  controllers: ControllerHandle[];
  startController(extra?: Partial<StartControllerOptions>): Promise<ControllerHandle>;
  /** A controller in a child process (`src/controller/main.ts` through tsx by default), for SIGKILL. */
  spawnController(podName: string, args?: string[], entry?: string[]): ChildProcess;
  kubectl(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  nodes?: number;
  gpusPerNode?: number;
  maxNodes?: number;
  nodeProvisionSeconds?: number;
  nodeScaleDownSeconds?: number;
  /**
   * true (default): one controller started by the harness (h.startController, metrics and
   * health ports, fast progress writes); 'sandbox': the controller as the sandbox runs it
   * (the WorkerPool tests); false: none yet (the test starts or spawns its own).
   */
  controller?: boolean | 'sandbox';
  /** Run NATS as a JetStream cluster of this many nodes (h.sandbox.natsCluster) instead of one server. */
  natsCluster?: number;
  /**
   * nats-server with static least-privilege users (the sandbox's --nats-auth): controllers log in
   * as the controller user and worker pods as their pool's user (Secret h.sandbox.natsAuth.workerSecret).
   */
  natsAuth?: boolean;
}

/** What a controller needs to log in to the sandbox's NATS, and its pods to get their pool's user. */
function natsAuthOf(env: SandboxEnvironment): { login: Partial<StartControllerOptions>; settings: { workerNatsUserSecret?: string } } {
  const a = env.natsAuth;
  if (!a) return { login: {}, settings: {} };
  return { login: { natsUser: a.controllerUser, natsPassword: a.controllerPassword }, settings: { workerNatsUserSecret: a.workerSecret } };
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'visionq-e2e-'));
  const probeDir = await mkdtemp(join(tmpdir(), 'visionq-probe-'));
  const logger = pino({ level: process.env.VISIONQ_TEST_LOG ?? 'silent' });
  const sandbox = await startSandbox({
    dir,
    nodes: opts.nodes ?? 2,
    gpusPerNode: opts.gpusPerNode ?? 2,
    maxNodes: opts.maxNodes ?? opts.nodes ?? 2,
    nodeProvisionSeconds: opts.nodeProvisionSeconds ?? 1,
    nodeScaleDownSeconds: opts.nodeScaleDownSeconds ?? 600,
    logger,
    controlPlane: testControlPlane(),
    ...(opts.natsCluster !== undefined ? { natsClusterSize: opts.natsCluster } : {}),
    ...(opts.natsAuth ? { natsAuth: true } : {}),
    ...(opts.controller === 'sandbox'
      ? {
          startController: (env: SandboxEnvironment) =>
            startController({
              kubeconfig: env.kubeconfigPath,
              natsUrl: env.natsUrl,
              logger,
              ...natsAuthOf(env).login,
              settings: { natsUrlForWorkers: env.natsUrl, agentCommand: AGENT_COMMAND, jobSigner: env.jobSigner, ...natsAuthOf(env).settings },
            }),
        }
      : {}),
  });
  const controllers: ControllerHandle[] = [];
  const children: ChildProcess[] = [];
  const jobs = new Informer<VisionJobObject>({ kc: sandbox.kc, path: `/apis/${GROUP}/${VERSION}/visionjobs`, name: 'test-jobs' });
  jobs.start();
  const pods = new PodRecorder(sandbox);
  pods.informer.start();
  await Promise.all([jobs.waitForSync(), pods.informer.waitForSync()]);
  const h: Harness = {
    sandbox,
    custom: sandbox.kc.makeApiClient(CustomObjectsApi),
    core: sandbox.kc.makeApiClient(CoreV1Api),
    jobs,
    pods,
    probeDir,
    controllers,
    async startController(extra = {}) {
      const c = await startController({
        kubeconfig: sandbox.kubeconfigPath,
        natsUrl: sandbox.natsUrl,
        logger,
        events: { progressMs: 500 },
        metricsPort: 0,
        healthPort: 0,
        ...natsAuthOf(sandbox).login,
        ...extra,
        // A test's own settings add to these: the signing key must stay the one the pods trust.
        settings: { natsUrlForWorkers: sandbox.natsUrl, agentCommand: AGENT_COMMAND, cancelTimeoutMs: 15_000, jobSigner: sandbox.jobSigner, ...natsAuthOf(sandbox).settings, ...extra.settings },
      });
      controllers.push(c);
      return c;
    },
    spawnController(podName, args = [], entry = ['--import', 'tsx', join(packageRoot, 'src/controller/main.ts')]) {
      const child = spawn(
        process.execPath,
        [
          ...entry,
          '--kubeconfig',
          sandbox.kubeconfigPath,
          '--nats-url',
          sandbox.natsUrl,
          '--agent-command',
          AGENT_COMMAND.join(' '),
          '--job-signing-key',
          sandbox.jobSigningKeyPath,
          '--metrics-port',
          '0',
          '--health-port',
          '0',
          '--log-level',
          process.env.VISIONQ_TEST_LOG ?? 'warn',
          ...(sandbox.natsAuth ? ['--nats-user', sandbox.natsAuth.controllerUser] : []),
          ...args,
        ],
        {
          cwd: packageRoot,
          env: {
            ...process.env,
            POD_NAME: podName,
            POD_NAMESPACE: NS,
            ...(sandbox.natsAuth ? { VISIONQ_NATS_PASSWORD: sandbox.natsAuth.controllerPassword, VISIONQ_WORKER_NATS_USER_SECRET: sandbox.natsAuth.workerSecret } : {}),
          },
          stdio: ['ignore', 'inherit', 'inherit'],
        },
      );
      children.push(child);
      return child;
    },
    async kubectl(...args) {
      try {
        const r = await exec(kubectlBinary(), ['--kubeconfig', sandbox.kubeconfigPath, ...args], { timeout: 60_000 });
        return { stdout: r.stdout, stderr: r.stderr, code: 0 };
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; code?: number };
        return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 };
      }
    },
    async stop() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(controllers.map((c) => c.stop()));
      await pods.informer.stop();
      await jobs.stop();
      await sandbox.stop();
      await rm(dir, { recursive: true, force: true });
      await rm(probeDir, { recursive: true, force: true });
    },
  };
  if (opts.controller === undefined || opts.controller === true) await h.startController();
  return h;
}

/** A pool running the probe algorithm (logs its runs to h.probeDir). */
export function probePool(h: Harness, name: string, spec: Record<string, unknown> = {}, gpus = 1): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'WorkerPool',
    metadata: { name, namespace: NS },
    spec: {
      minReplicas: 1,
      maxReplicas: 2,
      slotsPerWorker: 1,
      ackWaitSeconds: 6,
      scaleDownDelaySeconds: 600,
      permanentExitCodes: [3],
      jobDefaults: { timeoutSeconds: 60, retries: 2, backoff: { initialSeconds: 1, maxSeconds: 1, factor: 1 } },
      template: {
        spec: {
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: 'algorithm',
              image: 'visionq/probe:dev',
              command: [process.execPath, PROBE],
              env: [{ name: 'PROBE_DIR', value: h.probeDir }],
              resources: { requests: { cpu: '100m', memory: '64Mi', 'nvidia.com/gpu': String(gpus) }, limits: { 'nvidia.com/gpu': String(gpus) } },
            },
          ],
        },
      },
      ...spec,
    },
  };
}

export async function createPool(h: Harness, manifest: Record<string, unknown>): Promise<void> {
  await h.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'workerpools', body: manifest });
}

/** A job for a probe pool: runs durationSeconds (default 1). */
export function probeJob(name: string, pool: string, input: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'VisionJob',
    metadata: { name, namespace: NS },
    spec: { pool, input: { durationSeconds: 1, ...input }, ...spec },
  };
}

/** A job with exactly this input (sample pools). */
export function sampleJob(name: string, pool: string, input: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: 'VisionJob', metadata: { name, namespace: NS }, spec: { pool, input } };
}

export async function createJob(h: Harness, manifest: Record<string, unknown>): Promise<void> {
  await h.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'visionjobs', body: manifest });
}

export async function deleteJob(h: Harness, name: string): Promise<void> {
  await h.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'visionjobs', name });
}

export async function patchJob(h: Harness, name: string, body: Record<string, unknown>): Promise<void> {
  await h.custom.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, namespace: NS, plural: 'visionjobs', name, body },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

export function job(h: Harness, name: string): VisionJobObject | undefined {
  return h.jobs.store.get(`${NS}/${name}`);
}

export async function waitPhase(h: Harness, name: string, phase: string, timeoutMs = 30_000): Promise<VisionJobObject> {
  return waitFor(
    () => {
      const j = job(h, name);
      return j?.status?.phase === phase ? j : undefined;
    },
    { timeoutMs, intervalMs: 50, message: `${name} ${phase} (now ${JSON.stringify(job(h, name)?.status ?? null)})` },
  );
}

export async function waitAll(h: Harness, names: string[], phase: string, timeoutMs = 60_000): Promise<VisionJobObject[]> {
  return waitFor(
    () => {
      const js = names.map((n) => job(h, n));
      return js.every((j) => j?.status?.phase === phase) ? (js as VisionJobObject[]) : undefined;
    },
    {
      timeoutMs,
      intervalMs: 100,
      message: `${names.join(',')} ${phase}: ${names.map((n) => `${n}=${job(h, n)?.status?.phase}`).join(' ')}`,
    },
  );
}

export interface ProbeRun {
  job: string;
  attempt: number;
  start: number;
  end?: number;
  how?: 'end' | 'killed';
  pid: number;
  /** The worker pod the run was on. */
  pod?: string;
}

/** Runs as the algorithm saw them (start/end lines of $PROBE_DIR/runs.log). */
export async function probeRuns(h: Harness): Promise<ProbeRun[]> {
  let text = '';
  try {
    text = await readFile(join(h.probeDir, 'runs.log'), 'utf8');
  } catch {
    return [];
  }
  const runs = new Map<string, ProbeRun>();
  for (const line of text.split('\n')) {
    const [what, name, attempt, at, pid, pod] = line.split(' ');
    if (!what || !name || !pid) continue;
    const key = `${name}/${pid}`;
    if (what === 'start') runs.set(key, { job: name, attempt: Number(attempt), start: Number(at), pid: Number(pid), ...(pod && pod !== '-' ? { pod } : {}) });
    else {
      const r = runs.get(key);
      if (r) {
        r.end = Number(at);
        r.how = what as 'end' | 'killed';
      }
    }
  }
  return [...runs.values()];
}

/** The most runs alive at the same time (a run without an end is alive until now). */
export function maxConcurrent(runs: ProbeRun[]): number {
  const ev: Array<[number, number]> = [];
  for (const r of runs) ev.push([r.start, 1], [r.end ?? Date.now(), -1]);
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of ev) max = Math.max(max, (cur += d));
  return max;
}

export async function eventsOf(h: Harness, name: string): Promise<CoreV1Event[]> {
  const list = await h.core.listNamespacedEvent({ namespace: NS });
  return list.items.filter((e) => e.involvedObject?.kind === 'VisionJob' && e.involvedObject?.name === name);
}

export function condition(j: VisionJobObject | undefined, type: string) {
  return j?.status?.conditions?.find((c) => c.type === type);
}

/** Whether the jobs stream still holds the message with this sequence (read through the first controller's connection). */
export async function messageInStream(h: Harness, seq: number): Promise<boolean> {
  const { jsm } = h.controllers[0]!.ctx.nats.current()!;
  try {
    return (await jsm.streams.getMessage(JOBS_STREAM, { seq }))?.seq === seq;
  } catch {
    return false;
  }
}

export async function getPool(h: Harness, name: string): Promise<WorkerPoolObject> {
  return (await h.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'workerpools', name })) as WorkerPoolObject;
}

export async function patchPool(h: Harness, name: string, body: Record<string, unknown>): Promise<void> {
  await h.custom.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, namespace: NS, plural: 'workerpools', name, body },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

export function jobsOf(h: Harness, pool: string): VisionJobObject[] {
  return h.jobs.store.list().filter((j) => j.spec.pool === pool);
}

export async function waitAllSucceeded(h: Harness, names: string[], timeoutMs: number): Promise<VisionJobObject[]> {
  return waitFor(
    () => {
      const js = names.map((n) => h.jobs.store.get(`${NS}/${n}`));
      const bad = js.find((j) => j?.status?.phase === 'Failed' || j?.status?.phase === 'Cancelled');
      if (bad) throw new Error(`job ${bad.metadata.name} ended ${bad.status?.phase}: ${JSON.stringify(bad.status)}`);
      return js.every((j) => j?.status?.phase === 'Succeeded') ? (js as VisionJobObject[]) : undefined;
    },
    { timeoutMs, intervalMs: 100, message: `jobs ${names.join(',')} Succeeded` },
  );
}

/** The largest number of jobs whose [startTime, completionTime] overlap. */
export function maxConcurrentRuns(jobs: VisionJobObject[]): number {
  const ev: Array<[number, number]> = [];
  for (const j of jobs) {
    const s = Date.parse(j.status?.startTime ?? '');
    const e = Date.parse(j.status?.completionTime ?? '');
    if (!Number.isFinite(s) || !Number.isFinite(e)) continue;
    ev.push([s, 1], [e, -1]);
  }
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of ev) max = Math.max(max, (cur += d));
  return max;
}

export async function eventsFor(h: Harness, kind: string, name: string): Promise<CoreV1Event[]> {
  const list = await h.core.listNamespacedEvent({ namespace: NS });
  return list.items.filter((e) => e.involvedObject?.kind === kind && e.involvedObject?.name === name);
}

export async function nodes(h: Harness): Promise<V1Node[]> {
  return (await h.core.listNode()).items;
}

/** attempts / failures / disruptions with absent counters read as 0. */
export function counts(j: VisionJobObject): { phase?: string; attempts: number; failures: number; disruptions: number } {
  return { phase: j.status?.phase, attempts: j.status?.attempts ?? 0, failures: j.status?.failures ?? 0, disruptions: j.status?.disruptions ?? 0 };
}

/** The test-side name of a VisionJob as read back (the controller's own type). */
export type JobObject = VisionJobObject;

/** Who holds the controller's leader Lease ('' when nobody or unreadable). */
export async function leaseHolder(h: Harness, name = 'visionq-controller'): Promise<string> {
  try {
    const l = await h.sandbox.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name, namespace: NS });
    return l.spec?.holderIdentity ?? '';
  } catch {
    return '';
  }
}
