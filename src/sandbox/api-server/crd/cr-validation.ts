import type { StatusCause } from '../errors.js';
import type { KubeObject } from '../storage/store.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface CrValidationResult {
  object: KubeObject;
  causes: StatusCause[];
  unknownFields: string[];
  /** The Invalid message (formatted like the apiserver's) when causes is not empty. */
  message?: string;
}

/** Validates a custom resource against its version's openAPIV3Schema (structural schema semantics). */
export interface CustomResourceValidator {
  check(schema: Record<string, unknown> | undefined, obj: KubeObject, old: KubeObject | undefined): CrValidationResult;
}
