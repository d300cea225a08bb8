import type { ResourceInfo } from './resource-registry.js';

function res(
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<ResourceInfo> = {},
): ResourceInfo {
  return {
    group,
    version,
    plural,
    singular: kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced,
    shortNames: [],
    categories: [],
    statusSubresource: false,
    extraSubresources: [],
    storage: true,
    ...extra,
  };
}

/** The built-in kinds the sandbox serves. */
export function builtinResources(): ResourceInfo[] {
  return [
    res('', 'v1', 'namespaces', 'Namespace', false, { shortNames: ['ns'], statusSubresource: true }),
    res('', 'v1', 'pods', 'Pod', true, {
      shortNames: ['po'],
      categories: ['all'],
      statusSubresource: true,
      extraSubresources: ['log', 'binding'],
    }),
    res('', 'v1', 'bindings', 'Binding', true, { verbs: ['create'] }),
    res('', 'v1', 'nodes', 'Node', false, { shortNames: ['no'], statusSubresource: true }),
    res('', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
    res('', 'v1', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
    res('', 'v1', 'secrets', 'Secret', true),
    res('', 'v1', 'serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
    res('', 'v1', 'services', 'Service', true, { shortNames: ['svc'], categories: ['all'], statusSubresource: true }),
    res('coordination.k8s.io', 'v1', 'leases', 'Lease', true),
    res('events.k8s.io', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
    res('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false, {
      shortNames: ['crd', 'crds'],
      categories: ['api-extensions'],
      statusSubresource: true,
    }),
  ];
}
