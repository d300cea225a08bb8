/** Kubernetes-style field errors (k8s.io/apimachinery/pkg/util/validation/field). */
export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueForbidden'
  | 'FieldValueTypeInvalid'
  | 'FieldValueDuplicate';

export interface FieldError {
  /** k8s style path: `spec.backoff.factor`, `spec.args[2]`, `spec.input[key]`. */
  field: string;
  type: FieldErrorType;
  /** The detail, e.g. `spec.retries in body should be greater than or equal to 0`. */
  message: string;
  value?: unknown;
}

export type PathSegment = string | number | { key: string };

/** Renders path segments the way field.Path.String() does. */
export function renderPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string') out += out === '' ? seg : `.${seg}`;
    else out += `[${seg.key}]`;
  }
  return out;
}

const TYPE_TEXT: Record<FieldErrorType, string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueForbidden: 'Forbidden',
  FieldValueTypeInvalid: 'Invalid value',
  FieldValueDuplicate: 'Duplicate value',
};

/** Kubernetes reason strings as they appear in a Status' details.causes[].reason. */
export function fieldErrorReason(type: FieldErrorType): string {
  return type;
}

/** Renders a value the way field.Error does (strings quoted, objects summarised). */
export function renderValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return '"array"';
  return '"object"';
}

/** One error as field.Error.Error() prints it: `spec.retries: Invalid value: -1: detail`. */
export function formatFieldError(err: FieldError): string {
  const omitValue =
    err.type === 'FieldValueRequired' || err.type === 'FieldValueForbidden' || err.type === 'FieldValueTooLong';
  let body = TYPE_TEXT[err.type];
  if (!omitValue) body += `: ${renderValue(err.value)}`;
  if (err.message) body += `: ${err.message}`;
  return `${err.field === '' ? '<nil>' : err.field}: ${body}`;
}

/**
 * The message of a 422 Invalid status, e.g.
 * `VisionJob.visionq.dev "x" is invalid: spec.retries: Invalid value: -1: ...`.
 * `qualifiedKind` is `Kind.group` (e.g. `VisionJob.visionq.dev`).
 */
export function formatFieldErrors(qualifiedKind: string, name: string, errors: readonly FieldError[]): string {
  const parts = errors.map(formatFieldError);
  const joined = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  return `${qualifiedKind} "${name}" is invalid: ${joined}`;
}
