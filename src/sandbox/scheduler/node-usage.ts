import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { addInto, isTerminal, nodeAllocatable, podRequests, subtractFrom, type ResourceList } from './resources.js';

/** Sum of the requests of the non-terminal pods bound to each node. */
export function usageByNode(pods: Iterable<V1Pod>, extra: Iterable<{ node: string; request: ResourceList }> = []): Map<string, ResourceList> {
  const used = new Map<string, ResourceList>();
  const add = (node: string, req: ResourceList): void => {
    let u = used.get(node);
    if (!u) used.set(node, (u = new Map()));
    addInto(u, req);
  };
  for (const pod of pods) {
    const node = pod.spec?.nodeName;
    if (!node || isTerminal(pod)) continue;
    add(node, safeRequests(pod));
  }
  for (const e of extra) add(e.node, e.request);
  return used;
}

export function freeOnNode(node: V1Node, used: ResourceList | undefined): ResourceList {
  const free = nodeAllocatable(node);
  if (used) subtractFrom(free, used);
  return free;
}

/** podRequests, treating an unparsable quantity as zero (the API server would have rejected it). */
export function safeRequests(pod: V1Pod): ResourceList {
  try {
    return podRequests(pod);
  } catch {
    return new Map([['pods', 1000]]);
  }
}

/**
 * NodeResourcesLeastAllocated-style score in [0, 1]: the mean free fraction, after placing
 * the pod, over cpu, memory and every extended resource the pod asks for.
 */
export function leastAllocatedScore(request: ResourceList, free: ResourceList, alloc: ResourceList): number {
  const names = new Set(['cpu', 'memory', ...[...request.keys()].filter((k) => k !== 'pods')]);
  let sum = 0;
  let n = 0;
  for (const r of names) {
    const cap = alloc.get(r) ?? 0;
    if (cap <= 0) continue;
    sum += Math.max(0, (free.get(r) ?? 0) - (request.get(r) ?? 0)) / cap;
    n++;
  }
  return n === 0 ? 0 : sum / n;
}
