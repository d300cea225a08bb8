import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { loadKubeConfig } from '../../../src/kube/kube-clients.js';
import { startSandboxApi, type SandboxApi } from '../../helpers/sandbox-api.js';
import { startKubelet, type KubeletHandle, type SimNodeSpec } from '../../../src/sandbox/kubelet/index.js';
import { startScheduler } from '../../../src/sandbox/scheduler/index.js';
import { startAutoscaler, type StartAutoscalerOptions } from '../../../src/sandbox/autoscaler/index.js';

export interface Cluster {
  api: SandboxApi;
  kc: KubeConfig;
  core: CoreV1Api;
  kubelet: KubeletHandle;
  podLogDir: string;
  /** Scratch dir for files the test pods write. */
  work: string;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  nodes: SimNodeSpec[];
  autoscaler?: Omit<StartAutoscalerOptions, 'kc' | 'kubelet'>;
}

/** API server + scheduler + kubelet (+ autoscaler), each a real HTTP client of the server. */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const api = await startSandboxApi();
  const work = await mkdtemp(join(tmpdir(), 'visionq-sandbox-nodes-'));
  const podLogDir = join(api.dir, 'pod-logs');
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s();
    await api.cleanup();
    await rm(work, { recursive: true, force: true });
  };
  // startSandboxApi's kc lacks skipTLSVerify, which client-node 2.x needs for plain http.
  const kc = loadKubeConfig(api.kubeconfigPath);
  // Faults make the components warn on purpose; LOG_LEVEL=debug shows everything.
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'error' });
  try {
    const scheduler = await startScheduler({ kc, logger });
    stops.push(() => scheduler.stop());
    const kubelet = await startKubelet({
      kc,
      nodes: opts.nodes,
      podLogDir,
      defaultWorkingDir: work,
      restartBackoff: { initialMs: 100, maxMs: 1_000 },
      stopGraceMs: 500,
      logger,
    });
    stops.push(() => kubelet.stop());
    if (opts.autoscaler) {
      const autoscaler = await startAutoscaler({ kc, kubelet, logger, ...opts.autoscaler });
      stops.push(() => autoscaler.stop());
    }
    return { api, kc, core: kc.makeApiClient(CoreV1Api), kubelet, podLogDir, work, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

let seq = 0;
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${++seq}`;
}

export function shPod(name: string, script: string, extra: Partial<V1Pod['spec']> = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      restartPolicy: 'Never',
      containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', script] }],
      ...extra,
    },
  };
}

export function gpuPod(name: string, gpus = 1, annotations?: Record<string, string>): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', annotations },
    spec: {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'main',
          image: 'worker',
          command: ['sh', '-c', 'sleep 600'],
          resources: { limits: { 'nvidia.com/gpu': String(gpus) } },
        },
      ],
      terminationGracePeriodSeconds: 1,
    },
  };
}

export async function readPod(core: CoreV1Api, name: string): Promise<V1Pod | undefined> {
  try {
    return await core.readNamespacedPod({ name, namespace: 'default' });
  } catch {
    return undefined;
  }
}

/** Whether pid is a live process; a zombie (killed, not yet reaped by init) counts as dead. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`not a pid: ${pid}`);
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
