/**
 * Validation of custom resources against an apiextensions v1 structural `openAPIV3Schema`,
 * the way kube-apiserver does it: OpenAPI value validation plus `x-kubernetes-validations`
 * CEL rules (transition rules only on update). Pure functions; used by the sandbox API server
 * and by the tests that prove the generated CRDs reject invalid manifests.
 */
import type { JSONSchemaProps } from './schema/json-schema-props.js';
import type { FieldError } from './schema/field-errors.js';
import { validateValue } from './schema/validate-value.js';

export type { JSONSchemaProps, ValidationRule } from './schema/json-schema-props.js';
export type { FieldError, FieldErrorType } from './schema/field-errors.js';
export { formatFieldErrors, formatFieldError } from './schema/field-errors.js';
export { findUnknownFields, pruneUnknownFields, applyDefaults } from './schema/pruning.js';
export { compileSchemaRules, CelRuleCompileError } from './schema/cel-rules.js';

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
