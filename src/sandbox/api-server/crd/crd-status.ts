import { invalid, type StatusCause } from '../errors.js';
import { nowTimestamp } from '../storage/object-meta.js';
import type { KubeObject } from '../storage/store.js';

/** Fills a CRD's status the way the apiextensions controllers do once names are accepted. */
export function prepareCrd(crd: KubeObject, clock: () => Date): void {
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  const causes: StatusCause[] = [];
  if (!spec.group) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.group' });
  if (!names.plural) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.names.plural' });
  if (!names.kind) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.names.kind' });
  if (!Array.isArray(spec.versions) || spec.versions.length === 0) causes.push({ reason: 'FieldValueRequired', message: 'Required value: must have exactly one version marked as storage version', field: 'spec.versions' });
  if (!['Namespaced', 'Cluster'].includes(spec.scope)) causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: "${spec.scope}": supported values: "Cluster", "Namespaced"`, field: 'spec.scope' });
  if (names.plural && spec.group && crd.metadata.name !== `${names.plural}.${spec.group}`) {
    causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${crd.metadata.name}": must be spec.names.plural+"."+spec.group`, field: 'metadata.name' });
  }
  const storageVersions = (spec.versions ?? []).filter((v: any) => v.storage);
  if (Array.isArray(spec.versions) && spec.versions.length > 0 && storageVersions.length !== 1) {
    causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: must have exactly one version marked as storage version', field: 'spec.versions' });
  }
  if (causes.length > 0) throw invalid('apiextensions.k8s.io', 'CustomResourceDefinition', crd.metadata.name, causes);
  names.singular ??= String(names.kind).toLowerCase();
  names.listKind ??= `${names.kind}List`;
  spec.names = names;
  const ts = crd.status?.conditions?.[0]?.lastTransitionTime ?? nowTimestamp(clock);
  const stored: string[] = crd.status?.storedVersions ?? [];
  const storageName = storageVersions[0].name;
  crd.status = {
    acceptedNames: structuredClone(names),
    conditions: [
      { type: 'NamesAccepted', status: 'True', lastTransitionTime: ts, reason: 'NoConflicts', message: 'no conflicts found' },
      { type: 'Established', status: 'True', lastTransitionTime: ts, reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
    ],
    storedVersions: stored.includes(storageName) ? stored : [...stored, storageName],
  };
}
