/**
 * Validation of custom resources against an apiextensions v1 structural `openAPIV3Schema`,
 * the way kube-apiserver does it: OpenAPI value validation plus `x-kubernetes-validations`
 * CEL rules (transition rules only on update). Pure functions; used by the sandbox API server
 * (its only user in src, hence here and not in src/api) and by the tests that prove the
 * generated CRDs reject invalid manifests. The schema types and field-error formatting it
 * shares with CRD generation stay in src/api/schema.
 */
import type { JSONSchemaProps } from '../../../api/schema/json-schema-props.js';
import type { FieldError } from '../../../api/schema/field-errors.js';
import { validateValue } from './validate-value.js';

export type { JSONSchemaProps, ValidationRule } from '../../../api/schema/json-schema-props.js';
export type { FieldError, FieldErrorType } from '../../../api/schema/field-errors.js';
export { formatFieldErrors, formatFieldError } from '../../../api/schema/field-errors.js';
export { findUnknownFields, pruneUnknownFields, applyDefaults } from './pruning.js';
export { compileSchemaRules, CelRuleCompileError } from './cel-rules.js';

/**
 * Validates `obj` (already defaulted and pruned, as the apiserver does before validating).
 * Pass `oldObj` on update so transition rules (those using `oldSelf`) run.
 */
export function validateCustomResource(schema: JSONSchemaProps, obj: unknown, oldObj?: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const hasOld = oldObj !== undefined && oldObj !== null;
  validateValue(schema, { path: [], value: obj, oldValue: hasOld ? oldObj : undefined, hasOld, isRoot: true }, errors);
  return errors;
}
