import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiextensionsV1Api, type KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import yaml from 'js-yaml';

/** A CRD did not become Established in time. */
export class CrdInstallError extends Error {
  override name = 'CrdInstallError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Reads every CustomResourceDefinition document in the *.yaml files of `dir`. */
export async function readCrds(dir: string): Promise<V1CustomResourceDefinition[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
  const crds: V1CustomResourceDefinition[] = [];
  for (const f of files) {
    for (const doc of yaml.loadAll(await readFile(join(dir, f), 'utf8'))) {
      if (doc && (doc as { kind?: string }).kind === 'CustomResourceDefinition') crds.push(doc as V1CustomResourceDefinition);
    }
  }
  return crds;
}

/**
 * Creates or replaces the CRDs and waits until each is Established, so that the
 * caller can create custom resources right after.
 */
export async function installCrds(kc: KubeConfig, crds: V1CustomResourceDefinition[], timeoutMs = 15_000): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    try {
      const existing = await api.readCustomResourceDefinition({ name });
      await api.replaceCustomResourceDefinition({
        name,
        body: { ...crd, metadata: { ...crd.metadata, resourceVersion: existing.metadata?.resourceVersion } },
      });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw new CrdInstallError(`cannot install CRD ${name}`, { cause: err });
      await api.createCustomResourceDefinition({ body: crd });
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    for (;;) {
      const current = await api.readCustomResourceDefinition({ name });
      if (current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new CrdInstallError(`CRD ${name} not Established after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
