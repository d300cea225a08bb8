import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { unfitReasons } from '../scheduler/node-fit.js';
import { nodeAllocatable } from '../scheduler/resources.js';
import { safeRequests } from '../scheduler/node-usage.js';
import { binsFor, isUsableNode, placeFirstFit, type SimBin } from './cluster-snapshot.js';

export interface ScaleUpInput {
  /** Pods the scheduler marked Unschedulable. */
  unschedulable: V1Pod[];
  nodes: V1Node[];
  pods: V1Pod[];
  /** Nodes requested but not registered yet. */
  upcoming: number;
  /** What a new node looks like (name irrelevant). */
  template: V1Node;
  maxNodes: number;
}

export interface ScaleUpPlan {
  newNodes: number;
  /** Pods that only fit on the new nodes (they get TriggeredScaleUp). */
  triggering: V1Pod[];
  /** Pods no new node can help, with the reason (they get NotTriggerScaleUp). */
  notHelped: { pod: V1Pod; reason: string }[];
}

function size(pod: V1Pod): number[] {
  const r = safeRequests(pod);
  return [r.get('nvidia.com/gpu') ?? 0, r.get('cpu') ?? 0, r.get('memory') ?? 0];
}

/**
 * The cluster autoscaler's scale-up simulation: pods that would fit in room the cluster
 * already has (including nodes still being provisioned) need nothing; the rest are packed
 * first-fit-decreasing onto fresh template nodes, never beyond maxNodes in total. Counting
 * upcoming nodes is what keeps it from over-provisioning while a node boots.
 */
export function planScaleUp(input: ScaleUpInput): ScaleUpPlan {
  const existing = binsFor(input.nodes.filter(isUsableNode), input.pods);
  const templateFree = nodeAllocatable(input.template);
  const upcoming: SimBin[] = Array.from({ length: input.upcoming }, () => ({ node: input.template, free: new Map(templateFree) }));
  const fresh: SimBin[] = [];
  const plan: ScaleUpPlan = { newNodes: 0, triggering: [], notHelped: [] };
  const room = input.maxNodes - input.nodes.length - input.upcoming;
  const sorted = [...input.unschedulable].sort((a, b) => {
    const sa = size(a);
    const sb = size(b);
    return sb[0] - sa[0] || sb[1] - sa[1] || sb[2] - sa[2];
  });
  for (const pod of sorted) {
    const onTemplate = unfitReasons(pod, input.template, safeRequests(pod), new Map(templateFree));
    if (onTemplate.length > 0) {
      plan.notHelped.push({ pod, reason: onTemplate.join(', ') });
      continue;
    }
    if (placeFirstFit(pod, existing) || placeFirstFit(pod, upcoming)) continue;
    if (placeFirstFit(pod, fresh)) {
      plan.triggering.push(pod);
      continue;
    }
    if (fresh.length >= room) {
      plan.notHelped.push({ pod, reason: 'max node group size reached' });
      continue;
    }
    fresh.push({ node: input.template, free: new Map(templateFree) });
    placeFirstFit(pod, fresh);
    plan.triggering.push(pod);
  }
  plan.newNodes = fresh.length;
  return plan;
}
