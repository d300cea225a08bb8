import { createHash } from 'node:crypto';
import type { ResourceInfo, ResourceRegistry } from '../resource-registry.js';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/** Java-style reversed group names, like io.k8s.api.core.v1.Pod or com.example.v1.Widget. */
function schemaName(info: ResourceInfo): string {
  if (info.group === '') return `io.k8s.api.core.${info.version}.${info.kind}`;
  if (info.group.endsWith('.k8s.io')) {
    const g = info.group.slice(0, -'.k8s.io'.length);
    if (g === 'apiextensions') return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${info.version}.${info.kind}`;
    return `io.k8s.api.${g}.${info.version}.${info.kind}`;
  }
  return `${info.group.split('.').reverse().join('.')}.${info.version}.${info.kind}`;
}

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

function objectMetaSchema(): Record<string, unknown> {
  const str = { type: 'string' };
  return {
    description: 'ObjectMeta is metadata that all persisted resources must have.',
    type: 'object',
    properties: {
      name: str,
      generateName: str,
      namespace: str,
      uid: str,
      resourceVersion: str,
      generation: { type: 'integer', format: 'int64' },
      creationTimestamp: { type: 'string', format: 'date-time' },
      deletionTimestamp: { type: 'string', format: 'date-time' },
      deletionGracePeriodSeconds: { type: 'integer', format: 'int64' },
      labels: { type: 'object', additionalProperties: str },
      annotations: { type: 'object', additionalProperties: str },
      finalizers: { type: 'array', items: str, 'x-kubernetes-patch-strategy': 'merge' },
      ownerReferences: { type: 'array', items: { type: 'object', 'x-kubernetes-map-type': 'atomic' }, 'x-kubernetes-patch-merge-key': 'uid', 'x-kubernetes-patch-strategy': 'merge' },
      managedFields: { type: 'array', items: { type: 'object' } },
    },
  };
}

function kindSchema(info: ResourceInfo): Record<string, unknown> {
  const gvk = [{ group: info.group, version: info.version, kind: info.kind }];
  const base: Record<string, any> = info.schema ? structuredClone(info.schema) : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  base.type ??= 'object';
  base.properties = {
    apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
    kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
    ...(base.properties ?? {}),
    metadata: { allOf: [{ $ref: `#/components/schemas/${OBJECT_META}` }], default: {} },
  };
  if (!info.schema) {
    base.properties.spec ??= { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    base.properties.status ??= { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    delete base['x-kubernetes-preserve-unknown-fields'];
    if (info.group === '' && info.plural === 'pods') {
      base.properties.spec = {
        type: 'object',
        properties: {
          containers: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' },
          initContainers: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' },
          volumes: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge,retainKeys' },
        },
        'x-kubernetes-preserve-unknown-fields': true,
      };
    }
    if (info.group === '' && ['configmaps', 'secrets'].includes(info.plural)) {
      base.properties.data = { type: 'object', additionalProperties: { type: 'string' } };
      base.properties.stringData = { type: 'object', additionalProperties: { type: 'string' } };
      base.properties.binaryData = { type: 'object', additionalProperties: { type: 'string', format: 'byte' } };
      base.properties.type = { type: 'string' };
      base.properties.immutable = { type: 'boolean' };
      delete base.properties.spec;
      delete base.properties.status;
    }
  }
  base['x-kubernetes-group-version-kind'] = gvk;
  base.description ??= `${info.kind} (served by the visionq sandbox).`;
  return base;
}

/** One group/version's OpenAPI v3 document. */
export function groupVersionDoc(registry: ResourceRegistry, group: string, version: string): Record<string, unknown> | undefined {
  const infos = registry.all().filter((r) => r.group === group && r.version === version);
  if (infos.length === 0) return undefined;
  const schemas: Record<string, unknown> = { [OBJECT_META]: objectMetaSchema() };
  const paths: Record<string, unknown> = {};
  for (const info of infos) {
    const name = schemaName(info);
    schemas[name] = kindSchema(info);
    const listName = `${name}List`;
    schemas[listName] = {
      type: 'object',
      'x-kubernetes-group-version-kind': [{ group: info.group, version: info.version, kind: info.listKind }],
      properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, items: { type: 'array', items: { $ref: `#/components/schemas/${name}` } }, metadata: { type: 'object' } },
      required: ['items'],
    };
    const prefix = `/${gvPath(group, version)}${info.namespaced ? '/namespaces/{namespace}' : ''}/${info.plural}`;
    const ref = { $ref: `#/components/schemas/${name}` };
    const gvk = { group: info.group, version: info.version, kind: info.kind };
    const content = { 'application/json': { schema: ref } };
    // kubectl checks these parameters to decide to use server-side field validation and dry run.
    const parameters = ['dryRun', 'fieldManager', 'fieldValidation', 'force']
      .map((n) => ({ name: n, in: 'query', schema: { type: n === 'force' ? 'boolean' : 'string' }, uniqueItems: true }));
    paths[prefix] = {
      get: { operationId: `list${info.kind}`, 'x-kubernetes-action': 'list', 'x-kubernetes-group-version-kind': gvk, responses: { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: `#/components/schemas/${listName}` } } } } } },
      post: { operationId: `create${info.kind}`, parameters, 'x-kubernetes-action': 'post', 'x-kubernetes-group-version-kind': gvk, requestBody: { content }, responses: { '201': { description: 'Created', content } } },
    };
    paths[`${prefix}/{name}`] = {
      get: { operationId: `read${info.kind}`, 'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': gvk, responses: { '200': { description: 'OK', content } } },
      put: { operationId: `replace${info.kind}`, parameters, 'x-kubernetes-action': 'put', 'x-kubernetes-group-version-kind': gvk, requestBody: { content }, responses: { '200': { description: 'OK', content } } },
      patch: { operationId: `patch${info.kind}`, parameters, 'x-kubernetes-action': 'patch', 'x-kubernetes-group-version-kind': gvk, responses: { '200': { description: 'OK', content } } },
      delete: { operationId: `delete${info.kind}`, 'x-kubernetes-action': 'delete', 'x-kubernetes-group-version-kind': gvk, responses: { '200': { description: 'OK' } } },
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.sandbox' }, paths, components: { schemas } };
}

/** The /openapi/v3 index: one entry per group/version with a content hash. */
export function openApiIndex(registry: ResourceRegistry): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const [group, versions] of registry.groups()) {
    for (const version of versions) {
      const doc = groupVersionDoc(registry, group, version);
      const hash = createHash('sha256').update(JSON.stringify(doc)).digest('hex').slice(0, 32).toUpperCase();
      paths[gvPath(group, version)] = { serverRelativeURL: `/openapi/v3/${gvPath(group, version)}?hash=${hash}` };
    }
  }
  return { paths };
}
