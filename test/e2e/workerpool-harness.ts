/**
 * Shared set-up of the WorkerPool end-to-end tests: the whole sandbox (API server with the CRDs,
 * nats-server, scheduler, process kubelet, simulated autoscaler) plus the controller in-process,
 * and a pod recorder that sees every worker pod ever created (for "never more than N").
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, type CoreV1Event, type V1Node, type V1Pod } from '@kubernetes/client-node';
import pino from 'pino';
import { Informer } from '../../src/kube/informer.js';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/sandbox.js';
import { packageRoot } from '../../src/sandbox/package-root.js';
import { startController } from '../../src/controller/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { GROUP, NS, VERSION } from './workerpool-fixtures.js';

export { GROUP, NS, VERSION, poolManifest } from './workerpool-fixtures.js';


/** The agent runs from source through tsx: no build needed before the tests. */
export const AGENT_COMMAND = [process.execPath, '--import', 'tsx', join(packageRoot, 'src/agent/main.ts')];

export interface JobObject {
  metadata: { name: string; namespace: string; uid: string };
  spec: { pool: string; input?: Record<string, unknown> };
  status?: {
    phase?: string;
    attempts?: number;
    failures?: number;
    disruptions?: number;
    startTime?: string;
    completionTime?: string;
    queuedAt?: string;
    currentAttempt?: { pod?: string; node?: string; startedAt?: string };
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
  };
}

export interface PoolObject {
  metadata: { name: string; namespace: string; generation?: number };
  spec: Record<string, unknown>;
  status?: {
    replicas?: number;
    ready?: number;
    busy?: number;
    idle?: number;
    pending?: number;
    queued?: number;
    running?: number;
    observedGeneration?: number;
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
  };
}

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
  core: CoreV1Api;
  custom: CustomObjectsApi;
  pods: PodRecorder;
  jobs: Informer<JobObject & { apiVersion?: string; kind?: string }>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  nodes: number;
  maxNodes?: number;
  gpusPerNode?: number;
  nodeProvisionSeconds?: number;
  nodeScaleDownSeconds?: number;
}

export async function startHarness(opts: HarnessOptions): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'visionq-wp-e2e-'));
  const logger = pino({ level: process.env.VISIONQ_TEST_LOG ?? 'silent' });
  const sandbox = await startSandbox({
    dir,
    nodes: opts.nodes,
    gpusPerNode: opts.gpusPerNode ?? 1,
    maxNodes: opts.maxNodes ?? opts.nodes,
    nodeProvisionSeconds: opts.nodeProvisionSeconds ?? 1,
    nodeScaleDownSeconds: opts.nodeScaleDownSeconds ?? 2,
    logger,
    startController: (env) =>
      startController({
        kubeconfig: env.kubeconfigPath,
        natsUrl: env.natsUrl,
        logger,
        settings: { natsUrlForWorkers: env.natsUrl, agentCommand: AGENT_COMMAND },
      }),
  });
  const core = sandbox.kc.makeApiClient(CoreV1Api);
  const custom = sandbox.kc.makeApiClient(CustomObjectsApi);
  const pods = new PodRecorder(sandbox);
  pods.informer.start();
  const jobs = new Informer<JobObject & { apiVersion?: string; kind?: string }>({ kc: sandbox.kc, path: `/apis/${GROUP}/${VERSION}/visionjobs`, name: 'test-jobs' });
  jobs.start();
  await Promise.all([pods.informer.waitForSync(), jobs.waitForSync()]);
  return {
    sandbox,
    core,
    custom,
    pods,
    jobs,
    async stop() {
      await pods.informer.stop();
      await jobs.stop();
      await sandbox.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function createPool(h: Harness, manifest: Record<string, unknown>): Promise<void> {
  await h.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'workerpools', body: manifest });
}

export async function getPool(h: Harness, name: string): Promise<PoolObject> {
  return (await h.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'workerpools', name })) as PoolObject;
}

export async function patchPool(h: Harness, name: string, body: Record<string, unknown>): Promise<void> {
  const { PatchStrategy, setHeaderOptions } = await import('@kubernetes/client-node');
  await h.custom.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, namespace: NS, plural: 'workerpools', name, body },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

export async function createJob(h: Harness, name: string, pool: string, input: Record<string, unknown>): Promise<void> {
  await h.custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: NS,
    plural: 'visionjobs',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'VisionJob', metadata: { name, namespace: NS }, spec: { pool, input } },
  });
}

export function jobsOf(h: Harness, pool: string): JobObject[] {
  return h.jobs.store.list().filter((j) => j.spec.pool === pool);
}

export async function waitAllSucceeded(h: Harness, names: string[], timeoutMs: number): Promise<JobObject[]> {
  return waitFor(
    () => {
      const js = names.map((n) => h.jobs.store.get(`${NS}/${n}`));
      const bad = js.find((j) => j?.status?.phase === 'Failed' || j?.status?.phase === 'Cancelled');
      if (bad) throw new Error(`job ${bad.metadata.name} ended ${bad.status?.phase}: ${JSON.stringify(bad.status)}`);
      return js.every((j) => j?.status?.phase === 'Succeeded') ? (js as JobObject[]) : undefined;
    },
    { timeoutMs, intervalMs: 100, message: `jobs ${names.join(',')} Succeeded` },
  );
}

/** The largest number of jobs whose [startTime, completionTime] overlap. */
export function maxConcurrentRuns(jobs: JobObject[]): number {
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
export function counts(j: JobObject): { phase?: string; attempts: number; failures: number; disruptions: number } {
  return { phase: j.status?.phase, attempts: j.status?.attempts ?? 0, failures: j.status?.failures ?? 0, disruptions: j.status?.disruptions ?? 0 };
}
