import type { z } from 'zod';
import { WAITING_PHASES } from './constants.js';
import type { FieldError } from './schema/field-errors.js';
import { VisionJobSchema, VisionJobSpecSchema, type VisionJob } from './vision-job.js';
import { WorkerPoolSchema, type WorkerPool } from './worker-pool.js';
import { zodIssuesToFieldErrors } from './zod-field-errors.js';

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

function run<T>(schema: z.ZodType<T>, obj: unknown): ValidationResult<T> {
  const r = schema.safeParse(obj, { reportInput: true });
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, errors: zodIssuesToFieldErrors(r.error.issues, obj) };
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/**
 * Validates a VisionJob (defaults applied in the returned value). With `oldObj` (an update)
 * it also enforces what the CRD's transition rules enforce: the spec is immutable except
 * priority and notBefore, which may change only while the job waits (phase absent, Pending,
 * Queued), and suspend, which may change until the job has finished (a running job is stopped).
 */
export function validateVisionJob(obj: unknown, oldObj?: unknown): ValidationResult<VisionJob> {
  const r = run(VisionJobSchema, obj);
  if (!r.ok || oldObj === undefined) return r;
  const oldRaw = oldObj as { spec?: unknown; status?: { phase?: string } };
  const oldSpec = VisionJobSpecSchema.safeParse(oldRaw.spec);
  if (!oldSpec.success) return r;
  const errors: FieldError[] = [];
  const next = r.value.spec as Record<string, unknown>;
  const prev = oldSpec.data as Record<string, unknown>;
  const keys = new Set([...Object.keys(next), ...Object.keys(prev)]);
  const phase = oldRaw.status?.phase;
  const waiting = phase === undefined || (WAITING_PHASES as readonly string[]).includes(phase);
  for (const key of [...keys].sort()) {
    if (deepEqual(next[key], prev[key])) continue;
    if (key === 'priority' || key === 'notBefore') {
      if (!waiting) {
        errors.push({
          field: `spec.${key}`,
          type: 'FieldValueInvalid',
          value: next[key],
          message: `spec.${key} may change only while the job is Pending or Queued`,
        });
      }
      continue;
    }
    if (key === 'suspend') {
      if (!waiting && phase !== 'Running') {
        errors.push({ field: 'spec.suspend', type: 'FieldValueInvalid', value: next[key], message: 'spec.suspend may change only until the job has finished' });
      }
      continue;
    }
    errors.push({ field: `spec.${key}`, type: 'FieldValueInvalid', value: next[key], message: `spec.${key} is immutable` });
  }
  return errors.length ? { ok: false, errors } : r;
}

export function validateWorkerPool(obj: unknown): ValidationResult<WorkerPool> {
  return run(WorkerPoolSchema, obj);
}
