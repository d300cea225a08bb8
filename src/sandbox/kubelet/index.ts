import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Kubelet } from './kubelet.js';
import { componentLogger } from './logger.js';
import type { SimNodeSpec } from './node-object.js';
import type { KubeletServerTls } from './kubelet-server.js';

export type { SimNodeSpec } from './node-object.js';
export { GPU_RESOURCE, SIMULATED_LABEL, GPU_PRESENT_LABEL } from './node-object.js';

export interface KubeletHandle {
  addNode(n: SimNodeSpec): Promise<void>;
  removeNode(name: string): Promise<void>;
  /** Stops watching and kills every process it started (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
}

export interface StartKubeletOptions {
  kc: KubeConfig;
  nodes: SimNodeSpec[];
  /** Container logs go to `${podLogDir}/${namespace}/${pod}/${container}.log`. */
  podLogDir: string;
  /** Working directory of containers without spec.workingDir (the repo root). */
  defaultWorkingDir: string;
  logger?: Logger;
  /** Node status heartbeat; default 10 s. */
  heartbeatIntervalMs?: number;
  /** CrashLoopBackOff: first delay and cap; default 500 ms doubling to 10 s. */
  restartBackoff?: { initialMs: number; maxMs: number };
  /** Grace stop() gives processes between SIGTERM and SIGKILL; default 2 s. */
  stopGraceMs?: number;
  /** TLS material for the kubelet endpoint; a real apiserver proxies `kubectl logs` to it. */
  endpoint?: KubeletServerTls;
}

/**
 * Starts the process kubelet: registers the nodes and runs the containers of every pod
 * bound to them as local processes, talking to the API server only through its HTTP API.
 */
export async function startKubelet(opts: StartKubeletOptions): Promise<KubeletHandle> {
  const kubelet = new Kubelet({
    kc: opts.kc,
    podLogDir: opts.podLogDir,
    defaultWorkingDir: opts.defaultWorkingDir,
    logger: componentLogger(opts.logger, 'kubelet'),
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 10_000,
    restartBackoff: opts.restartBackoff ?? { initialMs: 500, maxMs: 10_000 },
    stopGraceMs: opts.stopGraceMs ?? 2_000,
    endpoint: opts.endpoint,
  });
  await kubelet.start();
  try {
    for (const n of opts.nodes) await kubelet.addNode(n);
  } catch (err) {
    await kubelet.stop();
    throw err;
  }
  return {
    addNode: (n) => kubelet.addNode(n),
    removeNode: (name) => kubelet.removeNode(name),
    stop: () => kubelet.stop(),
  };
}
