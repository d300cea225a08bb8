import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeletHandle, SimNodeSpec } from '../kubelet/index.js';
import { componentLogger } from '../kubelet/logger.js';
import { Autoscaler } from './autoscaler.js';

export { AUTOSCALED_LABEL } from './autoscaler.js';
export { SAFE_TO_EVICT } from './pod-eviction.js';

export interface StartAutoscalerOptions {
  kc: KubeConfig;
  kubelet: KubeletHandle;
  nodeTemplate: Omit<SimNodeSpec, 'name'>;
  /** Upper bound on all nodes of the cluster, initial ones included. */
  maxNodes: number;
  /** Simulated boot time of a new node. */
  provisionDelayMs: number;
  /** How long a removable node must stay unneeded before it goes. */
  scaleDownUnneededMs: number;
  logger?: Logger;
  /** Periodic re-evaluation; default a fifth of the shorter delay, within [100 ms, 10 s]. */
  scanIntervalMs?: number;
  /** Nodes busier than this (requests / allocatable) are needed; default 0.5 as in the real one. */
  utilizationThreshold?: number;
  /** Names in events; default "visionq-sandbox-gpu". */
  nodeGroup?: string;
  /** New node names are this plus 6 hex digits; default "sim-autoscaled-". */
  namePrefix?: string;
}

/** Starts the simulated cluster-autoscaler (it adds and removes nodes through the kubelet handle). */
export async function startAutoscaler(opts: StartAutoscalerOptions): Promise<{ stop(): Promise<void> }> {
  const autoscaler = new Autoscaler({
    kc: opts.kc,
    kubelet: opts.kubelet,
    nodeTemplate: opts.nodeTemplate,
    maxNodes: opts.maxNodes,
    provisionDelayMs: opts.provisionDelayMs,
    scaleDownUnneededMs: opts.scaleDownUnneededMs,
    logger: componentLogger(opts.logger, 'autoscaler'),
    scanIntervalMs:
      opts.scanIntervalMs ?? Math.min(10_000, Math.max(100, Math.min(opts.provisionDelayMs, opts.scaleDownUnneededMs) / 5)),
    utilizationThreshold: opts.utilizationThreshold ?? 0.5,
    nodeGroup: opts.nodeGroup ?? 'visionq-sandbox-gpu',
    namePrefix: opts.namePrefix ?? 'sim-autoscaled-',
  });
  await autoscaler.start();
  return { stop: () => autoscaler.stop() };
}
