import type { Logger } from 'pino';
import {
  applyDefaults,
  findUnknownFields,
  formatFieldErrors,
  formatFieldError,
  pruneUnknownFields,
  validateCustomResource,
  type JSONSchemaProps,
} from './crd-validate.js';
import type { CustomResourceValidator } from './cr-validation.js';
import type { KubeObject } from '../storage/store.js';

/**
 * The custom resource validator on top of crd-validate.ts, in the apiserver's order:
 * note unknown fields (for fieldValidation), apply defaults, prune, then validate (with the old
 * object on update so transition rules run).
 */
export async function loadCrValidator(logger?: Logger): Promise<CustomResourceValidator> {
  return {
    check(schema, obj, old) {
      if (!schema) return { object: obj, causes: [], unknownFields: [] };
      const s = schema as JSONSchemaProps;
      const unknownFields = findUnknownFields(s, obj);
      const defaulted = applyDefaults(s, obj) as KubeObject;
      const pruned = pruneUnknownFields(s, defaulted) as KubeObject;
      let errors;
      try {
        errors = validateCustomResource(s, pruned, old);
      } catch (err) {
        logger?.warn({ err }, 'custom resource validation failed to run');
        throw err;
      }
      // The real apiserver names the kind qualified by its group: VisionJob.visionq.dev "x" is invalid.
      const apiVersion = String(obj.apiVersion ?? '');
      const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
      const kind = group ? `${String(obj.kind ?? '')}.${group}` : String(obj.kind ?? '');
      return {
        object: pruned,
        unknownFields,
        causes: errors.map((e) => ({ reason: e.type, message: formatFieldError(e).slice(e.field.length + 2), field: e.field })),
        message: errors.length > 0 ? formatFieldErrors(kind, String(obj.metadata?.name ?? ''), errors) : undefined,
      };
    },
  };
}
