import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { isNodeReady, unfitReasons } from '../scheduler/node-fit.js';
import { freeOnNode, safeRequests, usageByNode } from '../scheduler/node-usage.js';
import { isTerminal, subtractFrom, type ResourceList } from '../scheduler/resources.js';

export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

/** A node in a what-if simulation: its object and the free room left after simulated placements. */
export interface SimBin {
  node: V1Node;
  free: ResourceList;
}

export function isUsableNode(node: V1Node): boolean {
  return (
    isNodeReady(node) &&
    !node.spec?.unschedulable &&
    !node.metadata?.deletionTimestamp &&
    !(node.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT)
  );
}

export function binsFor(nodes: V1Node[], pods: V1Pod[]): SimBin[] {
  const used = usageByNode(pods);
  return nodes.map((node) => ({ node, free: freeOnNode(node, used.get(node.metadata?.name ?? '')) }));
}

/** First fit: places the pod in the first bin with room (reserving it), returns that bin. */
export function placeFirstFit(pod: V1Pod, bins: SimBin[]): SimBin | undefined {
  const req = safeRequests(pod);
  const bin = bins.find((b) => unfitReasons(pod, b.node, req, b.free).length === 0);
  if (bin) subtractFrom(bin.free, req);
  return bin;
}

export function activePodsOn(nodeName: string, pods: V1Pod[]): V1Pod[] {
  return pods.filter((p) => p.spec?.nodeName === nodeName && !isTerminal(p));
}

/** Pods waiting for a node, as the scheduler left them (PodScheduled=False, Unschedulable). */
export function isUnschedulable(pod: V1Pod): boolean {
  if (pod.spec?.nodeName || pod.metadata?.deletionTimestamp || isTerminal(pod)) return false;
  return (pod.status?.conditions ?? []).some(
    (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
  );
}

export function isPendingUnbound(pod: V1Pod): boolean {
  return !pod.spec?.nodeName && !pod.metadata?.deletionTimestamp && !isTerminal(pod);
}
