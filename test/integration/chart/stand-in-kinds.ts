/**
 * The sandbox API server serves the kinds visionq itself uses (pods, events,
 * leases, services, ...), not apps/v1, rbac.authorization.k8s.io/v1 or policy/v1.
 * To install the chart there, those kinds are registered as schemaless CRDs: the
 * sandbox then stores and serves them like any resource (no Deployment controller,
 * no RBAC enforcement: the test runs the controller from the stored Deployment
 * itself).
 */
import { ApiextensionsV1Api, type KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';

const KINDS: [group: string, plural: string, kind: string, namespaced: boolean][] = [
  ['apps', 'deployments', 'Deployment', true],
  ['rbac.authorization.k8s.io', 'clusterroles', 'ClusterRole', false],
  ['rbac.authorization.k8s.io', 'clusterrolebindings', 'ClusterRoleBinding', false],
  ['rbac.authorization.k8s.io', 'roles', 'Role', true],
  ['rbac.authorization.k8s.io', 'rolebindings', 'RoleBinding', true],
  ['policy', 'poddisruptionbudgets', 'PodDisruptionBudget', true],
];

export async function registerStandInKinds(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  for (const [group, plural, kind, namespaced] of KINDS) {
    const body: V1CustomResourceDefinition = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.${group}` },
      spec: {
        group,
        scope: namespaced ? 'Namespaced' : 'Cluster',
        names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
          },
        ],
      },
    };
    await api.createCustomResourceDefinition({ body });
  }
}
