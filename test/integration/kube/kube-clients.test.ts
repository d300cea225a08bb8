import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyApiError } from '../../../src/kube/api-errors.js';
import { loadKubeConfig, makeClients } from '../../../src/kube/kube-clients.js';
import {
  jsonPatch,
  jsonPatchCustomObjectStatus,
  mergePatch,
  mergePatchCustomObject,
  mergePatchCustomObjectStatus,
} from '../../../src/kube/kube-patch.js';

interface Seen {
  method: string;
  url: string;
  contentType: string;
  body: unknown;
}

/** A recording HTTP endpoint: checks what the real client-node puts on the wire. */
describe('kube clients and patch helpers (recording HTTP server)', () => {
  let server: Server;
  let dir: string;
  let kubeconfigPath: string;
  const seen: Seen[] = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          contentType: String(req.headers['content-type'] ?? ''),
          body: data ? JSON.parse(data) : undefined,
        });
        if (req.url?.includes('/missing')) {
          res.writeHead(404, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound', message: 'missing' }));
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'ns' } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    dir = mkdtempSync(join(tmpdir(), 'visionq-kube-clients-'));
    kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfigPath,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "http://127.0.0.1:' + port + '"}}]',
        'users: [{name: u, user: {token: t0ken}}]',
        'contexts: [{name: ctx, context: {cluster: c, user: u}}]',
        'current-context: ctx',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads an explicit kubeconfig and marks plain-http servers skipTLSVerify', () => {
    const kc = loadKubeConfig(kubeconfigPath);
    expect(kc.getCurrentCluster()?.skipTLSVerify).toBe(true);
    expect(kc.getCurrentUser()?.token).toBe('t0ken');
  });

  it('falls back to $KUBECONFIG when no path is given', () => {
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = kubeconfigPath;
    try {
      const kc = loadKubeConfig();
      expect(kc.getCurrentCluster()?.server).toMatch(/^http:\/\/127\.0\.0\.1:/);
      expect(kc.getCurrentCluster()?.skipTLSVerify).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });

  it('sends merge and JSON patches with the right Content-Type, /status included', async () => {
    const { core, custom } = makeClients(loadKubeConfig(kubeconfigPath));
    const ref = { group: 'visionq.dev', version: 'v1alpha1', plural: 'visionjobs', namespace: 'ns', name: 'j1' };
    seen.length = 0;
    await mergePatch((p, o) => core.patchNamespacedPod(p, o), { name: 'x', namespace: 'ns', body: { metadata: { labels: { a: 'b' } } } });
    await jsonPatch((p, o) => core.patchNamespacedPod(p, o), {
      name: 'x',
      namespace: 'ns',
      body: [{ op: 'replace', path: '/metadata/labels/a', value: 'c' }],
    });
    await mergePatchCustomObject(custom, ref, { metadata: { finalizers: ['visionq.dev/cancel'] } });
    await mergePatchCustomObjectStatus(custom, ref, { status: { phase: 'Queued' } });
    await jsonPatchCustomObjectStatus(custom, ref, [{ op: 'add', path: '/status/attempts', value: 1 }]);
    expect(seen.map((s) => [s.method, s.url.split('?')[0], s.contentType])).toEqual([
      ['PATCH', '/api/v1/namespaces/ns/pods/x', 'application/merge-patch+json'],
      ['PATCH', '/api/v1/namespaces/ns/pods/x', 'application/json-patch+json'],
      ['PATCH', '/apis/visionq.dev/v1alpha1/namespaces/ns/visionjobs/j1', 'application/merge-patch+json'],
      ['PATCH', '/apis/visionq.dev/v1alpha1/namespaces/ns/visionjobs/j1/status', 'application/merge-patch+json'],
      ['PATCH', '/apis/visionq.dev/v1alpha1/namespaces/ns/visionjobs/j1/status', 'application/json-patch+json'],
    ]);
    expect(seen[3]!.body).toEqual({ status: { phase: 'Queued' } });
    expect(seen[4]!.body).toEqual([{ op: 'add', path: '/status/attempts', value: 1 }]);
  });

  it('surfaces API errors that classify by status code', async () => {
    const { core } = makeClients(loadKubeConfig(kubeconfigPath));
    const err = await core.readNamespacedPod({ name: 'missing', namespace: 'ns' }).catch((e: unknown) => e);
    expect(classifyApiError(err)).toBe('not-found');
  });
});
