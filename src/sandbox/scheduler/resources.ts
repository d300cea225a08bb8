import type { V1Container, V1Node, V1Pod } from '@kubernetes/client-node';
import { parseQuantityMilli } from './quantity.js';

/** Resource name -> amount in thousandths (see parseQuantityMilli). */
export type ResourceList = Map<string, number>;

export const PODS = 'pods';

function containerRequests(c: V1Container): ResourceList {
  const out: ResourceList = new Map();
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  // The API server defaults a missing request to the limit; extended resources like
  // nvidia.com/gpu are often given only as limits.
  for (const name of new Set([...Object.keys(req), ...Object.keys(lim)])) {
    const q = req[name] ?? lim[name];
    if (q !== undefined) out.set(name, parseQuantityMilli(q));
  }
  return out;
}

/**
 * The pod's effective request, as the scheduler computes it: the sum over containers,
 * raised to the largest init container (they run one at a time, before the others),
 * plus overhead, plus one "pods" slot.
 */
export function podRequests(pod: V1Pod): ResourceList {
  const sum: ResourceList = new Map();
  for (const c of pod.spec?.containers ?? []) {
    for (const [k, v] of containerRequests(c)) sum.set(k, (sum.get(k) ?? 0) + v);
  }
  for (const c of pod.spec?.initContainers ?? []) {
    for (const [k, v] of containerRequests(c)) sum.set(k, Math.max(sum.get(k) ?? 0, v));
  }
  for (const [k, q] of Object.entries(pod.spec?.overhead ?? {})) {
    sum.set(k, (sum.get(k) ?? 0) + parseQuantityMilli(q));
  }
  sum.set(PODS, 1000);
  return sum;
}

export function nodeAllocatable(node: V1Node): ResourceList {
  const out: ResourceList = new Map();
  const alloc = node.status?.allocatable ?? node.status?.capacity ?? {};
  for (const [k, q] of Object.entries(alloc)) out.set(k, parseQuantityMilli(q));
  return out;
}

export function addInto(target: ResourceList, add: ResourceList): void {
  for (const [k, v] of add) target.set(k, (target.get(k) ?? 0) + v);
}

export function subtractFrom(target: ResourceList, sub: ResourceList): void {
  for (const [k, v] of sub) target.set(k, (target.get(k) ?? 0) - v);
}

/** Resource names the request asks for more of than `free` has, in a stable order. */
export function insufficient(request: ResourceList, free: ResourceList): string[] {
  const out: string[] = [];
  for (const [k, v] of request) {
    if (v > 0 && v > (free.get(k) ?? 0)) out.push(k);
  }
  return out.sort();
}

/** True when a pod no longer holds node resources. */
export function isTerminal(pod: V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}
