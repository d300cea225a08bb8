import { z } from 'zod';
import yaml from 'js-yaml';
import {
  API_GROUP,
  API_VERSION,
  CATEGORY,
  VISION_JOB_CRD_NAME,
  VISION_JOB_KIND,
  VISION_JOB_LIST_KIND,
  VISION_JOB_PLURAL,
  VISION_JOB_SHORT_NAMES,
  VISION_JOB_SINGULAR,
  WORKER_POOL_CRD_NAME,
  WORKER_POOL_KIND,
  WORKER_POOL_LIST_KIND,
  WORKER_POOL_PLURAL,
  WORKER_POOL_SHORT_NAMES,
  WORKER_POOL_SINGULAR,
} from './constants.js';
import type { JSONSchemaProps, ValidationRule } from './schema/json-schema-props.js';
import { VisionJobSpecSchema, VisionJobStatusSchema, visionJobRootRules } from './vision-job.js';
import { WorkerPoolSpecSchema, WorkerPoolStatusSchema, workerPoolRootRules } from './worker-pool.js';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

type Json = Record<string, any>;

/**
 * Turns zod's OpenAPI 3.0 JSON Schema into a Kubernetes structural schema: no $schema,
 * propertyNames or `additionalProperties: false`; free-form objects and values get
 * `x-kubernetes-preserve-unknown-fields`; integer bounds that only encode the width become
 * `format: int32/int64`; date-times keep the format but drop zod's long regex.
 */
export function toStructural(node: Json): JSONSchemaProps {
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$schema' || k === 'propertyNames' || k === 'id' || k === '$id') continue;
    out[k] = v;
  }
  if (out.additionalProperties === false) delete out.additionalProperties;
  if (out.additionalProperties !== undefined && typeof out.additionalProperties === 'object') {
    if (Object.keys(out.additionalProperties).length === 0) {
      delete out.additionalProperties;
      out['x-kubernetes-preserve-unknown-fields'] = true;
    } else {
      out.additionalProperties = toStructural(out.additionalProperties);
    }
  } else if (out.additionalProperties === true) {
    delete out.additionalProperties;
    out['x-kubernetes-preserve-unknown-fields'] = true;
  }
  if (out.properties) {
    out.properties = Object.fromEntries(Object.entries(out.properties as Json).map(([k, v]) => [k, toStructural(v)]));
  }
  if (out.items) out.items = toStructural(out.items);
  if (out.type === 'integer') {
    if (out.minimum === -Number.MAX_SAFE_INTEGER) delete out.minimum;
    if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
    const int32 = out.minimum === INT32_MIN || out.maximum === INT32_MAX || (out.minimum !== undefined && out.maximum !== undefined && out.minimum >= INT32_MIN && out.maximum <= INT32_MAX);
    if (out.minimum === INT32_MIN) delete out.minimum;
    if (out.maximum === INT32_MAX) delete out.maximum;
    out.format = int32 ? 'int32' : 'int64';
  }
  if (out.format === 'date-time') delete out.pattern;
  if (out.type === undefined && !out['x-kubernetes-int-or-string']) out['x-kubernetes-preserve-unknown-fields'] = true;
  return order(out) as JSONSchemaProps;
}

/** Stable, readable key order (description first, nested structure last). */
const KEY_ORDER = ['description', 'type', 'format', 'nullable', 'default', 'enum', 'minimum', 'exclusiveMinimum', 'maximum', 'exclusiveMaximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'required', 'properties', 'additionalProperties', 'items'];
function order(node: Json): Json {
  const rank = (k: string) => {
    const i = KEY_ORDER.indexOf(k);
    return i === -1 ? KEY_ORDER.length + (k.startsWith('x-') ? 1 : 0) : i;
  };
  return Object.fromEntries(Object.entries(node).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b)));
}

export function zodToStructural(schema: z.ZodType): JSONSchemaProps {
  return toStructural(z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0', unrepresentable: 'any' }) as Json);
}

function rootSchema(description: string, spec: JSONSchemaProps, status: JSONSchemaProps, rules: ValidationRule[]): JSONSchemaProps {
  return {
    description,
    type: 'object',
    required: ['spec'],
    properties: {
      apiVersion: {
        description: 'APIVersion defines the versioned schema of this representation of an object.',
        type: 'string',
      },
      kind: { description: 'Kind is a string value representing the REST resource this object represents.', type: 'string' },
      // Declaring metadata.name keeps the name rule's fieldPath valid for the apiserver
      // (only name/generateName may be declared under root metadata).
      metadata: { type: 'object', properties: { name: { type: 'string' } } },
      spec,
      status,
    },
    'x-kubernetes-validations': rules,
  };
}

interface CrdParams {
  name: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  columns: Json[];
  schema: JSONSchemaProps;
}

function crd(p: CrdParams): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: p.name,
      labels: { 'app.kubernetes.io/name': 'visionq', 'app.kubernetes.io/part-of': 'visionq' },
    },
    spec: {
      group: API_GROUP,
      names: {
        kind: p.kind,
        listKind: p.listKind,
        plural: p.plural,
        singular: p.singular,
        shortNames: [...p.shortNames],
        categories: [CATEGORY],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: p.columns,
          schema: { openAPIV3Schema: p.schema },
        },
      ],
    },
  };
}

export function visionJobCrd(): Json {
  return crd({
    name: VISION_JOB_CRD_NAME,
    kind: VISION_JOB_KIND,
    listKind: VISION_JOB_LIST_KIND,
    plural: VISION_JOB_PLURAL,
    singular: VISION_JOB_SINGULAR,
    shortNames: VISION_JOB_SHORT_NAMES,
    columns: [
      { name: 'Pool', type: 'string', jsonPath: '.spec.pool' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Attempts', type: 'integer', jsonPath: '.status.attempts' },
      { name: 'Progress', type: 'number', jsonPath: '.status.progress.percent', description: 'Percent done, as reported by the algorithm.' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      // A printer column cannot subtract timestamps; this shows the time since the job started.
      { name: 'Duration', type: 'date', jsonPath: '.status.startTime', description: 'Time since the job started running.' },
      { name: 'Priority', type: 'integer', jsonPath: '.spec.priority', priority: 1 },
      { name: 'Worker', type: 'string', jsonPath: '.status.currentAttempt.pod', priority: 1 },
      { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
      { name: 'NotBefore', type: 'string', jsonPath: '.spec.notBefore', priority: 1, description: 'Not admitted before this time.' },
      // status.tenant, not a label: the tenant label key is per pool (fairSharing.tenantLabel).
      { name: 'Tenant', type: 'string', jsonPath: '.status.tenant', priority: 1, description: 'Fair-share tenant, as the controller counts it.' },
    ],
    schema: rootSchema(
      'VisionJob is one long-running computer-vision job, queued on NATS JetStream and run by a WorkerPool.',
      zodToStructural(VisionJobSpecSchema),
      zodToStructural(VisionJobStatusSchema),
      visionJobRootRules,
    ),
  });
}

export function workerPoolCrd(): Json {
  return crd({
    name: WORKER_POOL_CRD_NAME,
    kind: WORKER_POOL_KIND,
    listKind: WORKER_POOL_LIST_KIND,
    plural: WORKER_POOL_PLURAL,
    singular: WORKER_POOL_SINGULAR,
    shortNames: WORKER_POOL_SHORT_NAMES,
    columns: [
      { name: 'Min', type: 'integer', jsonPath: '.spec.minReplicas' },
      { name: 'Max', type: 'integer', jsonPath: '.spec.maxReplicas' },
      { name: 'Replicas', type: 'integer', jsonPath: '.status.replicas' },
      { name: 'Busy', type: 'integer', jsonPath: '.status.busy' },
      { name: 'Queued', type: 'integer', jsonPath: '.status.queued' },
      { name: 'Running', type: 'integer', jsonPath: '.status.running' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      { name: 'Slots', type: 'integer', jsonPath: '.spec.slotsPerWorker', priority: 1 },
      { name: 'Pending', type: 'integer', jsonPath: '.status.pending', priority: 1 },
    ],
    schema: rootSchema(
      'WorkerPool is a scalable set of GPU worker pods that run VisionJobs.',
      zodToStructural(WorkerPoolSpecSchema),
      zodToStructural(WorkerPoolStatusSchema),
      workerPoolRootRules,
    ),
  });
}

/** Both CRDs (VisionJob, WorkerPool), as plain JSON objects. */
export function generateCrds(): object[] {
  return [visionJobCrd(), workerPoolCrd()];
}

/** The openAPIV3Schema of a CRD object from generateCrds() (its single version). */
export function crdSchema(crdObj: object): JSONSchemaProps {
  return (crdObj as Json).spec.versions[0].schema.openAPIV3Schema as JSONSchemaProps;
}

export function crdFileName(crdObj: object): string {
  return `${(crdObj as Json).metadata.name}.yaml`;
}

export function renderCrdYaml(crdObj: object): string {
  const body = yaml.dump(crdObj, { noRefs: true, lineWidth: -1, quotingType: '"' });
  return `# Generated by \`npm run gen:crds\` from src/api (zod schemas): do not edit by hand.\n---\n${body}`;
}
