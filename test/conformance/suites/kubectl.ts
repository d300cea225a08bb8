import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupConformance, type ConformanceEnv } from '../conformance-env.js';
import { installWidgetCrd, removeWidgetCrd, widgetCrd, type WidgetCrd } from '../widget-crd.js';
import { waitFor } from '../../helpers/wait-for.js';
import { kubectlBinary } from '../../helpers/control-plane.js';

interface Background {
  child: ChildProcess;
  out: () => string;
  exited: () => number | null | undefined;
  stop(): void;
}

/** The real kubectl binary, unmodified, against the sandbox (or a real cluster). */
export function kubectlSuite(): void {
  describe('conformance: kubectl', () => {
    let env: ConformanceEnv;
    let crd: WidgetCrd;
    const children: Background[] = [];
    const background = (args: string[]): Background => {
      const child = spawn(kubectlBinary(), ['--kubeconfig', env.kubeconfigPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let code: number | null | undefined;
      child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
      child.on('exit', (c) => (code = c ?? -1));
      const bg = { child, out: () => out, exited: () => code, stop: () => (code === undefined ? void child.kill('SIGTERM') : undefined) };
      children.push(bg);
      return bg;
    };
    const widgetYaml = (name: string, spec: string, extra = '') =>
      `apiVersion: ${crd.group}/v1\nkind: ${crd.kind}\nmetadata:\n  name: ${name}\n  namespace: ${env.namespace}\n${extra}spec:\n${spec}`;
    const ns = () => ['-n', env.namespace];

    beforeAll(async () => {
      env = await setupConformance('kubectl');
      crd = widgetCrd(env.suffix);
      await installWidgetCrd(env, crd);
    });
    afterAll(async () => {
      for (const c of children) c.stop();
      if (env) await removeWidgetCrd(env, crd);
      await env?.cleanup();
    });

    it('apply creates, reports unchanged, then updates with the last-applied annotation', async () => {
      const manifest = widgetYaml('apply-me', '  size: 2\n  pool: p1\n');
      expect((await env.kubectl(['apply', '-f', '-'], { input: manifest })).stdout).toContain('created');
      expect((await env.kubectl(['apply', '-f', '-'], { input: manifest })).stdout).toContain('unchanged');
      expect((await env.kubectl(['apply', '-f', '-'], { input: manifest.replace('size: 2', 'size: 3') })).stdout).toContain('configured');
      const obj = JSON.parse((await env.kubectl(['get', crd.plural + '.' + crd.group, 'apply-me', ...ns(), '-o', 'json'])).stdout);
      expect(obj.spec).toEqual({ size: 3, pool: 'p1' });
      expect(obj.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain('"size":3');
      expect(obj.metadata.generation).toBe(2);
    });

    it('apply of an invalid object fails naming the field', async () => {
      const r = await env.kubectl(['apply', '-f', '-'], { input: widgetYaml('invalid', '  size: 500\n'), allowFail: true });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('spec.size');
      const strict = await env.kubectl(['apply', '-f', '-'], { input: widgetYaml('unknown', '  size: 5\n  bogus: 1\n'), allowFail: true });
      expect(strict.code).not.toBe(0);
      expect(strict.stderr).toContain('bogus');
    });

    it('apply --server-side creates and updates', async () => {
      const manifest = widgetYaml('ssa-me', '  size: 4\n');
      expect((await env.kubectl(['apply', '--server-side', '-f', '-'], { input: manifest })).stdout).toContain('serverside-applied');
      await env.kubectl(['apply', '--server-side', '-f', '-'], { input: manifest.replace('size: 4', 'size: 6') });
      const obj = JSON.parse((await env.kubectl(['get', `${crd.plural}.${crd.group}`, 'ssa-me', ...ns(), '-o', 'json'])).stdout);
      expect(obj.spec.size).toBe(6);
    });

    it('get shows the printer columns; -o wide, yaml and json work', async () => {
      await env.kubectl(['apply', '-f', '-'], { input: widgetYaml('cols', '  size: 1\n  pool: gpu-pool\n') });
      await env.kubectl(['patch', `${crd.plural}.${crd.group}`, 'cols', ...ns(), '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running","progress":{"percent":37}}}']);
      const table = (await env.kubectl(['get', `${crd.plural}.${crd.group}`, ...ns()])).stdout;
      const lines = table.trim().split('\n');
      expect(lines[0]).toMatch(/^NAME\s+POOL\s+PHASE\s+PERCENT\s+AGE/);
      expect(table).toMatch(/cols\s+gpu-pool\s+Running\s+37\s+/);
      expect((await env.kubectl(['get', `${crd.plural}.${crd.group}`, 'cols', ...ns(), '-o', 'wide'])).stdout).toContain('gpu-pool');
      expect((await env.kubectl(['get', `${crd.plural}.${crd.group}`, 'cols', ...ns(), '-o', 'yaml'])).stdout).toContain('percent: 37');
      expect((await env.kubectl(['get', `wd${env.suffix}`, 'cols', ...ns(), '-o', 'jsonpath={.spec.pool}'])).stdout).toBe('gpu-pool');
      const pods = await env.kubectl(['get', 'pods', ...ns(), '-o', 'wide']);
      expect(pods.code).toBe(0);
    });

    it('get -w prints changes as they happen', async () => {
      await env.kubectl(['apply', '-f', '-'], { input: widgetYaml('watched', '  size: 1\n') });
      const w = background(['get', `${crd.plural}.${crd.group}`, 'watched', ...ns(), '-w']);
      await waitFor(() => w.out().includes('watched'), { timeoutMs: 20_000, message: 'initial row' });
      await env.kubectl(['patch', `${crd.plural}.${crd.group}`, 'watched', ...ns(), '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Finishing"}}']);
      await waitFor(() => w.out().includes('Finishing'), { timeoutMs: 20_000, message: 'updated row from the watch' });
      w.stop();
    });

    it('describe shows the object and its Events', async () => {
      await env.kubectl(['apply', '-f', '-'], { input: widgetYaml('described', '  size: 1\n') });
      const obj = JSON.parse((await env.kubectl(['get', `${crd.plural}.${crd.group}`, 'described', ...ns(), '-o', 'json'])).stdout);
      await env.core.createNamespacedEvent({
        namespace: env.namespace,
        body: {
          metadata: { generateName: 'described.' },
          involvedObject: { apiVersion: `${crd.group}/v1`, kind: crd.kind, name: 'described', namespace: env.namespace, uid: obj.metadata.uid },
          reason: 'ConformanceReason',
          message: 'something happened to the widget',
          type: 'Normal',
          source: { component: 'conformance' },
          firstTimestamp: new Date(),
          lastTimestamp: new Date(),
          count: 1,
        },
      });
      const out = (await env.kubectl(['describe', `${crd.plural}.${crd.group}`, 'described', ...ns()])).stdout;
      expect(out).toMatch(/Name:\s+described/);
      expect(out).toContain('Events:');
      expect(out).toContain('ConformanceReason');
      expect(out).toContain('something happened to the widget');
      await env.kubectl(['run', 'desc-pod', '--image=busybox', '--restart=Never', ...ns()]);
      const pod = (await env.kubectl(['describe', 'pod', 'desc-pod', ...ns()])).stdout;
      expect(pod).toMatch(/Name:\s+desc-pod/);
      expect(pod).toMatch(/Status:\s+Pending/);
    });

    it('wait --for=condition and --for=delete', async () => {
      await env.kubectl(['apply', '-f', '-'], { input: widgetYaml('waited', '  size: 1\n') });
      const waiter = background(['wait', `${crd.plural}.${crd.group}/waited`, ...ns(), '--for=condition=Ready', '--timeout=30s']);
      await env.kubectl([
        'patch',
        `${crd.plural}.${crd.group}`,
        'waited',
        ...ns(),
        '--subresource=status',
        '--type=merge',
        '-p',
        '{"status":{"conditions":[{"type":"Ready","status":"True","reason":"Done","message":"ok"}]}}',
      ]);
      await waitFor(() => waiter.exited() !== undefined, { timeoutMs: 35_000, message: 'kubectl wait --for=condition exits' });
      expect(waiter.exited(), waiter.out()).toBe(0);
      expect(waiter.out()).toContain('condition met');
      const delWaiter = background(['wait', `${crd.plural}.${crd.group}/waited`, ...ns(), '--for=delete', '--timeout=30s']);
      await env.kubectl(['delete', `${crd.plural}.${crd.group}`, 'waited', ...ns(), '--wait=false']);
      await waitFor(() => delWaiter.exited() !== undefined, { timeoutMs: 35_000, message: 'kubectl wait --for=delete exits' });
      expect(delWaiter.exited(), delWaiter.out()).toBe(0);
    });

    it('delete waits for finalizers; removing them with patch completes the deletion', async () => {
      await env.kubectl(['apply', '-f', '-'], { input: widgetYaml('finalized', '  size: 1\n', '  finalizers:\n  - conformance.visionq.dev/hold\n') });
      expect((await env.kubectl(['delete', `${crd.plural}.${crd.group}`, 'finalized', ...ns(), '--wait=false'])).stdout).toContain('deleted');
      const still = JSON.parse((await env.kubectl(['get', `${crd.plural}.${crd.group}`, 'finalized', ...ns(), '-o', 'json'])).stdout);
      expect(still.metadata.deletionTimestamp).toBeTruthy();
      await env.kubectl(['patch', `${crd.plural}.${crd.group}`, 'finalized', ...ns(), '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
      await waitFor(async () => (await env.kubectl(['get', `${crd.plural}.${crd.group}`, 'finalized', ...ns(), '--ignore-not-found'])).stdout.trim() === '', {
        timeoutMs: 20_000,
        message: 'object gone after finalizer removal',
      });
    });

    it('patch (merge, json, strategic), label and annotate', async () => {
      await env.kubectl(['create', 'configmap', 'patched', ...ns(), '--from-literal=a=1']);
      await env.kubectl(['patch', 'configmap', 'patched', ...ns(), '--type=merge', '-p', '{"data":{"b":"2"}}']);
      await env.kubectl(['patch', 'configmap', 'patched', ...ns(), '--type=json', '-p', '[{"op":"remove","path":"/data/a"}]']);
      await env.kubectl(['patch', 'configmap', 'patched', ...ns(), '-p', '{"data":{"c":"3"}}']);
      await env.kubectl(['label', 'configmap', 'patched', ...ns(), 'tier=gpu']);
      await env.kubectl(['annotate', 'configmap', 'patched', ...ns(), 'note=hi']);
      const cm = JSON.parse((await env.kubectl(['get', 'configmap', 'patched', ...ns(), '-o', 'json'])).stdout);
      expect(cm.data).toEqual({ b: '2', c: '3' });
      expect(cm.metadata.labels).toEqual({ tier: 'gpu' });
      expect(cm.metadata.annotations).toMatchObject({ note: 'hi' });
      const selected = (await env.kubectl(['get', 'configmaps', ...ns(), '-l', 'tier=gpu', '-o', 'name'])).stdout.trim();
      expect(selected).toBe('configmap/patched');
      await env.kubectl(['label', 'configmap', 'patched', ...ns(), 'tier-']);
      const unlabelled = JSON.parse((await env.kubectl(['get', 'configmap', 'patched', ...ns(), '-o', 'json'])).stdout);
      expect(unlabelled.metadata.labels ?? {}).toEqual({});
    });
  });
}
