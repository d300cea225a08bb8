import type { V1Node, V1NodeSelectorRequirement, V1Pod, V1Taint, V1Toleration } from '@kubernetes/client-node';
import { insufficient, PODS, type ResourceList } from './resources.js';

export const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';
export const UNSCHEDULABLE_TAINT = 'node.kubernetes.io/unschedulable';

export function isNodeReady(node: V1Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function tolerates(tol: V1Toleration, taint: V1Taint): boolean {
  if (tol.effect && tol.effect !== taint.effect) return false;
  if (!tol.key) return tol.operator === 'Exists';
  if (tol.key !== taint.key) return false;
  if (tol.operator === 'Exists') return true;
  return (tol.value ?? '') === (taint.value ?? '');
}

export function toleratesAll(pod: V1Pod, taints: V1Taint[]): V1Taint | undefined {
  const tols = pod.spec?.tolerations ?? [];
  return taints.find(
    (t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tols.some((tol) => tolerates(tol, t)),
  );
}

function matchRequirement(req: V1NodeSelectorRequirement, value: string | undefined): boolean {
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(values[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(values[0]);
    default:
      return false;
  }
}

/** nodeSelector and required node affinity (terms ORed, expressions ANDed). */
export function matchesNodeSelector(pod: V1Pod, node: V1Node): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) {
    if (labels[k] !== v) return false;
  }
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms || terms.length === 0) return true;
  return terms.some((term) => {
    const exprs = term.matchExpressions ?? [];
    const fields = term.matchFields ?? [];
    if (exprs.length === 0 && fields.length === 0) return false;
    return (
      exprs.every((r) => matchRequirement(r, labels[r.key])) &&
      fields.every((r) => matchRequirement(r, r.key === 'metadata.name' ? node.metadata?.name : undefined))
    );
  });
}

/** The node's taints plus the ones the node lifecycle controller would add. */
export function effectiveTaints(node: V1Node): V1Taint[] {
  const taints = [...(node.spec?.taints ?? [])];
  if (!isNodeReady(node)) taints.push({ key: NOT_READY_TAINT, effect: 'NoSchedule' });
  return taints;
}

/**
 * Why `pod` cannot go on `node` given the node's free resources, in the words of the
 * kube-scheduler's filter plugins (first failing plugin wins, resources list all shortfalls).
 * Empty when it fits.
 */
export function unfitReasons(pod: V1Pod, node: V1Node, request: ResourceList, free: ResourceList): string[] {
  if (node.spec?.unschedulable) {
    const tol = (pod.spec?.tolerations ?? []).some((t) =>
      tolerates(t, { key: UNSCHEDULABLE_TAINT, effect: 'NoSchedule' }),
    );
    if (!tol) return ['node(s) were unschedulable'];
  }
  const untolerated = toleratesAll(pod, effectiveTaints(node));
  if (untolerated) return [`node(s) had untolerated taint {${untolerated.key}: ${untolerated.value ?? ''}}`];
  if (!matchesNodeSelector(pod, node)) return ["node(s) didn't match Pod's node affinity/selector"];
  return insufficient(request, free).map((r) => (r === PODS ? 'Too many pods' : `Insufficient ${r}`));
}

/** "0/2 nodes are available: 2 Insufficient nvidia.com/gpu." */
export function unschedulableMessage(totalNodes: number, reasonsPerNode: string[][]): string {
  if (totalNodes === 0) return 'no nodes available to schedule pods';
  const counts = new Map<string, number>();
  for (const reasons of reasonsPerNode) {
    for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  const parts = [...counts].map(([r, n]) => `${n} ${r}`).sort();
  return `0/${totalNodes} nodes are available: ${parts.join(', ')}.`;
}
