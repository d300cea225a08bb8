import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { nodeAllocatable } from '../scheduler/resources.js';
import { freeOnNode, safeRequests, usageByNode } from '../scheduler/node-usage.js';
import { unfitReasons } from '../scheduler/node-fit.js';
import { activePodsOn, binsFor, isUsableNode, placeFirstFit } from './cluster-snapshot.js';
import { evictionBlocker, isDaemonSetPod } from './pod-eviction.js';

export interface ScaleDownInput {
  nodes: V1Node[];
  pods: V1Pod[];
  /** Nodes the autoscaler may remove (autoscaled, not being provisioned or removed). */
  candidates: string[];
  /** Pods waiting for a node: a node that could take one of them is still needed. */
  pending: V1Pod[];
  utilizationThreshold: number;
}

export interface ScaleDownPlan {
  /** Unneeded nodes and the pods that would have to move off each. */
  unneeded: Map<string, V1Pod[]>;
  /** Why each other candidate is needed. */
  needed: Map<string, string>;
}

/** Highest request/allocatable ratio, over GPUs for a GPU node, else over cpu and memory. */
export function utilization(node: V1Node, pods: V1Pod[]): number {
  const alloc = nodeAllocatable(node);
  const used = usageByNode(pods.filter((p) => !isDaemonSetPod(p))).get(node.metadata?.name ?? '') ?? new Map<string, number>();
  const gpus = alloc.get('nvidia.com/gpu') ?? 0;
  const names = gpus > 0 ? ['nvidia.com/gpu'] : ['cpu', 'memory'];
  return Math.max(0, ...names.map((r) => ((alloc.get(r) ?? 0) > 0 ? (used.get(r) ?? 0) / (alloc.get(r) ?? 1) : 0)));
}

/**
 * The cluster autoscaler's unneeded-node check: a candidate is unneeded when every pod on it
 * may be evicted and fits elsewhere (destinations never being other removals), its
 * utilisation is under the threshold, and no pending pod could use it.
 */
export function planScaleDown(input: ScaleDownInput): ScaleDownPlan {
  const plan: ScaleDownPlan = { unneeded: new Map(), needed: new Map() };
  const byName = new Map(input.nodes.map((n) => [n.metadata?.name ?? '', n]));
  const candidates = new Set(input.candidates);
  const bins = binsFor(input.nodes.filter((n) => isUsableNode(n) && !candidates.has(n.metadata?.name ?? '')), input.pods);
  const used = usageByNode(input.pods);
  for (const name of [...input.candidates].sort()) {
    const node = byName.get(name);
    if (!node) continue;
    const pods = activePodsOn(name, input.pods).filter((p) => !isDaemonSetPod(p));
    const blocker = pods.map((p) => (p.metadata?.deletionTimestamp ? `pod ${p.metadata.name} is terminating` : evictionBlocker(p))).find(Boolean);
    if (blocker) {
      plan.needed.set(name, blocker);
      continue;
    }
    const u = utilization(node, input.pods);
    if (u >= input.utilizationThreshold) {
      plan.needed.set(name, `utilization ${u.toFixed(2)} >= ${input.utilizationThreshold}`);
      continue;
    }
    const free = freeOnNode(node, used.get(name));
    const wanted = input.pending.find((p) => unfitReasons(p, node, safeRequests(p), free).length === 0);
    if (wanted) {
      plan.needed.set(name, `pending pod ${wanted.metadata?.namespace}/${wanted.metadata?.name} fits`);
      continue;
    }
    // Simulate the drain on a copy, committing it only if every pod finds a place.
    const trial = bins.map((b) => ({ node: b.node, free: new Map(b.free) }));
    const homeless = pods.find((p) => !placeFirstFit(p, trial));
    if (homeless) {
      plan.needed.set(name, `pod ${homeless.metadata?.namespace}/${homeless.metadata?.name} fits nowhere else`);
      continue;
    }
    trial.forEach((t, i) => (bins[i].free = t.free));
    plan.unneeded.set(name, pods);
  }
  return plan;
}
