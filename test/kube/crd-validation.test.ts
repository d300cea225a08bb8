/**
 * The generated CRDs on the real kube-apiserver: accepted (structural schemas, CEL rules within
 * the cost budget), established, and refusing every manifest of the invalid-manifest table with
 * the field named, as the unit test proves the in-process validators do.
 */
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeControlPlane, type KubeControlPlane } from '../../src/sandbox/control-plane/index.js';
import { installCrds, readCrds } from '../../src/sandbox/crd-installer.js';
import { packageRoot } from '../../src/sandbox/package-root.js';
import { RawClient, type RawResponse } from '../conformance/raw-client.js';
import { cases, type Case } from '../unit/api/invalid-manifest-cases.js';
import { makeTempDir } from './kube-test-util.js';

let cp: KubeControlPlane;
let raw: RawClient;
let dir: { path: string; cleanup(): Promise<void> };
const NS = 'crd-validation';

beforeAll(async () => {
  dir = await makeTempDir('visionq-kube-crd-');
  cp = await startKubeControlPlane({ dir: dir.path, logger: pino({ level: 'warn' }) });
  await installCrds(cp.kc, await readCrds(join(packageRoot, 'crds')), 60_000);
  await cp.kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
  raw = new RawClient(cp.kc);
});

afterAll(async () => {
  await cp?.stop();
  await dir?.cleanup();
});

const plural = (obj: any): string => (obj.kind === 'VisionJob' ? 'visionjobs' : 'workerpools');
const base = (obj: any): string => `/apis/visionq.dev/v1alpha1/namespaces/${NS}/${plural(obj)}`;
// kubectl's default: unknown fields are errors, not silently pruned.
const STRICT = '?fieldValidation=Strict';

function withoutStatus(obj: any): any {
  const { status: _status, ...rest } = obj;
  return rest;
}

async function ok(res: RawResponse, what: string): Promise<any> {
  if (res.status >= 300) throw new Error(`${what}: ${res.status} ${res.text}`);
  return res.json();
}

/** The refusal of `c.obj`: created directly, or written over `c.old` (or its own valid spec). */
async function refusal(c: Case, name: string): Promise<RawResponse> {
  const named = (o: any) => ({ ...o, metadata: { ...o.metadata, namespace: NS, name: c.field === 'metadata.name' ? o.metadata.name : name } });
  const obj = named(c.obj);
  if (!c.old && !obj.status) return raw.request({ method: 'POST', path: `${base(obj)}${STRICT}`, body: obj });
  // An update: the valid starting object, with its status set through /status (create drops it).
  const start = named(c.old ?? withoutStatus(c.obj));
  let current = await ok(await raw.request({ method: 'POST', path: `${base(start)}${STRICT}`, body: withoutStatus(start) }), `create ${name}`);
  if (start.status) {
    current = await ok(await raw.request({ method: 'PUT', path: `${base(start)}/${name}/status`, body: { ...current, status: start.status } }), `status of ${name}`);
  }
  const rv = current.metadata.resourceVersion;
  // With no old object the case is about status alone (create drops status); with one it is
  // about the main endpoint's write over it (transition rules).
  if (c.old) {
    return raw.request({ method: 'PUT', path: `${base(obj)}/${name}${STRICT}`, body: { ...withoutStatus(obj), metadata: { ...obj.metadata, resourceVersion: rv } } });
  }
  return raw.request({ method: 'PUT', path: `${base(obj)}/${name}/status`, body: { ...current, status: obj.status } });
}

describe('the generated CRDs on the real apiserver', () => {
  it('are accepted and established (structural, CEL within the cost budget)', async () => {
    for (const name of ['visionjobs.visionq.dev', 'workerpools.visionq.dev']) {
      const crd = (await raw.request({ path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}` })).json();
      const cond = (t: string) => crd.status.conditions.find((x: any) => x.type === t)?.status;
      expect(cond('Established'), name).toBe('True');
      expect(cond('NamesAccepted'), name).toBe('True');
      expect(cond('NonStructuralSchema'), name).toBeUndefined();
    }
  });

  cases.forEach((c, i) => {
    it(`refuses ${c.name}, naming ${c.field}`, async () => {
      const res = await refusal(c, `case-${i}`);
      expect([400, 422], res.text).toContain(res.status);
      const body = res.json();
      const fields: string[] = (body.details?.causes ?? []).map((x: any) => x.field);
      // Strict field validation names the unknown field in the message only.
      const named = fields.includes(c.field) || String(body.message).includes(c.field);
      expect(named, `${c.field} not named in ${res.text}`).toBe(true);
    });
  });
});
