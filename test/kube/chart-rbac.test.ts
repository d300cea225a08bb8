/**
 * The chart on the real control plane: `helm install` with external NATS, the controller's
 * pod template admitted in a namespace that enforces the restricted Pod Security Standard,
 * and the controller itself run with the chart's ServiceAccount token, so real RBAC decides
 * whether the chart's rules are enough (a job runs to Succeeded) and not more (a few things
 * it must be refused).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, AuthorizationV1Api, CoreV1Api, CustomObjectsApi, type V1Deployment } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/sandbox.js';
import { freePort } from '../../src/sandbox/free-port.js';
import { HelmSandbox, REPO_ROOT } from '../unit/chart/helm.js';
import { waitFor } from '../helpers/wait-for.js';
import { makeTempDir } from './kube-test-util.js';

const NS = 'visionq-system';
const WORK_NS = 'vision';
const RELEASE = 'vq';
const SA = `${RELEASE}-visionq`;

let sb: SandboxHandle;
let helm: HelmSandbox;
let kubeconfig: string;
let controller: ChildProcess | undefined;
let controllerOutput = '';
let dir: { path: string; cleanup(): Promise<void> };

beforeAll(async () => {
  dir = await makeTempDir('visionq-kube-chart-');
  sb = await startSandbox({ dir: dir.path, nodes: 1, gpusPerNode: 2, maxNodes: 1, nodeProvisionSeconds: 1, logger: pino({ level: 'warn' }), controlPlane: 'kube' });
  helm = HelmSandbox.create();
  kubeconfig = join(helm.root, 'kubeconfig');
  copyFileSync(sb.kubeconfigPath, kubeconfig);
  chmodSync(kubeconfig, 0o600);
});

afterAll(async () => {
  if (controller && controller.exitCode === null) {
    const exited = new Promise((resolve) => controller!.once('exit', resolve));
    controller.kill('SIGKILL');
    await exited;
  }
  await sb?.stop();
  helm?.cleanup();
  await dir?.cleanup();
});

function helmArgs(cmd: string[], set: Record<string, unknown> = {}): string[] {
  const args = [...cmd, '--kubeconfig', kubeconfig, '--namespace', NS];
  for (const [k, v] of Object.entries(set)) args.push('--set-json', `${k}=${JSON.stringify(v)}`);
  return args;
}

async function deployment(): Promise<V1Deployment> {
  return sb.kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace: NS, name: SA });
}

describe('the chart on the real control plane', () => {
  it('installs with external NATS, and the controller pods are admitted under restricted Pod Security', async () => {
    const core = sb.kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } } } });
    await core.createNamespace({ body: { metadata: { name: WORK_NS } } });
    const r = await helm.run(helmArgs(['install', RELEASE, helm.chartDir], {
      'nats.enabled': false,
      'nats.external.url': sb.natsUrl,
      'workerServiceAccount.namespaces': [NS, WORK_NS],
      // No simulated node matches: the pods stay Pending, admitted but never run (the
      // image cannot be pulled here); the controller runs below as a local process.
      'controller.nodeSelector': { 'visionq.dev/test-no-such-node': 'true' },
    }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('STATUS: deployed');
    // The real Deployment and ReplicaSet controllers create the pods; PodSecurity would
    // refuse them (FailedCreate on the ReplicaSet) if the template broke the profile.
    const pods = await waitFor(async () => {
      const list = await core.listNamespacedPod({ namespace: NS, labelSelector: `app.kubernetes.io/instance=${RELEASE}` });
      return list.items.length === 2 ? list.items : undefined;
    }, { timeoutMs: 60_000, message: 'the chart\'s two controller pods created by the ReplicaSet' });
    expect(pods.every((p) => p.spec?.securityContext?.runAsNonRoot === true)).toBe(true);
    const events = await core.listNamespacedEvent({ namespace: NS });
    expect(events.items.filter((e) => e.reason === 'FailedCreate').map((e) => e.message)).toEqual([]);
  });

  it('a pod that breaks the restricted profile is refused in that namespace (the check has teeth)', async () => {
    const core = sb.kc.makeApiClient(CoreV1Api);
    const err = await core.createNamespacedPod({
      namespace: NS,
      body: { metadata: { name: 'privileged-probe' }, spec: { containers: [{ name: 'c', image: 'x', securityContext: { privileged: true } }] } },
    }).then(() => undefined, (e: unknown) => e as { code?: number; body?: string });
    expect(err?.code).toBe(403);
    expect((JSON.parse(String(err?.body)) as { message: string }).message).toContain('violates PodSecurity "restricted:latest"');
  });

  it('the controller runs a job end to end with only the chart\'s ServiceAccount token', async () => {
    const token = (await sb.kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      namespace: NS, name: SA, body: { spec: { expirationSeconds: 3600 } },
    })).status!.token!;
    const saKubeconfig = await sb.kube!.kubeconfigForToken(token, 'chart-controller', NS);
    const c = (await deployment()).spec!.template.spec!.containers[0]!;
    const args = [...c.args!];
    // The image's agent cannot be copied in here: worker pods run the built agent instead.
    const img = args.indexOf('--agent-image');
    if (img >= 0) args.splice(img, 2);
    const [metricsPort, healthPort] = [await freePort(), await freePort()];
    const setFlag = (flag: string, value: string) => {
      const i = args.indexOf(flag);
      if (i >= 0) args[i + 1] = value;
      else args.push(flag, value);
    };
    setFlag('--metrics-port', String(metricsPort));
    setFlag('--health-port', String(healthPort));
    args.push('--agent-command', `${process.execPath} ${join(REPO_ROOT, 'bin', 'visionq.js')} agent`);
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', KUBECONFIG: saKubeconfig, HOME: dir.path };
    for (const e of c.env ?? []) {
      const field = e.valueFrom?.fieldRef?.fieldPath;
      env[e.name] = field === 'metadata.name' ? `${SA}-local` : field === 'metadata.namespace' ? NS : (e.value ?? '');
    }
    controller = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'visionq.js'), ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    controller.stdout!.on('data', (d: Buffer) => (controllerOutput = (controllerOutput + d.toString()).slice(-20_000)));
    controller.stderr!.on('data', (d: Buffer) => (controllerOutput = (controllerOutput + d.toString()).slice(-20_000)));
    await waitFor(async () => {
      if (controller!.exitCode !== null) throw new Error(`controller exited ${controller!.exitCode}: ${controllerOutput}`);
      return (await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined))?.status === 200;
    }, { timeoutMs: 60_000, message: 'controller ready' });

    const custom = sb.kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({ group: 'visionq.dev', version: 'v1alpha1', namespace: WORK_NS, plural: 'workerpools', body: {
      apiVersion: 'visionq.dev/v1alpha1', kind: 'WorkerPool', metadata: { name: 'rbac' },
      spec: { maxReplicas: 1, template: { spec: { containers: [{ name: 'algo', image: 'local', command: [process.execPath, join(REPO_ROOT, 'examples/algorithms/sample-vision.mjs')] }] } } },
    } });
    await custom.createNamespacedCustomObject({ group: 'visionq.dev', version: 'v1alpha1', namespace: WORK_NS, plural: 'visionjobs', body: {
      apiVersion: 'visionq.dev/v1alpha1', kind: 'VisionJob', metadata: { name: 'rbac-job' }, spec: { pool: 'rbac', input: { video: 'rbac.mp4', durationSeconds: 1 } },
    } });
    const job = await waitFor(async () => {
      if (controller!.exitCode !== null) throw new Error(`controller exited ${controller!.exitCode}: ${controllerOutput}`);
      const j = (await custom.getNamespacedCustomObject({ group: 'visionq.dev', version: 'v1alpha1', namespace: WORK_NS, plural: 'visionjobs', name: 'rbac-job' })) as { status?: { phase?: string } };
      return j.status?.phase === 'Succeeded' || j.status?.phase === 'Failed' ? j : undefined;
    }, { timeoutMs: 120_000, message: 'rbac-job finished' });
    expect(job.status?.phase, controllerOutput.slice(-4000)).toBe('Succeeded');
    // No request of the controller's was refused on the way.
    expect(controllerOutput).not.toMatch(/"code":403|forbidden/i);
  });

  it('the chart\'s ServiceAccount is refused what it does not need', async () => {
    const authz = sb.kc.makeApiClient(AuthorizationV1Api);
    const can = async (verb: string, resource: string, namespace?: string, group = '') => {
      const r = await authz.createSubjectAccessReview({ body: { spec: {
        user: `system:serviceaccount:${NS}:${SA}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${NS}`, 'system:authenticated'],
        resourceAttributes: { verb, resource, group, namespace },
      } } });
      return r.status!.allowed;
    };
    // What it uses.
    expect(await can('create', 'pods', WORK_NS)).toBe(true);
    expect(await can('patch', 'visionjobs', WORK_NS, 'visionq.dev')).toBe(true);
    expect(await can('update', 'leases', NS, 'coordination.k8s.io')).toBe(true);
    // What it must not have.
    expect(await can('get', 'secrets', 'kube-system')).toBe(false);
    expect(await can('list', 'secrets', WORK_NS)).toBe(false);
    expect(await can('delete', 'nodes')).toBe(false);
    expect(await can('create', 'visionjobs', WORK_NS, 'visionq.dev')).toBe(false);
    expect(await can('update', 'leases', 'kube-system', 'coordination.k8s.io')).toBe(false);
    expect(await can('create', 'clusterrolebindings', undefined, 'rbac.authorization.k8s.io')).toBe(false);
    expect(await can('create', 'pods/exec', WORK_NS)).toBe(false);
  });
});

