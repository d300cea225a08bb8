import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoordinationV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait-for.js';
import { isAlive, readPod, shPod, startCluster, uniqueName, type Cluster } from './harness.js';

const run = promisify(execFile);

describe('sandbox process kubelet', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ nodes: [{ name: 'kl-node-1', cpu: '8', memory: '32Gi', gpus: 2 }] });
  });
  afterAll(async () => {
    await c?.stop();
  });

  async function phase(name: string, want: string): Promise<NonNullable<Awaited<ReturnType<typeof readPod>>>> {
    return waitFor(async () => {
      const p = await readPod(c.core, name);
      return p?.status?.phase === want ? p : undefined;
    }, { timeoutMs: 15_000, message: `pod ${name} phase ${want}` });
  }

  it('registers a Ready node with GPU capacity and labels', async () => {
    const node = await c.core.readNode({ name: 'kl-node-1' });
    expect(node.status?.capacity?.['nvidia.com/gpu']).toBe('2');
    expect(node.status?.allocatable?.cpu).toBe('8');
    expect(node.metadata?.labels?.['visionq.dev/simulated']).toBe('true');
    expect(node.metadata?.labels?.['nvidia.com/gpu.present']).toBe('true');
    expect(node.metadata?.labels?.['kubernetes.io/hostname']).toBe('kl-node-1');
    expect(node.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('True');
    // The heartbeat Lease kubectl describe node looks for.
    const lease = await c.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'kl-node-1', namespace: 'kube-node-lease' });
    expect(lease.spec?.holderIdentity).toBe('kl-node-1');
    expect(lease.metadata?.ownerReferences?.[0]?.uid).toBe(node.metadata?.uid);
  });

  it('runs a pod to Succeeded with exit 0 and serves its logs to kubectl', async () => {
    const name = uniqueName('ok');
    await c.core.createNamespacedPod({
      namespace: 'default',
      body: shPod(name, 'echo hello from $(POD_NAME); echo to-stderr >&2', {
        containers: [
          {
            name: 'main',
            image: 'ignored',
            command: ['sh', '-c'],
            args: ['echo hello from $POD_NAME; echo to-stderr >&2; node -e "console.log(process.argv[1])" $(POD_NAME)'],
            env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
          },
        ],
      }),
    });
    const pod = await phase(name, 'Succeeded');
    const st = pod.status?.containerStatuses?.[0];
    expect(st?.state?.terminated?.exitCode).toBe(0);
    expect(st?.state?.terminated?.reason).toBe('Completed');
    expect(pod.spec?.nodeName).toBe('kl-node-1');
    expect(pod.status?.podIP).toBe('127.0.0.1');
    expect(pod.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('False');
    const { stdout } = await run('kubectl', ['--kubeconfig', c.api.kubeconfigPath, 'logs', name, '-n', 'default']);
    expect(stdout).toContain(`hello from ${name}`);
    expect(stdout).toContain('to-stderr');
    expect(stdout).toContain(`${name}\n`);
  });

  it('reports a failing container as Failed with its exit code', async () => {
    const name = uniqueName('fail');
    await c.core.createNamespacedPod({ namespace: 'default', body: shPod(name, 'exit 7') });
    const pod = await phase(name, 'Failed');
    const t = pod.status?.containerStatuses?.[0]?.state?.terminated;
    expect(t?.exitCode).toBe(7);
    expect(t?.reason).toBe('Error');
  });

  it('fills downward-API env, plain values, $(VAR) expansion and the working dir', async () => {
    const name = uniqueName('env');
    const out = join(c.work, `${name}.json`);
    await c.core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name, namespace: 'default', labels: { app: 'vision' }, annotations: { team: 'cv' } },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: 'default',
          containers: [
            {
              name: 'main',
              image: 'x',
              workingDir: c.work,
              command: ['node', '-e', `require('fs').writeFileSync(process.argv[1], JSON.stringify({env: process.env, cwd: process.cwd()}))`],
              args: [out],
              env: [
                { name: 'PLAIN', value: 'v1' },
                { name: 'DERIVED', value: '$(PLAIN)-x-$$(PLAIN)-$(MISSING)' },
                { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: 'UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
                { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
                { name: 'TEAM', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['team']" } } },
                { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
              ],
            },
          ],
        },
      },
    });
    const pod = await phase(name, 'Succeeded');
    const { env, cwd } = JSON.parse(readFileSync(out, 'utf8'));
    expect(env).toMatchObject({
      PLAIN: 'v1',
      DERIVED: 'v1-x-$(PLAIN)-$(MISSING)',
      NAME: name,
      NS: 'default',
      UID: pod.metadata?.uid,
      APP: 'vision',
      TEAM: 'cv',
      NODE: 'kl-node-1',
      SA: 'default',
      POD_IP: '127.0.0.1',
      HOST_IP: '127.0.0.1',
      PATH: process.env.PATH,
    });
    expect(cwd).toBe(c.work);
  });

  it('reads env from ConfigMaps and Secrets, and waits with CreateContainerConfigError while a key is missing', async () => {
    const name = uniqueName('cfg');
    const out = join(c.work, `${name}.json`);
    await c.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name }, data: { MODE: 'fast', LEVEL: '3' } } });
    await c.core.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name }, data: { token: Buffer.from('s3cret').toString('base64') } },
    });
    await c.core.createNamespacedPod({
      namespace: 'default',
      body: shPod(name, '', {
        containers: [
          {
            name: 'main',
            image: 'x',
            command: ['node', '-e', `require('fs').writeFileSync(process.argv[1], JSON.stringify(process.env))`, out],
            envFrom: [{ configMapRef: { name }, prefix: 'CM_' }],
            env: [
              { name: 'TOKEN', valueFrom: { secretKeyRef: { name, key: 'token' } } },
              { name: 'LATE', valueFrom: { configMapKeyRef: { name, key: 'LATE' } } },
            ],
          },
        ],
      }),
    });
    const waiting = await waitFor(async () => {
      const w = (await readPod(c.core, name))?.status?.containerStatuses?.[0]?.state?.waiting;
      return w?.reason === 'CreateContainerConfigError' ? w : undefined;
    }, { message: 'CreateContainerConfigError' });
    expect(waiting.message).toBe(`couldn't find key LATE in ConfigMap default/${name}`);
    await c.core.patchNamespacedConfigMap(
      { name, namespace: 'default', body: { data: { LATE: 'now' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    // The kubelet retries on its back-off (1 s in these tests).
    await phase(name, 'Succeeded');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ CM_MODE: 'fast', CM_LEVEL: '3', TOKEN: 's3cret', LATE: 'now' });
  });

  it('runs init containers in order before the containers', async () => {
    const name = uniqueName('init');
    const f = join(c.work, `${name}.txt`);
    await c.core.createNamespacedPod({
      namespace: 'default',
      body: shPod(name, `echo main >> ${f}`, {
        initContainers: [
          { name: 'one', image: 'x', command: ['sh', '-c', `echo one >> ${f}`] },
          { name: 'two', image: 'x', command: ['sh', '-c', `echo two >> ${f}`] },
        ],
      }),
    });
    const pod = await phase(name, 'Succeeded');
    expect(readFileSync(f, 'utf8')).toBe('one\ntwo\nmain\n');
    expect(pod.status?.initContainerStatuses?.map((s) => s.state?.terminated?.reason)).toEqual(['Completed', 'Completed']);
    expect(pod.status?.conditions?.find((x) => x.type === 'Initialized')?.status).toBe('True');
  });

  it('restarts a failing container under restartPolicy OnFailure', async () => {
    const name = uniqueName('onfail');
    const counter = join(c.work, `${name}.count`);
    // Fails twice, then succeeds.
    const script = `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; [ $n -ge 3 ]`;
    await c.core.createNamespacedPod({ namespace: 'default', body: shPod(name, script, { restartPolicy: 'OnFailure' }) });
    const pod = await phase(name, 'Succeeded');
    const st = pod.status?.containerStatuses?.[0];
    expect(st?.restartCount).toBe(2);
    expect(st?.lastState?.terminated?.exitCode).toBe(1);
    expect(st?.state?.terminated?.exitCode).toBe(0);
  });

  it('leaves a container without command waiting with a clear reason', async () => {
    const name = uniqueName('nocmd');
    await c.core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'main', image: 'nginx' }] } },
    });
    const pod = await waitFor(async () => {
      const p = await readPod(c.core, name);
      return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerError' ? p : undefined;
    }, { message: 'CreateContainerError' });
    expect(pod.status?.phase).toBe('Pending');
    expect(pod.status?.containerStatuses?.[0]?.state?.waiting?.message).toMatch(/has no command/);
    await c.core.deleteNamespacedPod({ name, namespace: 'default' });
    await waitFor(async () => !(await readPod(c.core, name)), { message: 'pod without command deleted' });
  });

  it('graceful deletion: SIGTERM reaches a trapping process, then the pod is gone', async () => {
    const name = uniqueName('term');
    const marker = join(c.work, `${name}.term`);
    const pidFile = join(c.work, `${name}.pid`);
    await c.core.createNamespacedPod({
      namespace: 'default',
      body: shPod(name, `trap 'echo got-term > ${marker}; exit 0' TERM; echo $$$$ > ${pidFile}; while true; do sleep 0.1; done`, {
        terminationGracePeriodSeconds: 20,
      }),
    });
    await phase(name, 'Running');
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(isAlive(pid)).toBe(true);
    await c.core.deleteNamespacedPod({ name, namespace: 'default' });
    await waitFor(async () => !(await readPod(c.core, name)), { timeoutMs: 10_000, message: 'pod gone after SIGTERM' });
    expect(readFileSync(marker, 'utf8').trim()).toBe('got-term');
    expect(isAlive(pid)).toBe(false);
  });

  it('graceful deletion: SIGKILL after the grace period for a process that ignores SIGTERM', async () => {
    const name = uniqueName('stubborn');
    const pidFile = join(c.work, `${name}.pid`);
    await c.core.createNamespacedPod({
      namespace: 'default',
      body: shPod(name, `trap '' TERM; echo $$$$ > ${pidFile}; while true; do sleep 0.1; done`, {
        terminationGracePeriodSeconds: 1,
      }),
    });
    await phase(name, 'Running');
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(isAlive(pid)).toBe(true);
    await c.core.deleteNamespacedPod({ name, namespace: 'default' });
    // Still there while the grace period runs, with the deletion recorded.
    const deleting = await readPod(c.core, name);
    expect(deleting?.metadata?.deletionTimestamp).toBeTruthy();
    await waitFor(async () => !(await readPod(c.core, name)), { timeoutMs: 10_000, message: 'pod gone after SIGKILL' });
    expect(isAlive(pid)).toBe(false);
  });
});
