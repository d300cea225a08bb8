import { describe, expect, it } from 'vitest';
import { formatFieldErrors } from '../../../src/sandbox/api-server/crd/crd-validate.js';
import { validateVisionJob } from '../../../src/api/validate.js';
import { crdErrors, zodErrors } from './manifest-helpers.js';
import { cases, job, type Case } from './invalid-manifest-cases.js';

describe('invalid manifests are rejected by the generated CRD schema and by zod, naming the field', () => {
  for (const c of cases) {
    it(`CRD: ${c.name}`, () => {
      const errors = crdErrors(c.obj, c.old);
      expect(errors.map((e) => e.field)).toContain(c.field);
    });
    it(`zod: ${c.name}`, () => {
      const errors = zodErrors(c.obj, c.old);
      expect(errors.map((e) => e.field)).toContain(c.field);
    });
  }
});

describe('bounds only zod can express (the controller enforces them at runtime)', () => {
  it('rejects input above 64 KiB serialized, naming spec.input', () => {
    const obj = job({ input: { frames: 'x'.repeat(64 * 1024) } });
    expect(crdErrors(obj)).toEqual([]);
    expect(zodErrors(obj)).toContainEqual(expect.objectContaining({ field: 'spec.input', type: 'FieldValueTooLong' }));
  });

  it('rejects a result above 16 KiB, naming status.result', () => {
    const obj = job({}, {}, { status: { result: { blob: 'x'.repeat(16 * 1024) } } });
    expect(zodErrors(obj)).toContainEqual(expect.objectContaining({ field: 'status.result', type: 'FieldValueTooLong' }));
  });
});

describe('valid updates pass both validators', () => {
  const valid: Case[] = [
    { name: 'priority change while Queued', obj: job({ priority: 9 }, {}, { status: { phase: 'Queued' } }), old: job({}, {}, { status: { phase: 'Queued' } }), field: '' },
    { name: 'suspend while no phase yet', obj: job({ suspend: true }), old: job(), field: '' },
    { name: 'status-only change', obj: job({ input: { v: 1 } }, {}, { status: { phase: 'Running', attempts: 1 } }), old: job({ input: { v: 1 } }), field: '' },
    { name: 'explicit default equals omitted default', obj: job({ priority: 0 }, {}, { status: { phase: 'Running' } }), old: job({}, {}, { status: { phase: 'Running' } }), field: '' },
  ];
  for (const c of valid) {
    it(c.name, () => {
      expect(crdErrors(c.obj, c.old)).toEqual([]);
      expect(zodErrors(c.obj, c.old)).toEqual([]);
    });
  }
});

it('formats a zod rejection like the apiserver does', () => {
  const r = validateVisionJob(job({ retries: -1 }));
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(formatFieldErrors('VisionJob.visionq.dev', 'job-1', r.errors)).toBe(
    'VisionJob.visionq.dev "job-1" is invalid: spec.retries: Invalid value: -1: spec.retries in body should be greater than or equal to 0',
  );
});
