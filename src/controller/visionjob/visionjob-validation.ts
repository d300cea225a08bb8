/** Spec validation of a VisionJob as the controller reports it (condition Failed, reason InvalidSpec). */
import { validateVisionJob } from '../../api/validate.js';
import { formatFieldError } from '../../api/schema/field-errors.js';
import type { VisionJobObject } from '../manager/context-types.js';

/** The first field error of an invalid spec, formatted `spec.input: Too long: ...`; undefined if valid. */
export function specError(job: VisionJobObject): string | undefined {
  const r = validateVisionJob({ ...job, status: undefined });
  if (r.ok) return undefined;
  const errs = r.errors.filter((e) => e.field.startsWith('spec')).concat(r.errors.filter((e) => !e.field.startsWith('spec')));
  return errs.map(formatFieldError).join('; ');
}
