import type { V1Pod } from '@kubernetes/client-node';
import { parseQuantityMilli } from '../scheduler/quantity.js';

/** The pod's QoS class, as the API server computes it for status.qosClass. */
export function qosClass(pod: V1Pod): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      if (req[r] !== undefined || lim[r] !== undefined) any = true;
      const l = lim[r];
      const q = req[r] ?? l;
      if (l === undefined || q === undefined || parseQuantityMilli(q) !== parseQuantityMilli(l)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
