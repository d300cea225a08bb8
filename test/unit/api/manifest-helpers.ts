import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { crdSchema, generateCrds } from '../../../src/api/crd-gen.js';
import { applyDefaults, findUnknownFields, validateCustomResource, type FieldError } from '../../../src/sandbox/api-server/crd/crd-validate.js';
import { validateVisionJob, validateWorkerPool } from '../../../src/api/validate.js';

export const repoRoot = join(import.meta.dirname, '..', '..', '..');

const [vjCrd, wpCrd] = generateCrds();
const schemas: Record<string, ReturnType<typeof crdSchema>> = {
  VisionJob: crdSchema(vjCrd),
  WorkerPool: crdSchema(wpCrd),
};

/**
 * What kube-apiserver does with the generated CRD on create/update: default, reject unknown
 * fields (kubectl's default strict field validation), validate the schema and CEL rules.
 */
export function crdErrors(obj: any, oldObj?: any): FieldError[] {
  const schema = schemas[obj.kind];
  if (!schema) throw new Error(`no CRD for kind ${obj.kind}`);
  const unknown: FieldError[] = findUnknownFields(schema, obj).map((field) => ({
    field,
    type: 'FieldValueForbidden',
    message: 'field not declared in schema',
  }));
  const defaulted = applyDefaults(schema, obj);
  const old = oldObj === undefined ? undefined : applyDefaults(schema, oldObj);
  return [...unknown, ...validateCustomResource(schema, defaulted, old)];
}

export function zodErrors(obj: any, oldObj?: any): FieldError[] {
  const r = obj.kind === 'WorkerPool' ? validateWorkerPool(obj) : validateVisionJob(obj, oldObj);
  return r.ok ? [] : r.errors;
}

export function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) return yamlFilesUnder(p);
      return /\.ya?ml$/.test(name) ? [p] : [];
    })
    .sort();
}

export function loadManifests(file: string): any[] {
  return yaml.loadAll(readFileSync(file, 'utf8')).filter((d) => d !== null && d !== undefined);
}
