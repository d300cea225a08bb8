import { describe, expect, it } from 'vitest';
import {
  applyDefaults,
  findUnknownFields,
  formatFieldErrors,
  pruneUnknownFields,
  validateCustomResource,
  type JSONSchemaProps,
} from '../../../src/sandbox/api-server/crd/crd-validate.js';

const schema: JSONSchemaProps = {
  type: 'object',
  'x-kubernetes-validations': [
    { rule: "self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')", message: 'name must be a DNS-1123 label', fieldPath: '.metadata.name' },
  ],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    spec: {
      type: 'object',
      required: ['pool'],
      'x-kubernetes-validations': [
        { rule: 'self.pool == oldSelf.pool', message: 'pool is immutable', fieldPath: '.pool' },
        { rule: '!has(self.min) || !has(self.max) || self.min <= self.max', messageExpression: "'min ' + string(self.min) + ' exceeds max'" },
      ],
      properties: {
        pool: { type: 'string', maxLength: 8 },
        retries: { type: 'integer', format: 'int32', minimum: 0, default: 3 },
        factor: { type: 'number', minimum: 1, exclusiveMinimum: true },
        min: { type: 'integer' },
        max: { type: 'integer' },
        mode: { type: 'string', enum: ['a', 'b'] },
        args: { type: 'array', maxItems: 2, items: { type: 'string' } },
        port: { 'x-kubernetes-int-or-string': true },
        input: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        labels: { type: 'object', additionalProperties: { type: 'string', maxLength: 3 } },
        backoff: {
          type: 'object',
          default: {},
          properties: { initialSeconds: { type: 'integer', default: 10 }, note: { type: 'string', nullable: true } },
        },
        items: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: {
            type: 'object',
            properties: { name: { type: 'string' }, v: { type: 'integer', 'x-kubernetes-validations': [{ rule: 'self >= oldSelf', message: 'v may not decrease' }] } },
          },
        },
      },
    },
  },
};

const obj = (spec: Record<string, unknown>, name = 'ok') => ({ apiVersion: 'x/v1', kind: 'T', metadata: { name }, spec });

describe('validateCustomResource', () => {
  it('accepts a valid object', () => {
    expect(validateCustomResource(schema, obj({ pool: 'p', retries: 0, factor: 1.5, port: 'http', input: { a: { b: [1] } } }))).toEqual([]);
  });

  it('reports required, type, bounds, enum and size errors with k8s field paths', () => {
    const errs = validateCustomResource(
      schema,
      obj({ retries: -1, factor: 1, mode: 'c', args: ['a', 'b', 'c'], port: true, labels: { x: 'long' }, backoff: { initialSeconds: 'x' } }),
    );
    const byField = Object.fromEntries(errs.map((e) => [e.field, e]));
    expect(byField['spec.pool']).toMatchObject({ type: 'FieldValueRequired' });
    expect(byField['spec.retries']).toMatchObject({ type: 'FieldValueInvalid', message: 'spec.retries in body should be greater than or equal to 0' });
    expect(byField['spec.factor']).toMatchObject({ type: 'FieldValueInvalid', message: 'spec.factor in body should be greater than 1' });
    expect(byField['spec.mode']).toMatchObject({ type: 'FieldValueNotSupported' });
    expect(byField['spec.args']).toMatchObject({ type: 'FieldValueTooMany', value: 3 });
    expect(byField['spec.port']).toMatchObject({ type: 'FieldValueTypeInvalid' });
    expect(byField['spec.labels[x]']).toMatchObject({ type: 'FieldValueTooLong' });
    expect(byField['spec.backoff.initialSeconds']).toMatchObject({ type: 'FieldValueTypeInvalid', message: 'spec.backoff.initialSeconds in body must be of type integer: "string"' });
  });

  it('rejects null for non-nullable fields and out-of-range int32', () => {
    const errs = validateCustomResource(schema, obj({ pool: null, retries: 2 ** 31, backoff: { note: null } }));
    expect(errs.map((e) => e.field).sort()).toEqual(['spec.pool', 'spec.retries']);
  });

  it('runs CEL rules at the root and nested levels, honouring fieldPath and messageExpression', () => {
    const errs = validateCustomResource(schema, obj({ pool: 'p', min: 5, max: 2 }, 'Bad.Name'));
    expect(errs).toContainEqual(expect.objectContaining({ field: 'metadata.name', message: 'name must be a DNS-1123 label' }));
    expect(errs).toContainEqual(expect.objectContaining({ field: 'spec', message: 'min 5 exceeds max' }));
  });

  it('evaluates transition rules only on update, correlating map-list items by key', () => {
    const old = obj({ pool: 'a', items: [{ name: 'x', v: 5 }] });
    expect(validateCustomResource(schema, obj({ pool: 'b', items: [{ name: 'x', v: 1 }] }))).toEqual([]);
    const errs = validateCustomResource(schema, obj({ pool: 'b', items: [{ name: 'y', v: 1 }, { name: 'x', v: 4 }] }), old);
    expect(errs.map((e) => [e.field, e.message])).toEqual([
      ['spec.items[1].v', 'v may not decrease'],
      ['spec.pool', 'pool is immutable'],
    ]);
  });

  it('does not run CEL rules over a subtree with type errors', () => {
    const errs = validateCustomResource(schema, obj({ pool: 'p', min: 'x', max: 1 }));
    expect(errs.map((e) => e.field)).toEqual(['spec.min']);
  });
});

describe('formatFieldErrors', () => {
  it('renders the apiserver message', () => {
    const errs = validateCustomResource(schema, obj({ pool: 'p', retries: -1 }));
    expect(formatFieldErrors('VisionJob.visionq.dev', 'x', errs)).toBe(
      'VisionJob.visionq.dev "x" is invalid: spec.retries: Invalid value: -1: spec.retries in body should be greater than or equal to 0',
    );
    const two = validateCustomResource(schema, obj({ retries: -1 }));
    expect(formatFieldErrors('VisionJob.visionq.dev', 'x', two)).toBe(
      'VisionJob.visionq.dev "x" is invalid: [spec.pool: Required value, spec.retries: Invalid value: -1: spec.retries in body should be greater than or equal to 0]',
    );
  });
});

describe('unknown fields, pruning and defaults', () => {
  const o = { ...obj({ pool: 'p', bogus: 1, input: { free: { form: true } }, labels: { a: 'b' }, backoff: { extra: 2 } }), status: { x: 1 } };

  it('finds fields the schema does not declare', () => {
    expect(findUnknownFields(schema, o)).toEqual(['spec.bogus', 'spec.backoff.extra', 'status']);
  });

  it('prunes them without touching the input', () => {
    const pruned = pruneUnknownFields(schema, o) as any;
    expect(pruned.spec).toEqual({ pool: 'p', input: { free: { form: true } }, labels: { a: 'b' }, backoff: {} });
    expect(pruned.status).toBeUndefined();
    expect(pruned.metadata).toEqual({ name: 'ok' });
    expect((o.spec as any).bogus).toBe(1);
  });

  it('applies defaults recursively into defaulted objects', () => {
    const d = applyDefaults(schema, obj({ pool: 'p' })) as any;
    expect(d.spec).toEqual({ pool: 'p', retries: 3, backoff: { initialSeconds: 10 } });
    const kept = applyDefaults(schema, obj({ pool: 'p', retries: 0, backoff: { initialSeconds: 1 } })) as any;
    expect(kept.spec).toEqual({ pool: 'p', retries: 0, backoff: { initialSeconds: 1 } });
  });
});
