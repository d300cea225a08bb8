import { relative } from 'node:path';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crdErrors, loadManifests, repoRoot, yamlFilesUnder, zodErrors } from './manifest-helpers.js';

const files = yamlFilesUnder(join(repoRoot, 'examples'));

describe('examples validate against the zod schemas and the generated CRDs', () => {
  it('finds the examples the docs refer to', () => {
    const names = files.map((f) => relative(repoRoot, f));
    expect(names).toEqual(
      expect.arrayContaining([
        'examples/gpu-cluster/workerpool.yaml',
        'examples/sandbox/workerpool.yaml',
        'examples/sandbox/jobs/normal.yaml',
        'examples/sandbox/jobs/high-priority.yaml',
        'examples/sandbox/jobs/transient-failure.yaml',
        'examples/sandbox/jobs/permanent-failure.yaml',
      ]),
    );
  });

  for (const file of files) {
    for (const doc of loadManifests(file)) {
      it(`${relative(repoRoot, file)}: ${doc.kind}/${doc.metadata?.name}`, () => {
        expect(zodErrors(doc)).toEqual([]);
        expect(crdErrors(doc)).toEqual([]);
      });
    }
  }

  it('the sandbox pool matches the worker contract', () => {
    const [pool] = loadManifests(join(repoRoot, 'examples/sandbox/workerpool.yaml'));
    expect(pool.metadata).toEqual({ name: 'sample', namespace: 'default' });
    expect(pool.spec.permanentExitCodes).toEqual([3]);
    expect(pool.spec.maxReplicas).toBe(4);
    expect(pool.spec.ackWaitSeconds).toBe(30);
    const c = pool.spec.template.spec.containers[0];
    expect(c.command).toEqual(['node', 'examples/algorithms/sample-vision.mjs']);
    expect(c.resources.requests['nvidia.com/gpu']).toBe(1);
    expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
  });

  it('the GPU pool requests a GPU and tolerates the GPU taint', () => {
    const [pool] = loadManifests(join(repoRoot, 'examples/gpu-cluster/workerpool.yaml'));
    const spec = pool.spec.template.spec;
    expect(spec.containers[0].resources.requests['nvidia.com/gpu']).toBe(1);
    expect(spec.tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' });
  });
});
