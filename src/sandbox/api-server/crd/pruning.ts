import type { JSONSchemaProps } from '../../../api/schema/json-schema-props.js';
import { renderPath, type PathSegment } from '../../../api/schema/field-errors.js';

const ROOT_META = ['apiVersion', 'kind', 'metadata'];
const EMBEDDED_META = ['apiVersion', 'kind', 'metadata'];

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Sub-schemas of allOf/anyOf/oneOf may only restate the node's shape in structural schemas. */
function propertiesOf(schema: JSONSchemaProps): Record<string, JSONSchemaProps> | undefined {
  return schema.properties;
}

function walk(
  schema: JSONSchemaProps | undefined,
  value: unknown,
  path: PathSegment[],
  isRoot: boolean,
  onUnknown: (path: PathSegment[], parent: Record<string, unknown>, key: string) => void,
): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(schema.items, item, [...path, i], false, onUnknown));
    return;
  }
  if (!isObject(value)) return;
  const props = propertiesOf(schema);
  const addl = schema.additionalProperties;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  for (const key of Object.keys(value)) {
    // ObjectMeta is validated and pruned by the apiserver's own rules, never by the CRD schema.
    if (key === 'metadata' && (isRoot || schema['x-kubernetes-embedded-resource'])) continue;
    if (props?.[key]) {
      walk(props[key], value[key], [...path, key], false, onUnknown);
    } else if (typeof addl === 'object') {
      walk(addl, value[key], [...path, { key }], false, onUnknown);
    } else if (addl === true || preserve) {
      continue;
    } else if ((isRoot && ROOT_META.includes(key)) || (schema['x-kubernetes-embedded-resource'] && EMBEDDED_META.includes(key))) {
      continue;
    } else {
      onUnknown([...path, key], value, key);
    }
  }
}

/**
 * Paths of fields the schema does not declare (what `kubectl --validate=strict` /
 * fieldValidation=Strict reports). Root apiVersion/kind/metadata are always known.
 */
export function findUnknownFields(schema: JSONSchemaProps, obj: unknown): string[] {
  const out: string[] = [];
  walk(schema, obj, [], true, (path) => out.push(renderPath(path)));
  return out;
}

/** A deep copy of `obj` without the fields the schema does not declare (apiserver pruning). */
export function pruneUnknownFields(schema: JSONSchemaProps, obj: unknown): unknown {
  const copy = structuredClone(obj);
  walk(schema, copy, [], true, (_path, parent, key) => {
    delete parent[key];
  });
  return copy;
}

/**
 * A deep copy of `obj` with structural defaults applied: a missing (or, for non-nullable
 * fields, null) property gets the schema's `default`, then defaulting recurses into it.
 */
export function applyDefaults(schema: JSONSchemaProps, obj: unknown): unknown {
  const copy = structuredClone(obj);
  defaultInPlace(schema, copy);
  return copy;
}

function defaultInPlace(schema: JSONSchemaProps | undefined, value: unknown): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    for (const item of value) defaultInPlace(schema.items, item);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    const missing = value[key] === undefined || (value[key] === null && !sub.nullable);
    if (missing && sub.default !== undefined) value[key] = structuredClone(sub.default);
    if (value[key] !== undefined) defaultInPlace(sub, value[key]);
  }
  if (typeof schema.additionalProperties === 'object') {
    for (const key of Object.keys(value)) {
      if (!schema.properties?.[key]) defaultInPlace(schema.additionalProperties, value[key]);
    }
  }
}
