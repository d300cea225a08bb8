import type { JSONSchemaProps } from '../../../api/schema/json-schema-props.js';
import { renderPath, type FieldError, type PathSegment } from '../../../api/schema/field-errors.js';
import { evaluateRules } from './cel-rules.js';

type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

function jsonType(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(v) ? 'integer' : 'number';
    case 'string':
      return 'string';
    default:
      return 'object';
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as any)[k], (b as any)[k]));
}

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-2147483648, 2147483647],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

const compiledPatterns = new Map<string, RegExp>();
function pattern(p: string): RegExp {
  let re = compiledPatterns.get(p);
  if (!re) {
    re = new RegExp(p, 'u');
    compiledPatterns.set(p, re);
  }
  return re;
}

const BLOCKING = new Set<FieldError['type']>(['FieldValueTypeInvalid', 'FieldValueRequired']);

export interface Walk {
  path: PathSegment[];
  value: unknown;
  oldValue: unknown;
  hasOld: boolean;
  isRoot: boolean;
}

/**
 * Validates one value against a structural schema node, recursing into children, then runs the
 * node's CEL rules — unless the subtree has type errors or missing required fields, which would
 * only make rules fail with evaluation errors (the apiserver likewise skips CEL on type errors).
 */
export function validateValue(schema: JSONSchemaProps, w: Walk, errors: FieldError[]): void {
  const before = errors.length;
  const field = renderPath(w.path);
  const v = w.value;
  const t = jsonType(v);

  if (v === null) {
    if (!schema.nullable && schema.type !== undefined) {
      errors.push({ field, type: 'FieldValueTypeInvalid', value: null, message: `${field} in body must be of type ${schema.type}: "null"` });
    }
    return;
  }

  if (schema['x-kubernetes-int-or-string']) {
    if (t !== 'integer' && t !== 'string') {
      errors.push({ field, type: 'FieldValueTypeInvalid', value: t, message: `${field} in body must be of type integer or string: "${t}"` });
      return;
    }
  } else if (schema.type) {
    const ok = schema.type === t || (schema.type === 'number' && t === 'integer');
    if (!ok) {
      errors.push({ field, type: 'FieldValueTypeInvalid', value: t, message: `${field} in body must be of type ${schema.type}: "${t}"` });
      return;
    }
  }

  if (schema.enum && !schema.enum.some((e) => deepEqual(e, v))) {
    errors.push({
      field,
      type: 'FieldValueNotSupported',
      value: v,
      message: `supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`,
    });
  }

  if (typeof v === 'number') validateNumber(schema, field, v, errors);
  if (typeof v === 'string') validateString(schema, field, v, errors);
  if (Array.isArray(v)) validateArray(schema, w, v, errors);
  else if (t === 'object') validateObject(schema, w, v as Record<string, unknown>, errors);

  for (const sub of schema.allOf ?? []) validateValue(sub, { ...w, hasOld: false }, errors);
  if (schema.anyOf?.length && !schema.anyOf.some((s) => passes(s, v))) {
    errors.push({ field, type: 'FieldValueInvalid', value: v, message: `${field} in body must match at least one schema in anyOf` });
  }
  if (schema.oneOf?.length && schema.oneOf.filter((s) => passes(s, v)).length !== 1) {
    errors.push({ field, type: 'FieldValueInvalid', value: v, message: `${field} in body must match exactly one schema in oneOf` });
  }
  if (schema.not && passes(schema.not, v)) {
    errors.push({ field, type: 'FieldValueInvalid', value: v, message: `${field} in body should not match the schema in not` });
  }

  if (!errors.slice(before).some((e) => BLOCKING.has(e.type))) {
    errors.push(...evaluateRules({ schema, path: w.path, value: v, oldValue: w.oldValue, hasOld: w.hasOld, isRoot: w.isRoot }));
  }
}

function passes(schema: JSONSchemaProps, v: unknown): boolean {
  const errs: FieldError[] = [];
  validateValue(schema, { path: [], value: v, oldValue: undefined, hasOld: false, isRoot: false }, errs);
  return errs.length === 0;
}

function validateNumber(schema: JSONSchemaProps, field: string, v: number, errors: FieldError[]): void {
  const push = (message: string) => errors.push({ field, type: 'FieldValueInvalid', value: v, message });
  if (schema.minimum !== undefined) {
    if (schema.exclusiveMinimum ? v <= schema.minimum : v < schema.minimum) {
      push(`${field} in body should be greater than ${schema.exclusiveMinimum ? '' : 'or equal to '}${schema.minimum}`);
    }
  }
  if (schema.maximum !== undefined) {
    if (schema.exclusiveMaximum ? v >= schema.maximum : v > schema.maximum) {
      push(`${field} in body should be less than ${schema.exclusiveMaximum ? '' : 'or equal to '}${schema.maximum}`);
    }
  }
  if (schema.multipleOf !== undefined && schema.multipleOf > 0) {
    const q = v / schema.multipleOf;
    if (Math.abs(q - Math.round(q)) > 1e-9) push(`${field} in body should be a multiple of ${schema.multipleOf}`);
  }
  const range = schema.format ? INT_RANGES[schema.format] : undefined;
  if (range && Number.isInteger(v) && (v < range[0] || v > range[1])) {
    push(`${field} in body must be of type ${schema.format}: "${v}"`);
  }
}

function validateString(schema: JSONSchemaProps, field: string, v: string, errors: FieldError[]): void {
  // The apiserver counts characters (runes), not UTF-16 units.
  const len = [...v].length;
  if (schema.maxLength !== undefined && len > schema.maxLength) {
    errors.push({ field, type: 'FieldValueTooLong', value: v, message: `may not be longer than ${schema.maxLength}` });
  }
  if (schema.minLength !== undefined && len < schema.minLength) {
    errors.push({ field, type: 'FieldValueInvalid', value: v, message: `${field} in body should be at least ${schema.minLength} chars long` });
  }
  if (schema.pattern !== undefined && !pattern(schema.pattern).test(v)) {
    errors.push({ field, type: 'FieldValueInvalid', value: v, message: `${field} in body should match '${schema.pattern}'` });
  }
  if (schema.format === 'date-time' && !DATE_TIME.test(v)) {
    errors.push({ field, type: 'FieldValueInvalid', value: v, message: `${field} in body must be of type date-time: ${JSON.stringify(v)}` });
  }
}

function validateArray(schema: JSONSchemaProps, w: Walk, v: unknown[], errors: FieldError[]): void {
  const field = renderPath(w.path);
  if (schema.maxItems !== undefined && v.length > schema.maxItems) {
    errors.push({ field, type: 'FieldValueTooMany', value: v.length, message: `must have at most ${schema.maxItems} items` });
  }
  if (schema.minItems !== undefined && v.length < schema.minItems) {
    errors.push({ field, type: 'FieldValueInvalid', value: v, message: `${field} in body should have at least ${schema.minItems} items` });
  }
  const listType = schema['x-kubernetes-list-type'];
  if (schema.uniqueItems || listType === 'set') {
    v.forEach((item, i) => {
      if (v.findIndex((o) => deepEqual(o, item)) < i) {
        errors.push({ field: renderPath([...w.path, i]), type: 'FieldValueDuplicate', value: item, message: '' });
      }
    });
  }
  const mapKeys = listType === 'map' ? (schema['x-kubernetes-list-map-keys'] ?? []) : [];
  const keyOf = (item: unknown) =>
    item && typeof item === 'object' ? JSON.stringify(mapKeys.map((k) => (item as any)[k])) : undefined;
  if (mapKeys.length) {
    const seen = new Set<string>();
    v.forEach((item, i) => {
      const k = keyOf(item);
      if (k === undefined) return;
      if (seen.has(k)) errors.push({ field: renderPath([...w.path, i]), type: 'FieldValueDuplicate', value: item, message: '' });
      seen.add(k);
    });
  }
  // Only map-lists correlate items with the old object (as in the apiserver).
  const oldItems = mapKeys.length && w.hasOld && Array.isArray(w.oldValue) ? (w.oldValue as unknown[]) : [];
  if (!schema.items) return;
  v.forEach((item, i) => {
    const k = mapKeys.length ? keyOf(item) : undefined;
    const old = k === undefined ? undefined : oldItems.find((o) => keyOf(o) === k);
    validateValue(schema.items!, { path: [...w.path, i], value: item, oldValue: old, hasOld: old !== undefined, isRoot: false }, errors);
  });
}

const ROOT_META = new Set(['apiVersion', 'kind', 'metadata']);

function validateObject(schema: JSONSchemaProps, w: Walk, v: Record<string, unknown>, errors: FieldError[]): void {
  const field = renderPath(w.path);
  const keys = Object.keys(v);
  if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) {
    errors.push({ field, type: 'FieldValueTooMany', value: keys.length, message: `must have at most ${schema.maxProperties} items` });
  }
  if (schema.minProperties !== undefined && keys.length < schema.minProperties) {
    errors.push({ field, type: 'FieldValueInvalid', value: v, message: `${field} in body should have at least ${schema.minProperties} properties` });
  }
  for (const req of schema.required ?? []) {
    if (v[req] === undefined) {
      errors.push({ field: renderPath([...w.path, req]), type: 'FieldValueRequired', message: '' });
    }
  }
  const old = w.hasOld && w.oldValue && typeof w.oldValue === 'object' && !Array.isArray(w.oldValue)
    ? (w.oldValue as Record<string, unknown>)
    : undefined;
  const addl = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  for (const k of keys) {
    if (v[k] === undefined) continue;
    const sub = schema.properties?.[k] ?? addl;
    if (!sub) continue; // unknown fields are pruned, not invalid (see findUnknownFields)
    if (w.isRoot && ROOT_META.has(k) && !schema.properties?.[k]) continue;
    const seg = schema.properties?.[k] ? k : { key: k };
    const hasOld = old !== undefined && old[k] !== undefined;
    validateValue(sub, { path: [...w.path, seg], value: v[k], oldValue: hasOld ? old![k] : undefined, hasOld, isRoot: false }, errors);
  }
}
