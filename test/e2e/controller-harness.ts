/**
 * Set-up shared by the controller end-to-end tests: the whole sandbox (API server with the CRDs,
 * nats-server, scheduler, process kubelet running worker pods with the real agent) and
 * controllers either in-process or as child processes (to SIGKILL a leader), plus real kubectl.
 * Jobs run test/e2e/fixtures/probe-algorithm.mjs, which logs its start/end to a temp dir.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type CoreV1Event } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Informer } from '../../src/kube/informer.js';
import { startController, type ControllerHandle, type StartControllerOptions } from '../../src/controller/index.js';
import type { VisionJobObject } from '../../src/controller/manager/context-types.js';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/sandbox.js';
import { packageRoot } from '../../src/sandbox/package-root.js';
import { JOBS_STREAM } from '../../src/queue/subjects.js';
import { waitFor } from '../helpers/wait-for.js';

export const GROUP = 'visionq.dev';
export const VERSION = 'v1alpha1';
export const NS = 'default';
export const AGENT_COMMAND = [process.execPath, '--import', 'tsx', join(packageRoot, 'src/agent/main.ts')];
const PROBE = 'test/e2e/fixtures/probe-algorithm.mjs';
const exec = promisify(execFile);

export interface Harness {
  sandbox: SandboxHandle;
  custom: CustomObjectsApi;
  core: CoreV1Api;
  /** The test's own view of the jobs (never the controller's cache). */
  jobs: Informer<VisionJobObject>;
  probeDir: string;
  controllers: ControllerHandle[];
  startController(extra?: Partial<StartControllerOptions>): Promise<ControllerHandle>;
  /** A controller in a child process (`src/controller/main.ts` through tsx by default), for SIGKILL. */
  spawnController(podName: string, args?: string[], entry?: string[]): ChildProcess;
  kubectl(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }>;
  stop(): Promise<void>;
}

export async function startHarness(opts: { nodes?: number; gpusPerNode?: number; controller?: boolean } = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'visionq-ctl-e2e-'));
  const probeDir = await mkdtemp(join(tmpdir(), 'visionq-probe-'));
  const logger = pino({ level: process.env.VISIONQ_TEST_LOG ?? 'silent' });
  const sandbox = await startSandbox({
    dir,
    nodes: opts.nodes ?? 2,
    gpusPerNode: opts.gpusPerNode ?? 2,
    maxNodes: opts.nodes ?? 2,
    nodeProvisionSeconds: 1,
    nodeScaleDownSeconds: 600,
    logger,
  });
  const controllers: ControllerHandle[] = [];
  const children: ChildProcess[] = [];
  const jobs = new Informer<VisionJobObject>({ kc: sandbox.kc, path: `/apis/${GROUP}/${VERSION}/visionjobs`, name: 'test-jobs' });
  jobs.start();
  await jobs.waitForSync();
  const h: Harness = {
    sandbox,
    custom: sandbox.kc.makeApiClient(CustomObjectsApi),
    core: sandbox.kc.makeApiClient(CoreV1Api),
    jobs,
    probeDir,
    controllers,
    async startController(extra = {}) {
      const c = await startController({
        kubeconfig: sandbox.kubeconfigPath,
        natsUrl: sandbox.natsUrl,
        logger,
        settings: { natsUrlForWorkers: sandbox.natsUrl, agentCommand: AGENT_COMMAND, cancelTimeoutMs: 15_000 },
        events: { progressMs: 500 },
        metricsPort: 0,
        healthPort: 0,
        ...extra,
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
          '--metrics-port',
          '0',
          '--health-port',
          '0',
          '--log-level',
          process.env.VISIONQ_TEST_LOG ?? 'warn',
          ...args,
        ],
        { cwd: packageRoot, env: { ...process.env, POD_NAME: podName, POD_NAMESPACE: NS }, stdio: ['ignore', 'inherit', 'inherit'] },
      );
      children.push(child);
      return child;
    },
    async kubectl(...args) {
      try {
        const r = await exec('/usr/bin/kubectl', ['--kubeconfig', sandbox.kubeconfigPath, ...args], { timeout: 60_000 });
        return { stdout: r.stdout, stderr: r.stderr, code: 0 };
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; code?: number };
        return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 };
      }
    },
    async stop() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(controllers.map((c) => c.stop()));
      await jobs.stop();
      await sandbox.stop();
      await rm(dir, { recursive: true, force: true });
      await rm(probeDir, { recursive: true, force: true });
    },
  };
  if (opts.controller !== false) await h.startController();
  return h;
}

export function poolManifest(h: Harness, name: string, spec: Record<string, unknown> = {}, gpus = 1): Record<string, unknown> {
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

export async function createPool(h: Harness, name: string, spec: Record<string, unknown> = {}, gpus = 1): Promise<void> {
  await h.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'workerpools', body: poolManifest(h, name, spec, gpus) });
}

export function jobManifest(name: string, pool: string, input: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'VisionJob',
    metadata: { name, namespace: NS },
    spec: { pool, input: { durationSeconds: 1, ...input }, ...spec },
  };
}

export async function createJob(h: Harness, name: string, pool: string, input: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): Promise<void> {
  await h.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'visionjobs', body: jobManifest(name, pool, input, spec) });
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
    const [what, name, attempt, at, pid] = line.split(' ');
    if (!what || !name || !pid) continue;
    const key = `${name}/${pid}`;
    if (what === 'start') runs.set(key, { job: name, attempt: Number(attempt), start: Number(at), pid: Number(pid) });
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
