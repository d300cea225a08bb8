import { DNS1123_LABEL_MAX, DNS1123_LABEL_PATTERN } from './constants.js';
import type { ValidationRule } from './schema/json-schema-props.js';

/**
 * CEL rules shared by the CRDs. Kept deliberately simple: they must evaluate the same in
 * kube-apiserver and in @marcbachmann/cel-js (the sandbox and the tests).
 */

/** metadata.name must be a DNS-1123 label: names are used as NATS subject tokens. */
export function nameRule(): ValidationRule {
  return {
    rule:
      `!has(self.metadata.name) || (size(self.metadata.name) <= ${DNS1123_LABEL_MAX} && ` +
      `self.metadata.name.matches('${DNS1123_LABEL_PATTERN}'))`,
    message: "metadata.name must be a lowercase RFC 1123 label (lowercase alphanumerics or '-', at most 63, no dots)",
    fieldPath: '.metadata.name',
  };
}

/** Transition rules making optional fields immutable (including being added or removed). */
export function immutableFieldRules(fields: readonly string[]): ValidationRule[] {
  return fields.map((f) => ({
    rule: `has(self.${f}) == has(oldSelf.${f}) && (!has(self.${f}) || self.${f} == oldSelf.${f})`,
    message: `spec.${f} is immutable`,
    fieldPath: `.${f}`,
  }));
}
