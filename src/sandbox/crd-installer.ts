import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeConfig, V1CustomResourceDefinition } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { requestJson } from '../kube/kube-request.js';
import { statusCodeOf } from '../kube/api-errors.js';

/** A CRD could not be installed or did not become Established in time. */
export class CrdInstallError extends Error {
  override name = 'CrdInstallError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

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
 * Creates or replaces the CRDs and waits until each is Established, so that the caller
 * can create custom resources right after. Sent as raw JSON: the generated client would
 * drop the schemas' `x-kubernetes-*` keys (see requestJson).
 */
export async function installCrds(kc: KubeConfig, crds: V1CustomResourceDefinition[], timeoutMs = 15_000): Promise<void> {
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    try {
      const existing = await requestJson<V1CustomResourceDefinition>(kc, 'GET', `${CRD_PATH}/${name}`);
      await requestJson(kc, 'PUT', `${CRD_PATH}/${name}`, { ...crd, metadata: { ...crd.metadata, resourceVersion: existing.metadata?.resourceVersion } });
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw new CrdInstallError(`cannot install CRD ${name}`, { cause: err });
      await requestJson(kc, 'POST', CRD_PATH, crd);
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    for (;;) {
      const current = await requestJson<V1CustomResourceDefinition>(kc, 'GET', `${CRD_PATH}/${name}`);
      if (current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new CrdInstallError(`CRD ${name} not Established after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
