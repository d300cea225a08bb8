import type { V1Pod } from '@kubernetes/client-node';

export const SAFE_TO_EVICT = 'cluster-autoscaler.kubernetes.io/safe-to-evict';

/** Pods the cluster autoscaler ignores when draining (they would come back anyway). */
export function isDaemonSetPod(pod: V1Pod): boolean {
  return (pod.metadata?.ownerReferences ?? []).some((o) => o.controller && o.kind === 'DaemonSet');
}

/**
 * Why the cluster autoscaler may not evict this pod, or undefined when it may:
 * safe-to-evict "false" always blocks; a pod no controller would recreate blocks unless
 * annotated safe-to-evict "true" (the real autoscaler's NotReplicated rule).
 */
export function evictionBlocker(pod: V1Pod): string | undefined {
  const ann = pod.metadata?.annotations?.[SAFE_TO_EVICT];
  const ref = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  if (ann === 'false') return `pod ${ref} is annotated ${SAFE_TO_EVICT}=false`;
  if (ann === 'true') return undefined;
  const controlled = (pod.metadata?.ownerReferences ?? []).some((o) => o.controller);
  if (!controlled) return `pod ${ref} is not replicated (no controller owner)`;
  return undefined;
}
