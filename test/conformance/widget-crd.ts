import type { ConformanceEnv } from './conformance-env.js';
import { waitFor } from '../helpers/wait-for.js';

export interface WidgetCrd {
  group: string;
  version: string;
  plural: string;
  kind: string;
  name: string;
  manifest: Record<string, any>;
}

/** A test CRD with a status subresource, printer columns, defaults, CEL rules (one per file: unique group). */
export function widgetCrd(suffix: string, scope: 'Namespaced' | 'Cluster' = 'Namespaced'): WidgetCrd {
  const group = `c${suffix}.conformance.visionq.dev`;
  const plural = scope === 'Namespaced' ? 'widgets' : 'clusterwidgets';
  const kind = scope === 'Namespaced' ? 'Widget' : 'ClusterWidget';
  const name = `${plural}.${group}`;
  const manifest = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name },
    spec: {
      group,
      scope,
      names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List`, shortNames: [`${scope === 'Namespaced' ? 'wd' : 'cwd'}${suffix}`] },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Pool', type: 'string', jsonPath: '.spec.pool' },
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Percent', type: 'integer', jsonPath: '.status.progress.percent' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  required: ['size'],
                  properties: {
                    size: { type: 'integer', minimum: 1, maximum: 100 },
                    pool: { type: 'string', default: 'default-pool' },
                    mode: { type: 'string', enum: ['fast', 'slow'] },
                    tags: { type: 'array', items: { type: 'string' } },
                  },
                  'x-kubernetes-validations': [{ rule: 'self.size != 13', message: 'size 13 is unlucky' }],
                },
                status: {
                  type: 'object',
                  properties: {
                    phase: { type: 'string' },
                    progress: { type: 'object', properties: { percent: { type: 'integer' } } },
                    conditions: {
                      type: 'array',
                      items: {
                        type: 'object',
                        properties: { type: { type: 'string' }, status: { type: 'string' }, reason: { type: 'string' }, message: { type: 'string' } },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
  return { group, version: 'v1', plural, kind, name, manifest };
}

/** Creates the CRD and waits until it is Established and its resource is served. */
export async function installWidgetCrd(env: ConformanceEnv, crd: WidgetCrd): Promise<void> {
  // Raw JSON: client-node's serializer expects its own property names (`_default`,
  // `xKubernetesValidations`) and would silently drop `default` and `x-kubernetes-validations`.
  const res = await env.raw.request({ method: 'POST', path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', body: crd.manifest });
  if (res.status !== 201) throw new Error(`creating CRD ${crd.name}: ${res.status} ${res.text}`);
  await waitFor(
    async () => {
      const got = await env.ext.readCustomResourceDefinition({ name: crd.name });
      const established = got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      if (!established) return false;
      const res = await env.raw.request({ path: `/apis/${crd.group}/${crd.version}` });
      return res.status === 200;
    },
    // Names conflicts (a short name another CRD has) leave it NamesAccepted=False for ever.
    { timeoutMs: 30_000, message: `CRD ${crd.name} established` },
  );
}

export async function removeWidgetCrd(env: ConformanceEnv, crd: WidgetCrd): Promise<void> {
  await env.ext.deleteCustomResourceDefinition({ name: crd.name }).catch(() => undefined);
}
