import { mkdir, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ListWatch, Watch, type V1ConfigMap } from '@kubernetes/client-node';
import { setupConformance, expectApiError, type ConformanceEnv } from '../conformance-env.js';
import { waitFor } from '../../helpers/wait-for.js';

/** Sandbox-only behaviour: fault switches (in-process and over HTTP) and pod logs from files. */
export function sandboxFaultsSuite(): void {
  describe('sandbox: fault switches and pod logs', () => {
    let env: ConformanceEnv;
    const faults = () => env.sandbox!.faults;
    beforeAll(async () => {
      env = await setupConformance('faults', { sandboxOnly: true });
    });
    afterEach(() => {
      env?.sandbox?.faults.reset();
    });
    afterAll(async () => {
      await env?.cleanup();
    });

    it('fails the next N matching requests with 429 + Retry-After or 500', async () => {
      faults().failNext({ count: 2, status: 429, verb: 'list', path: '/configmaps$', retryAfterSeconds: 3 });
      const first = await env.raw.request({ path: `/api/v1/namespaces/${env.namespace}/configmaps` });
      expect(first.status).toBe(429);
      expect(first.headers['retry-after']).toBe('3');
      expect(first.json()).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429 });
      // A non-matching verb passes.
      expect((await env.raw.request({ path: `/api/v1/namespaces/${env.namespace}/configmaps/x` })).status).toBe(404);
      expect((await env.raw.request({ path: `/api/v1/namespaces/${env.namespace}/configmaps` })).status).toBe(429);
      expect((await env.raw.request({ path: `/api/v1/namespaces/${env.namespace}/configmaps` })).status).toBe(200);
      faults().failNext({ count: 1, status: 500 });
      const err = await expectApiError(() => env.core.listNamespacedConfigMap({ namespace: env.namespace }));
      expect(err.code).toBe(500);
    });

    it('is controllable over HTTP: POST /_sandbox/faults', async () => {
      const set = await env.raw.request({ method: 'POST', path: '/_sandbox/faults', body: { action: 'failNext', count: 1, status: 500, verb: 'create' } });
      expect(set.status).toBe(200);
      const failed = await env.raw.request({ method: 'POST', path: `/api/v1/namespaces/${env.namespace}/configmaps`, body: { metadata: { name: 'f1' } } });
      expect(failed.status).toBe(500);
      const ok = await env.raw.request({ method: 'POST', path: `/api/v1/namespaces/${env.namespace}/configmaps`, body: { metadata: { name: 'f1' } } });
      expect(ok.status).toBe(201);
      const bad = await env.raw.request({ method: 'POST', path: '/_sandbox/faults', body: { action: 'explode' } });
      expect(bad.status).toBe(400);
      expect((await env.raw.request({ method: 'POST', path: '/_sandbox/faults', body: { action: 'reset' } })).status).toBe(200);
    });

    it('adds latency to matching requests only', async () => {
      faults().setLatency(1_000, '/api/v1/namespaces/[^/]+/secrets');
      let slowDone = false;
      const slow = env.raw.request({ path: `/api/v1/namespaces/${env.namespace}/secrets` }).then((r) => {
        slowDone = true;
        return r;
      });
      // Ordering, not timing: a request that does not match overtakes the delayed one.
      const fast = await env.raw.request({ path: `/api/v1/namespaces/${env.namespace}/configmaps` });
      expect(fast.status).toBe(200);
      expect(slowDone).toBe(false);
      expect((await slow).status).toBe(200);
    });

    it('drops open watch streams', async () => {
      const w = await env.raw.watch(`/api/v1/namespaces/${env.namespace}/configmaps?watch=true`);
      await waitFor(() => w.status === 200);
      const dropped = faults().dropWatches();
      expect(dropped).toBeGreaterThanOrEqual(1);
      await waitFor(() => w.ended, { message: 'stream ended' });
      const viaHttp = await env.raw.request({ method: 'POST', path: '/_sandbox/faults', body: { action: 'dropWatches' } });
      expect(viaHttp.json()).toMatchObject({ ok: true });
    });

    it('forces 410 Expired for the next watches, as an ERROR event or as the HTTP status', async () => {
      const list = await env.core.listNamespacedConfigMap({ namespace: env.namespace });
      faults().expireWatches({ count: 1, mode: 'event' });
      const w = await env.raw.watch(`/api/v1/namespaces/${env.namespace}/configmaps?watch=true&resourceVersion=${list.metadata!.resourceVersion}`);
      await waitFor(() => w.ended);
      expect(w.status).toBe(200);
      expect(w.events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
      // The log was compacted: the old resourceVersion is gone for good.
      const again = await env.raw.watch(`/api/v1/namespaces/${env.namespace}/configmaps?watch=true&resourceVersion=${Number(list.metadata!.resourceVersion) - 1}`);
      await waitFor(() => again.ended);
      expect(again.status).toBe(410);
      faults().expireWatches({ mode: 'status' });
      const s = await env.raw.watch(`/api/v1/namespaces/${env.namespace}/configmaps?watch=true`);
      await waitFor(() => s.ended);
      expect(s.status).toBe(410);
    });

    it('client-node ListWatch recovers from dropped watches and forced 410 by relisting', async () => {
      const path = `/api/v1/namespaces/${env.namespace}/configmaps`;
      const listFn = () => env.core.listNamespacedConfigMap({ namespace: env.namespace, labelSelector: 'suite=informer' });
      const informer = new ListWatch<V1ConfigMap>(path, new Watch(env.kc), listFn, false, 'suite=informer');
      const names = () => informer.list(env.namespace).map((c) => c.metadata!.name!).sort();
      informer.on('error', () => undefined);
      await informer.start();
      try {
        await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'inf-1', labels: { suite: 'informer' } } } });
        await waitFor(() => names().includes('inf-1'), { message: 'informer sees inf-1' });
        faults().expireWatches({ count: 1, mode: 'event' });
        faults().dropWatches();
        await env.core.createNamespacedConfigMap({ namespace: env.namespace, body: { metadata: { name: 'inf-2', labels: { suite: 'informer' } } } });
        await env.core.deleteNamespacedConfigMap({ name: 'inf-1', namespace: env.namespace });
        await waitFor(() => names().join(',') === 'inf-2', { timeoutMs: 20_000, message: 'informer relisted after 410' });
      } finally {
        await informer.stop();
      }
    });

    it('serves pod logs from the log directory: whole, tailLines, container choice, follow', async () => {
      await env.core.createNamespacedPod({
        namespace: env.namespace,
        body: { metadata: { name: 'logger' }, spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }, { name: 'side', image: 'busybox' }] } },
      });
      const waiting = await expectApiError(() => env.core.readNamespacedPodLog({ name: 'logger', namespace: env.namespace, container: 'main' }));
      expect(waiting.code).toBe(400);
      expect(String(waiting.body?.message ?? waiting.body)).toContain('is waiting to start');
      const dir = join(env.dir, 'pod-logs', env.namespace, 'logger');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'main.log'), 'one\ntwo\nthree\n');
      await writeFile(join(dir, 'side.log'), 'side says hi\n');
      expect(await env.core.readNamespacedPodLog({ name: 'logger', namespace: env.namespace, container: 'main' })).toBe('one\ntwo\nthree\n');
      expect(await env.core.readNamespacedPodLog({ name: 'logger', namespace: env.namespace, container: 'main', tailLines: 1 })).toBe('three\n');
      const ambiguous = await expectApiError(() => env.core.readNamespacedPodLog({ name: 'logger', namespace: env.namespace }));
      expect(ambiguous.code).toBe(400);
      expect((await env.kubectl(['logs', 'logger', '-c', 'side', '-n', env.namespace])).stdout).toBe('side says hi\n');
      expect((await env.kubectl(['logs', 'logger', '-c', 'main', '--tail=2', '-n', env.namespace])).stdout).toBe('two\nthree\n');

      // Follow: new lines stream until the container finishes.
      const child = spawn('kubectl', ['--kubeconfig', env.kubeconfigPath, 'logs', '-f', 'logger', '-c', 'main', '-n', env.namespace], { stdio: ['ignore', 'pipe', 'inherit'] });
      let followed = '';
      let exitCode: number | null | undefined;
      child.stdout.on('data', (c: Buffer) => (followed += c.toString()));
      child.on('exit', (c) => (exitCode = c));
      await waitFor(() => followed.includes('three'), { message: 'kubectl logs -f printed the existing lines' });
      await appendFile(join(dir, 'main.log'), 'four\n');
      const pod = await env.core.readNamespacedPod({ name: 'logger', namespace: env.namespace });
      await env.core.replaceNamespacedPodStatus({
        name: 'logger',
        namespace: env.namespace,
        body: {
          ...pod,
          status: {
            ...pod.status,
            phase: 'Succeeded',
            containerStatuses: [
              { name: 'main', ready: false, restartCount: 0, image: 'busybox', imageID: '', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
              { name: 'side', ready: false, restartCount: 0, image: 'busybox', imageID: '', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
            ],
          },
        },
      });
      try {
        await waitFor(() => exitCode !== undefined, { timeoutMs: 20_000, message: 'kubectl logs -f ends when the container has finished' });
      } finally {
        if (exitCode === undefined) child.kill('SIGTERM');
      }
      expect(exitCode).toBe(0);
      expect(followed).toBe('one\ntwo\nthree\nfour\n');
    });
  });
}
