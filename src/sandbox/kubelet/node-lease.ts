import { PatchStrategy, setHeaderOptions, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { isConflict, isNotFound } from '../../kube/index.js';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const LEASE_DURATION_SECONDS = 40;

/** RFC 3339 with microseconds, the MicroTime format Lease.spec.renewTime uses. */
function microNow(): string {
  return new Date().toISOString().replace(/Z$/, '000Z');
}

/**
 * The node heartbeat real kubelets use: a Lease named after the node in kube-node-lease,
 * renewed every few seconds and owned by the Node (so it goes when the Node goes).
 */
export async function renewNodeLease(coord: CoordinationV1Api, node: { name: string; uid?: string }): Promise<void> {
  const name = node.name;
  try {
    await coord.patchNamespacedLease(
      { name, namespace: NODE_LEASE_NAMESPACE, body: { spec: { holderIdentity: name, renewTime: microNow() } } },
      MERGE_PATCH,
    );
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const body: V1Lease = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name,
      namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: node.uid ? [{ apiVersion: 'v1', kind: 'Node', name, uid: node.uid }] : undefined,
    },
    spec: {
      holderIdentity: name,
      leaseDurationSeconds: LEASE_DURATION_SECONDS,
      renewTime: microNow() as unknown as Date,
    },
  };
  try {
    await coord.createNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, body });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}
