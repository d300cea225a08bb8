import { describe, expect, it } from 'vitest';
import {
  BUILTIN_JOB_DEFAULTS,
  backoffSeconds,
  getCondition,
  isConditionTrue,
  resolveJobSettings,
  setCondition,
  validateVisionJob,
  validateWorkerPool,
} from '../../../src/api/index.js';

const job = (spec: Record<string, unknown>) => ({
  apiVersion: 'visionq.dev/v1alpha1',
  kind: 'VisionJob',
  metadata: { name: 'j1', namespace: 'default' },
  spec,
});
const pool = (spec: Record<string, unknown>) => ({
  apiVersion: 'visionq.dev/v1alpha1',
  kind: 'WorkerPool',
  metadata: { name: 'gpu', namespace: 'default' },
  spec: { template: { spec: { containers: [{ name: 'algo', image: 'x' }] } }, maxReplicas: 2, ...spec },
});

describe('zod schemas', () => {
  it('applies VisionJob defaults', () => {
    const r = validateVisionJob(job({ pool: 'gpu' }));
    expect(r.ok && r.value.spec).toEqual({ pool: 'gpu', priority: 0, suspend: false });
  });

  it('applies WorkerPool defaults', () => {
    const r = validateWorkerPool(pool({}));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.spec).toMatchObject({ slotsPerWorker: 1, minReplicas: 0, ackWaitSeconds: 60, permanentExitCodes: [], scaleDownDelaySeconds: 60 });
  });

  it('keeps unknown PodSpec fields in the template', () => {
    const r = validateWorkerPool(pool({ template: { spec: { nodeSelector: { a: 'b' }, containers: [{ name: 'algo', resources: { limits: { 'nvidia.com/gpu': 1 } } }] } } }));
    expect(r.ok && r.value.spec.template.spec).toEqual({ nodeSelector: { a: 'b' }, containers: [{ name: 'algo', resources: { limits: { 'nvidia.com/gpu': 1 } } }] });
  });

  it('reports the value of the offending field for cross-field rules', () => {
    const r = validateWorkerPool(pool({ minReplicas: 3, maxReplicas: 2 }));
    expect(!r.ok && r.errors).toEqual([
      { field: 'spec.minReplicas', type: 'FieldValueInvalid', message: 'minReplicas must be less than or equal to maxReplicas', value: 3 },
    ]);
  });

  it('allows priority changes only while the job waits, and suspend until it finished', () => {
    const old = { ...job({ pool: 'gpu', priority: 1 }), status: { phase: 'Queued' } };
    expect(validateVisionJob(job({ pool: 'gpu', priority: 5, suspend: true }), old).ok).toBe(true);
    const running = { ...old, status: { phase: 'Running' } };
    const r = validateVisionJob(job({ pool: 'gpu', priority: 5 }), running);
    expect(!r.ok && r.errors.map((e) => e.field)).toEqual(['spec.priority']);
    expect(validateVisionJob(job({ pool: 'gpu', priority: 1 }), running).ok).toBe(true);
    expect(validateVisionJob(job({ pool: 'gpu', priority: 1, suspend: true }), running).ok).toBe(true);
    const done = { ...old, status: { phase: 'Failed' } };
    const f = validateVisionJob(job({ pool: 'gpu', priority: 1, suspend: true }), done);
    expect(!f.ok && f.errors.map((e) => e.field)).toEqual(['spec.suspend']);
  });

  it('treats adding an optional spec field on update as a change', () => {
    const r = validateVisionJob(job({ pool: 'gpu', retries: 2 }), job({ pool: 'gpu' }));
    expect(!r.ok && r.errors.map((e) => e.field)).toEqual(['spec.retries']);
  });
});

describe('resolveJobSettings', () => {
  it('uses built-in defaults without job or pool settings', () => {
    expect(resolveJobSettings({}, {})).toEqual(BUILTIN_JOB_DEFAULTS);
    expect(resolveJobSettings({})).toEqual({ timeoutSeconds: 3600, retries: 3, backoff: { initialSeconds: 10, maxSeconds: 600, factor: 2 } });
  });

  it('lets the job override the pool field by field', () => {
    const s = resolveJobSettings(
      { retries: 0, backoff: { factor: 3 } },
      { jobDefaults: { timeoutSeconds: 60, retries: 5, backoff: { initialSeconds: 1, factor: 1.5 } } },
    );
    expect(s).toEqual({ timeoutSeconds: 60, retries: 0, backoff: { initialSeconds: 1, maxSeconds: 600, factor: 3 } });
  });

  it('computes capped exponential backoff', () => {
    const b = { initialSeconds: 10, maxSeconds: 60, factor: 2 };
    expect([1, 2, 3, 4].map((n) => backoffSeconds(b, n))).toEqual([10, 20, 40, 60]);
  });
});

describe('conditions', () => {
  const t0 = new Date('2026-01-01T00:00:00.123Z');
  const t1 = new Date('2026-01-01T00:05:00Z');

  it('adds a condition with the transition time', () => {
    const c = setCondition(undefined, { type: 'Admitted', status: 'False', reason: 'PoolMissing', message: 'no pool', observedGeneration: 1 }, t0);
    expect(c).toEqual([{ type: 'Admitted', status: 'False', reason: 'PoolMissing', message: 'no pool', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }]);
  });

  it('keeps lastTransitionTime unless the status changes', () => {
    const a = setCondition([], { type: 'Admitted', status: 'False', reason: 'PoolMissing' }, t0);
    const b = setCondition(a, { type: 'Admitted', status: 'False', reason: 'PoolAtCapacity', message: 'busy' }, t1);
    expect(getCondition(b, 'Admitted')).toMatchObject({ reason: 'PoolAtCapacity', message: 'busy', lastTransitionTime: '2026-01-01T00:00:00Z' });
    const c = setCondition(b, { type: 'Admitted', status: 'True', reason: 'Queued' }, t1);
    expect(getCondition(c, 'Admitted')?.lastTransitionTime).toBe('2026-01-01T00:05:00Z');
    expect(isConditionTrue(c, 'Admitted')).toBe(true);
    expect(isConditionTrue(c, 'Running')).toBe(false);
    expect(a).toHaveLength(1);
    expect(a[0].reason).toBe('PoolMissing');
  });
});
