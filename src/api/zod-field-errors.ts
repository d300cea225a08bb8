import type { z } from 'zod';
import { renderPath, type FieldError, type FieldErrorType } from './schema/field-errors.js';

const JSON_TYPES: Record<string, string> = {
  int: 'integer',
  int32: 'integer',
  number: 'number',
  string: 'string',
  boolean: 'boolean',
  object: 'object',
  record: 'object',
  array: 'array',
};

function jsonTypeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

type Issue = z.core.$ZodIssue & { input?: unknown; params?: Record<string, unknown> };

/** Maps zod issues (parsed with `reportInput: true`) to Kubernetes-style field errors. */
export function zodIssuesToFieldErrors(issues: readonly z.core.$ZodIssue[], root?: unknown): FieldError[] {
  const out: FieldError[] = [];
  for (const raw of issues) {
    const issue = raw as Issue;
    const path = [...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    const field = renderPath(path);
    const hasInput = 'input' in issue;
    const value = issue.input;
    const push = (type: FieldErrorType, message: string, v: unknown = value) => out.push({ field, type, message, value: v });
    switch (issue.code) {
      case 'invalid_type':
        if (!hasInput || value === undefined) push('FieldValueRequired', '', undefined);
        else {
          const expected = JSON_TYPES[issue.expected] ?? issue.expected;
          push('FieldValueTypeInvalid', `${field} in body must be of type ${expected}: "${jsonTypeOf(value)}"`, jsonTypeOf(value));
        }
        break;
      case 'too_big': {
        if (issue.origin === 'array' || issue.origin === 'set') {
          push('FieldValueTooMany', `must have at most ${issue.maximum} items`, Array.isArray(value) ? value.length : value);
        } else if (issue.origin === 'string') {
          push('FieldValueTooLong', `may not be longer than ${issue.maximum}`);
        } else {
          push('FieldValueInvalid', `${field} in body should be less than ${issue.inclusive ? 'or equal to ' : ''}${issue.maximum}`);
        }
        break;
      }
      case 'too_small': {
        if (issue.origin === 'array' || issue.origin === 'set') {
          push('FieldValueInvalid', `${field} in body should have at least ${issue.minimum} items`);
        } else if (issue.origin === 'string') {
          push('FieldValueInvalid', `${field} in body should be at least ${issue.minimum} chars long`);
        } else {
          push('FieldValueInvalid', `${field} in body should be greater than ${issue.inclusive ? 'or equal to ' : ''}${issue.minimum}`);
        }
        break;
      }
      case 'invalid_value':
        push('FieldValueNotSupported', `supported values: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`);
        break;
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          out.push({ field: renderPath([...path, key]), type: 'FieldValueForbidden', message: 'field not declared in schema' });
        }
        break;
      case 'invalid_format': {
        const pattern = (issue as { pattern?: unknown }).pattern;
        const shown = pattern instanceof RegExp ? pattern.source : (pattern ?? issue.format);
        push('FieldValueInvalid', `${field} in body should match '${shown}'`);
        break;
      }
      case 'not_multiple_of':
        push('FieldValueInvalid', `${field} in body should be a multiple of ${issue.divisor}`);
        break;
      case 'custom': {
        // Refinements report the whole checked object as input; name the offending field's value instead.
        const t = (issue.params?.fieldErrorType as FieldErrorType | undefined) ?? 'FieldValueInvalid';
        push(t, issue.message, root === undefined ? value : valueAt(root, path));
        break;
      }
      default:
        push('FieldValueInvalid', issue.message);
    }
  }
  return out;
}
