/**
 * crds/ is the single source of truth (generated from src/api); the chart ships
 * byte-identical copies in charts/visionq/crds/ (Helm installs that directory
 * before the templates and never deletes or upgrades it; see docs/chart.md).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHART_DIR, HelmSandbox, REPO_ROOT } from './helm.js';
import { KubeSchemaValidator } from './k8s-schemas.js';

const SYNC_HINT = 'out of sync: run `cp crds/*.yaml charts/visionq/crds/` (crds/ is the source of truth)';
const yamlFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();

let helm: HelmSandbox;
beforeAll(() => {
  helm = HelmSandbox.create();
});
afterAll(() => helm?.cleanup());

describe('chart CRDs', () => {
  it('are exactly the files in crds/', () => {
    const source = yamlFiles(join(REPO_ROOT, 'crds'));
    expect(source).toEqual(expect.arrayContaining(['visionjobs.visionq.dev.yaml', 'workerpools.visionq.dev.yaml']));
    expect(yamlFiles(join(CHART_DIR, 'crds')), SYNC_HINT).toEqual(source);
    for (const f of source) {
      expect(readFileSync(join(CHART_DIR, 'crds', f), 'utf8'), `${f} ${SYNC_HINT}`).toBe(readFileSync(join(REPO_ROOT, 'crds', f), 'utf8'));
    }
  });

  it('render with --include-crds as valid CustomResourceDefinitions of visionq.dev with a status subresource', async () => {
    const objs = await helm.render({ includeCrds: true });
    const crds = objs.filter((o) => o.kind === 'CustomResourceDefinition') as unknown as V1CustomResourceDefinition[];
    expect(crds.map((c) => c.metadata!.name).sort()).toEqual(['visionjobs.visionq.dev', 'workerpools.visionq.dev']);
    const schemas = new KubeSchemaValidator();
    for (const crd of crds) {
      expect(schemas.validate(crd as never), crd.metadata!.name).toEqual([]);
      expect(crd.spec.group).toBe('visionq.dev');
      expect(crd.spec.scope).toBe('Namespaced');
      expect(crd.spec.names.categories).toContain('visionq');
      const served = crd.spec.versions.filter((v) => v.served);
      expect(served.map((v) => v.name)).toContain('v1alpha1');
      for (const v of served) expect(v.subresources?.status).toEqual({});
    }
    expect(crds.find((c) => c.spec.names.plural === 'visionjobs')!.spec.names.shortNames).toContain('vj');
    expect(crds.find((c) => c.spec.names.plural === 'workerpools')!.spec.names.shortNames).toContain('wp');
  });
});
