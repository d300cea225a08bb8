/**
 * JSON Schemas for the Kubernetes kinds the chart renders, derived offline from the
 * OpenAPI-generated models of @kubernetes/client-node (spec release-1.36): property
 * names and types come from each model's attributeTypeMap, required properties from
 * its .d.ts (non-optional members). Objects get `additionalProperties: false`, so a
 * misspelt or misplaced field fails like `kubectl apply --validate=strict` would.
 * Not covered: enum values, formats beyond integer/string, and CEL/semantic rules.
 *
 * ServiceMonitor (Prometheus Operator CRD) is not in client-node; a hand-written
 * schema covers the fields the chart uses.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Ajv, type ValidateFunction } from 'ajv';

type JsonSchema = Record<string, unknown>;
interface Attribute {
  name: string;
  baseName: string;
  type: string;
  format: string;
}
type ModelClass = { getAttributeTypeMap(): Attribute[] };

const ROOT_MODELS: Record<string, string> = {
  'v1/ServiceAccount': 'V1ServiceAccount',
  'v1/Service': 'V1Service',
  'v1/ConfigMap': 'V1ConfigMap',
  'v1/Secret': 'V1Secret',
  'apps/v1/Deployment': 'V1Deployment',
  'apps/v1/StatefulSet': 'V1StatefulSet',
  'policy/v1/PodDisruptionBudget': 'V1PodDisruptionBudget',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'V1ClusterRole',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'V1ClusterRoleBinding',
  'rbac.authorization.k8s.io/v1/Role': 'V1Role',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'V1RoleBinding',
  'apiextensions.k8s.io/v1/CustomResourceDefinition': 'V1CustomResourceDefinition',
};

/** Quantity fields: the models type them string, the API accepts int-or-string. */
const QUANTITY_MAPS = new Set(['V1ResourceRequirements.limits', 'V1ResourceRequirements.requests']);
const QUANTITY_FIELDS = new Set(['V1EmptyDirVolumeSource.sizeLimit']);

const models = k8s as unknown as Record<string, ModelClass | undefined>;
const modelsDir = join(dirname(createRequire(import.meta.url).resolve('@kubernetes/client-node')), 'gen/models');

function requiredProps(model: string): Set<string> {
  const dts = readFileSync(join(modelsDir, `${model}.d.ts`), 'utf8');
  const required = new Set<string>();
  for (const m of dts.matchAll(/^ {4}'([^']+)'(\??):/gm)) if (m[2] !== '?') required.add(m[1]!);
  return required;
}

function typeSchema(type: string, format: string, defs: Record<string, JsonSchema>): JsonSchema {
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr) return { type: 'array', items: typeSchema(arr[1]!, '', defs) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return { type: 'object', additionalProperties: typeSchema(map[1]!, '', defs) };
  switch (type) {
    case 'string':
    case 'Date':
      return { type: 'string' };
    case 'boolean':
      return { type: 'boolean' };
    case 'number':
      return format === 'int32' || format === 'int64' ? { type: 'integer' } : { type: 'number' };
    case 'IntOrString':
      return { type: ['integer', 'string'] };
    case 'any':
      return {};
    default:
      if (!models[type]?.getAttributeTypeMap) throw new Error(`unknown model type ${type}`);
      defineModel(type, defs);
      return { $ref: `#/definitions/${type}` };
  }
}

function defineModel(model: string, defs: Record<string, JsonSchema>): void {
  if (defs[model]) return;
  const schema: JsonSchema = { type: 'object', additionalProperties: false };
  defs[model] = schema; // before recursing: models are recursive (JSONSchemaProps)
  const required = requiredProps(model);
  const properties: Record<string, JsonSchema> = {};
  const req: string[] = [];
  for (const a of models[model]!.getAttributeTypeMap()) {
    const key = `${model}.${a.baseName}`;
    let s = typeSchema(a.type, a.format, defs);
    if (QUANTITY_FIELDS.has(key)) s = { type: ['string', 'number'] };
    if (QUANTITY_MAPS.has(key)) s = { type: 'object', additionalProperties: { type: ['string', 'number'] } };
    properties[a.baseName] = s;
    if (required.has(a.name)) req.push(a.baseName);
  }
  schema.properties = properties;
  if (req.length > 0) schema.required = req;
}

const labelSelector = { $ref: '#/definitions/V1LabelSelector' };
const SERVICE_MONITOR: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'monitoring.coreos.com/v1' },
    kind: { const: 'ServiceMonitor' },
    metadata: { $ref: '#/definitions/V1ObjectMeta' },
    spec: {
      type: 'object',
      additionalProperties: false,
      required: ['selector', 'endpoints'],
      properties: {
        jobLabel: { type: 'string' },
        selector: labelSelector,
        namespaceSelector: {
          type: 'object',
          additionalProperties: false,
          properties: { any: { type: 'boolean' }, matchNames: { type: 'array', items: { type: 'string' } } },
        },
        endpoints: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            properties: {
              port: { type: 'string' },
              targetPort: { type: ['integer', 'string'] },
              path: { type: 'string' },
              scheme: { enum: ['http', 'https'] },
              interval: { type: 'string', pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' },
              scrapeTimeout: { type: 'string', pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' },
              honorLabels: { type: 'boolean' },
            },
          },
        },
      },
    },
  },
};

export class KubeSchemaValidator {
  private readonly validators = new Map<string, ValidateFunction>();

  constructor() {
    const defs: Record<string, JsonSchema> = {};
    for (const model of Object.values(ROOT_MODELS)) defineModel(model, defs);
    defineModel('V1LabelSelector', defs);
    const ajv = new Ajv({ allErrors: true, strict: false });
    ajv.addSchema({ $id: 'k8s', definitions: defs });
    for (const [gvk, model] of Object.entries(ROOT_MODELS)) {
      const [apiVersion, kind] = [gvk.slice(0, gvk.lastIndexOf('/')), gvk.slice(gvk.lastIndexOf('/') + 1)];
      this.validators.set(
        gvk,
        ajv.compile({
          allOf: [
            { $ref: `k8s#/definitions/${model}` },
            {
              required: ['apiVersion', 'kind', 'metadata'],
              properties: {
                apiVersion: { const: apiVersion },
                kind: { const: kind },
                metadata: { required: ['name'] },
              },
            },
          ],
        }),
      );
    }
    this.validators.set(
      'monitoring.coreos.com/v1/ServiceMonitor',
      ajv.compile({ $id: 'servicemonitor', ...refsTo('k8s') }),
    );
  }

  kinds(): string[] {
    return [...this.validators.keys()];
  }

  /** Problems with `obj` (empty when valid); an unknown kind is a problem too. */
  validate(obj: { apiVersion?: unknown; kind?: unknown }): string[] {
    const gvk = `${String(obj.apiVersion)}/${String(obj.kind)}`;
    const v = this.validators.get(gvk);
    if (!v) return [`no schema for ${gvk}`];
    if (v(obj)) return [];
    return (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? `: ${String(e.params.additionalProperty)}` : ''}`);
  }
}

/** Rewrites local #/definitions refs of the ServiceMonitor schema to the shared k8s definitions. */
function refsTo(id: string): JsonSchema {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [k, k === '$ref' && typeof x === 'string' ? x.replace(/^#/, `${id}#`) : walk(x)]),
      );
    }
    return v;
  };
  return walk(SERVICE_MONITOR) as JsonSchema;
}
