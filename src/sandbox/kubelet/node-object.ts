import type { V1Node, V1NodeStatus } from '@kubernetes/client-node';
import { KUBE_VERSION } from '../control-plane/kube-binaries.js';

export interface SimNodeSpec {
  name: string;
  /** CPU capacity as a quantity, e.g. "8". */
  cpu: string;
  /** Memory capacity as a quantity, e.g. "32Gi". */
  memory: string;
  gpus: number;
  labels?: Record<string, string>;
}

export const SIMULATED_LABEL = 'visionq.dev/simulated';
export const GPU_PRESENT_LABEL = 'nvidia.com/gpu.present';
export const GPU_RESOURCE = 'nvidia.com/gpu';
export const MAX_PODS = '110';
export const NODE_IP = '127.0.0.1';

export function nodeLabels(spec: SimNodeSpec): Record<string, string> {
  return {
    'kubernetes.io/hostname': spec.name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
    [SIMULATED_LABEL]: 'true',
    ...(spec.gpus > 0 ? { [GPU_PRESENT_LABEL]: 'true' } : {}),
    ...(spec.labels ?? {}),
  };
}

export function nodeResources(spec: SimNodeSpec): Record<string, string> {
  const r: Record<string, string> = { cpu: spec.cpu, memory: spec.memory, pods: MAX_PODS };
  if (spec.gpus > 0) r[GPU_RESOURCE] = String(spec.gpus);
  return r;
}

export function nodeStatus(spec: SimNodeSpec, since: string, heartbeat: string, kubeletPort = 0): V1NodeStatus {
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: heartbeat as unknown as Date,
    lastTransitionTime: since as unknown as Date,
  });
  return {
    capacity: nodeResources(spec),
    allocatable: nodeResources(spec),
    conditions: [
      cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
    ],
    addresses: [
      { type: 'InternalIP', address: NODE_IP },
      { type: 'Hostname', address: spec.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
    nodeInfo: {
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      bootID: '',
      containerRuntimeVersion: 'visionq-sandbox://1',
      kernelVersion: '',
      kubeProxyVersion: '',
      // The release the real tier runs, so version-skew checks see a supported kubelet.
      kubeletVersion: `${KUBE_VERSION}-visionq-sandbox`,
      machineID: spec.name,
      operatingSystem: 'linux',
      osImage: 'visionq sandbox (local processes)',
      systemUUID: spec.name,
    },
  };
}

export function nodeObject(spec: SimNodeSpec, now: string, kubeletPort = 0): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: spec.name, labels: nodeLabels(spec) },
    spec: { providerID: `visionq-sandbox://${spec.name}` },
    status: nodeStatus(spec, now, now, kubeletPort),
  };
}
