import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { nodeObject, type SimNodeSpec } from '../../../src/sandbox/kubelet/node-object.js';

export function node(name: string, spec: Partial<SimNodeSpec> = {}): V1Node {
  return nodeObject({ name, cpu: '8', memory: '32Gi', gpus: 1, ...spec }, '2026-01-01T00:00:00Z');
}

export function pod(name: string, opts: {
  gpus?: number;
  cpu?: string;
  node?: string;
  annotations?: Record<string, string>;
  owned?: boolean;
  phase?: string;
  nodeSelector?: Record<string, string>;
} = {}): V1Pod {
  const limits: Record<string, string> = {};
  if (opts.gpus) limits['nvidia.com/gpu'] = String(opts.gpus);
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      annotations: opts.annotations,
      ownerReferences: opts.owned === false ? undefined : [{ apiVersion: 'v1', kind: 'ReplicaSet', name: 'rs', uid: 'rs-uid', controller: true }],
    },
    spec: {
      nodeName: opts.node,
      nodeSelector: opts.nodeSelector,
      containers: [{ name: 'c', resources: { limits, requests: opts.cpu ? { cpu: opts.cpu } : undefined } }],
    },
    status: { phase: opts.phase ?? (opts.node ? 'Running' : 'Pending') },
  };
}
