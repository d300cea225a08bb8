import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { crdFileName, crdSchema, generateCrds, renderCrdYaml } from '../../../src/api/crd-gen.js';
import { compileSchemaRules, type JSONSchemaProps } from '../../../src/sandbox/api-server/crd/crd-validate.js';

const crdDir = join(import.meta.dirname, '..', '..', '..', 'crds');

/** The structural-schema rules the apiserver enforces on CRDs (the ones our generator could break). */
function structuralProblems(s: JSONSchemaProps, path: string, out: string[]): string[] {
  const any = s as Record<string, unknown>;
  for (const bad of ['$ref', '$schema', 'propertyNames', 'const', 'definitions', '$defs']) {
    if (bad in any) out.push(`${path}: has ${bad}`);
  }
  if (!s.type && !s['x-kubernetes-preserve-unknown-fields'] && !s['x-kubernetes-int-or-string']) out.push(`${path}: no type`);
  if (Array.isArray(any.type)) out.push(`${path}: type is a list`);
  if (s.properties && s.additionalProperties !== undefined) out.push(`${path}: properties and additionalProperties`);
  if (s.additionalProperties === false) out.push(`${path}: additionalProperties false`);
  if (s.type === 'array' && !s.items) out.push(`${path}: array without items`);
  if (typeof any.exclusiveMinimum === 'number' || typeof any.exclusiveMaximum === 'number') out.push(`${path}: numeric exclusive bound`);
  for (const [k, v] of Object.entries(s.properties ?? {})) structuralProblems(v, `${path}.${k}`, out);
  if (s.items) structuralProblems(s.items, `${path}[]`, out);
  if (typeof s.additionalProperties === 'object') structuralProblems(s.additionalProperties, `${path}{}`, out);
  return out;
}

describe('generated CRDs', () => {
  for (const crd of generateCrds()) {
    const file = crdFileName(crd);

    it(`crds/${file} is up to date (run npm run gen:crds)`, () => {
      expect(readFileSync(join(crdDir, file), 'utf8')).toBe(renderCrdYaml(crd));
    });

    it(`${file} round-trips through YAML and is a structural schema with compilable CEL rules`, () => {
      expect(yaml.load(renderCrdYaml(crd))).toEqual(crd);
      const schema = crdSchema(crd);
      expect(structuralProblems(schema, 'openAPIV3Schema', [])).toEqual([]);
      expect(() => compileSchemaRules(schema)).not.toThrow();
    });
  }

  it('generation is deterministic', () => {
    expect(generateCrds().map(renderCrdYaml)).toEqual(generateCrds().map(renderCrdYaml));
  });

  it('declares names, scope, subresources and printer columns kubectl relies on', () => {
    const [vj, wp] = generateCrds() as any[];
    expect(vj.spec.names).toMatchObject({ kind: 'VisionJob', plural: 'visionjobs', shortNames: ['vj'], categories: ['visionq'] });
    expect(wp.spec.names).toMatchObject({ kind: 'WorkerPool', plural: 'workerpools', shortNames: ['wp'], categories: ['visionq'] });
    for (const c of [vj, wp]) {
      expect(c.spec.scope).toBe('Namespaced');
      expect(c.spec.versions[0].subresources).toEqual({ status: {} });
    }
    const cols = (c: any) => c.spec.versions[0].additionalPrinterColumns.filter((x: any) => !x.priority).map((x: any) => x.name);
    expect(cols(vj)).toEqual(['Pool', 'Phase', 'Attempts', 'Progress', 'Age', 'Duration']);
    expect(cols(wp)).toEqual(['Min', 'Max', 'Replicas', 'Busy', 'Queued', 'Running', 'Age']);
  });
});
