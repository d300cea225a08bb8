import type { ResourceInfo, ResourceRegistry } from '../resource-registry.js';
import { storageKey } from '../resource-registry.js';
import type { KubeObject, ObjectStore } from '../storage/store.js';

/** The served resources of a CRD: one per served version. */
export function resourcesForCrd(crd: KubeObject): ResourceInfo[] {
  const spec = crd.spec;
  const names = spec.names;
  return (spec.versions ?? [])
    .filter((v: any) => v.served !== false)
    .map(
      (v: any): ResourceInfo => ({
        group: spec.group,
        version: v.name,
        plural: names.plural,
        singular: names.singular ?? String(names.kind).toLowerCase(),
        kind: names.kind,
        listKind: names.listKind ?? `${names.kind}List`,
        namespaced: spec.scope === 'Namespaced',
        shortNames: names.shortNames ?? [],
        categories: names.categories ?? [],
        statusSubresource: v.subresources?.status !== undefined && v.subresources?.status !== null,
        extraSubresources: [],
        crdName: crd.metadata.name,
        printerColumns: v.additionalPrinterColumns,
        schema: v.schema?.openAPIV3Schema,
        storage: !!v.storage,
      }),
    );
}

/** Starts and stops serving custom resources as CRDs come and go. */
export function wireCrdServing(store: ObjectStore, registry: ResourceRegistry): (crd: KubeObject, deleted: boolean) => void {
  return (crd, deleted) => {
    const group = crd.spec?.group;
    const plural = crd.spec?.names?.plural;
    if (!group || !plural) return;
    if (deleted) {
      registry.removeAll(group, plural);
      // The CRD's instances go with it (the real server waits for their finalizers; the sandbox does not).
      const key = storageKey(group, plural);
      for (const obj of store.list(key)) store.remove(key, obj.metadata.namespace, obj.metadata.name);
      return;
    }
    registry.replaceCrd(group, plural, resourcesForCrd(crd));
  };
}
