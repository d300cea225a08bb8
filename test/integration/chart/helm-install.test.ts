/**
 * `helm install` of charts/visionq into the local sandbox API server (through its
 * kubeconfig), as far as the sandbox serves the kinds (see stand-in-kinds.ts and
 * openapi-v2-shim.ts for the two gaps bridged here), then upgrade and uninstall.
 * NATS is external here: a real nats-server from the test helper.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiextensionsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKubeconfig } from '../../../src/sandbox/kubeconfig.js';
import { freePort } from '../../../src/sandbox/free-port.js';
import { startNatsServer, type NatsServerHandle } from '../../helpers/nats-server.js';
import { startSandboxApi, type SandboxApi } from '../../helpers/sandbox-api.js';
import { waitFor } from '../../helpers/wait-for.js';
import { HelmSandbox, REPO_ROOT } from '../../unit/chart/helm.js';
import { startOpenApiV2Shim, type OpenApiShim } from './openapi-v2-shim.js';
import { registerStandInKinds } from './stand-in-kinds.js';

const NS = 'visionq-system';
const RELEASE = 'vq';

let api: SandboxApi;
let shim: OpenApiShim;
let nats: NatsServerHandle;
let helm: HelmSandbox;
let kubeconfig: string;
let kc: KubeConfig;
let ports: { metrics: number; health: number };
let controller: ChildProcess | undefined;

beforeAll(async () => {
  helm = HelmSandbox.create();
  [api, nats] = await Promise.all([startSandboxApi(), startNatsServer()]);
  shim = await startOpenApiV2Shim(api.url);
  kubeconfig = join(helm.root, 'kubeconfig');
  await writeKubeconfig(kubeconfig, shim.url);
  chmodSync(kubeconfig, 0o600); // helm warns about group/world-readable kubeconfigs
  kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  await registerStandInKinds(api.kc);
  ports = { metrics: await freePort(), health: await freePort() };
});

afterAll(async () => {
  if (controller && controller.exitCode === null) {
    const exited = new Promise((resolve) => controller!.once('exit', resolve));
    controller.kill('SIGKILL');
    await exited;
  }
  await shim?.close();
  await Promise.all([api?.cleanup(), nats?.cleanup()]);
  helm?.cleanup();
});

function helmArgs(cmd: string[], set: Record<string, unknown> = {}): string[] {
  const args = [...cmd, '--kubeconfig', kubeconfig, '--namespace', NS];
  for (const [k, v] of Object.entries(set)) args.push('--set-json', `${k}=${JSON.stringify(v)}`);
  return args;
}

function installValues(natsUrl: string, metricsPort: number, healthPort: number): Record<string, unknown> {
  return {
    'nats.enabled': false,
    'nats.external.url': natsUrl,
    'controller.metricsPort': metricsPort,
    'controller.healthPort': healthPort,
    'workerServiceAccount.namespaces': [NS, 'vision'],
  };
}

async function getDeployment(): Promise<V1Deployment> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  return (await custom.getNamespacedCustomObject({
    group: 'apps',
    version: 'v1',
    namespace: NS,
    plural: 'deployments',
    name: `${RELEASE}-visionq`,
  })) as V1Deployment;
}

describe('helm install into the sandbox', () => {
  it('installs the CRDs and every object, and records a deployed release', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'vision' } } });
    const r = await helm.run(
      helmArgs(['install', RELEASE, helm.chartDir, '--create-namespace', '--disable-openapi-validation'], installValues(nats.url, ports.metrics, ports.health)),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('STATUS: deployed');
    expect(r.stdout).toContain(`NATS:       ${nats.url} (external)`);

    const crds = await kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition();
    expect(crds.items.map((c) => c.metadata!.name)).toEqual(expect.arrayContaining(['visionjobs.visionq.dev', 'workerpools.visionq.dev']));

    const dep = await getDeployment();
    expect(dep.spec!.replicas).toBe(2);
    expect(dep.spec!.template.spec!.containers[0]!.args).toEqual(expect.arrayContaining(['controller', '--nats-url', nats.url, '--leader-elect']));

    const sas = await core.listServiceAccountForAllNamespaces({ labelSelector: 'app.kubernetes.io/instance=vq' });
    expect(sas.items.map((s) => `${s.metadata!.namespace}/${s.metadata!.name}`).sort()).toEqual(
      [`${NS}/vq-visionq`, `${NS}/visionq-worker`, 'vision/visionq-worker'].sort(),
    );
    const svc = await core.readNamespacedService({ namespace: NS, name: 'vq-visionq-metrics' });
    expect(svc.spec!.ports![0]!.port).toBe(8080);

    const custom = kc.makeApiClient(CustomObjectsApi);
    const role = (await custom.getNamespacedCustomObject({
      group: 'rbac.authorization.k8s.io', version: 'v1', namespace: NS, plural: 'roles', name: 'vq-visionq-leader-election',
    })) as { rules: unknown[] };
    expect(role.rules).toHaveLength(1);
    await custom.getClusterCustomObject({ group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterroles', name: 'vq-visionq-controller' });

    const status = await helm.run(helmArgs(['status', RELEASE, '-o', 'json']));
    expect((JSON.parse(status.stdout) as { info: { status: string } }).info.status).toBe('deployed');
  });

  it('the controller runs from the installed Deployment: healthy, ready, holding the Lease', async () => {
    const dep = await getDeployment();
    const pod = dep.spec!.template.spec!;
    const c = pod.containers[0]!;
    // What the kubelet would do: the image's ENTRYPOINT (`visionq`) with the container's
    // args, the downward-API env, the service account's API access (here: a kubeconfig).
    const podName = `${dep.metadata!.name}-7d4b9c-x2x7q`;
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', KUBECONFIG: api.kubeconfigPath };
    for (const e of c.env ?? []) {
      const field = e.valueFrom?.fieldRef?.fieldPath;
      env[e.name] = field === 'metadata.name' ? podName : field === 'metadata.namespace' ? NS : (e.value ?? '');
    }
    const [subcommand, ...flags] = c.args!;
    expect(subcommand).toBe('controller');
    // Until the CLI dispatcher wires `controller`, call its command function directly.
    const runner = join(helm.root, 'run-controller.mts');
    writeFileSync(
      runner,
      `import { controllerCommand } from ${JSON.stringify(join(REPO_ROOT, 'src/controller/index.ts'))};\n` +
        'process.exitCode = await controllerCommand(process.argv.slice(2));\n',
    );
    const proc = spawn(process.execPath, ['--import', 'tsx', runner, ...flags], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    controller = proc;
    let output = '';
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));

    const healthPort = c.ports!.find((p) => p.name === 'health')!.containerPort;
    const probe = async (path: string): Promise<boolean> => {
      if (proc.exitCode !== null) throw new Error(`controller exited ${proc.exitCode}: ${output}`);
      const res = await fetch(`http://127.0.0.1:${healthPort}${path}`).catch(() => undefined);
      return res?.status === 200;
    };
    await waitFor(() => probe(c.livenessProbe!.httpGet!.path!), { timeoutMs: 30_000, message: 'liveness probe' });
    await waitFor(() => probe(c.readinessProbe!.httpGet!.path!), { timeoutMs: 30_000, message: 'readiness probe' });
    const args = c.args!;
    const leaseName = args[args.indexOf('--lease-name') + 1]!;
    const coordination = api.kc.makeApiClient(CoordinationV1Api);
    const lease = await waitFor(
      async () => {
        const l = await coordination.readNamespacedLease({ namespace: NS, name: leaseName }).catch(() => undefined);
        return l?.spec?.holderIdentity ? l : undefined;
      },
      { timeoutMs: 30_000, message: `Lease ${NS}/${leaseName} held` },
    );
    expect(lease.spec!.holderIdentity).toContain(podName);
    const metricsPort = c.ports!.find((p) => p.name === 'metrics')!.containerPort;
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);

    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    // Bounded: a controller that ignores SIGTERM would otherwise only hit the test timeout.
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`controller did not exit within 20 s of SIGTERM:\n${output.slice(-4000)}`)), 20_000);
      }),
    ]).finally(() => clearTimeout(timer));
    expect(code, output).toBe(0);
  });

  it('upgrades in place with changed values', async () => {
    // --force (replace instead of patch): helm sends strategic-merge patches for the
    // built-in kinds, which the CRD stand-ins cannot take (real CRs cannot either).
    const r = await helm.run(
      helmArgs(['upgrade', RELEASE, helm.chartDir, '--disable-openapi-validation', '--reuse-values', '--force'], { 'controller.logLevel': 'debug' }),
    );
    expect(r.code, r.stderr).toBe(0);
    const args = (await getDeployment()).spec!.template.spec!.containers[0]!.args!;
    expect(args[args.indexOf('--log-level') + 1]).toBe('debug');
    expect(args[args.indexOf('--nats-url') + 1]).toBe(nats.url);
  });

  it('uninstall removes the release objects but keeps the CRDs (and so every job)', async () => {
    const r = await helm.run(helmArgs(['uninstall', RELEASE]));
    expect(r.code, r.stderr).toBe(0);
    await expect(getDeployment()).rejects.toThrow();
    const core = kc.makeApiClient(CoreV1Api);
    const sas = await core.listServiceAccountForAllNamespaces({ labelSelector: 'app.kubernetes.io/instance=vq' });
    expect(sas.items).toEqual([]);
    const crds = await kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition();
    expect(crds.items.map((c) => c.metadata!.name)).toEqual(expect.arrayContaining(['visionjobs.visionq.dev', 'workerpools.visionq.dev']));
  });
});

describe('helm install with natsAuth', () => {
  const AUTH_RELEASE = 'vqauth';

  async function secretData(namespace: string, name: string): Promise<Record<string, string>> {
    const s = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace, name });
    return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  }

  it('keeps every password across upgrades (lookup of the installed Secret) and gives a new pool its own', async () => {
    const set = {
      'nats.enabled': false,
      'nats.external.url': nats.url,
      // The first release's worker accounts may still be there; this case is about Secrets.
      'workerServiceAccount.create': false,
      'natsAuth.enabled': true,
      'natsAuth.pools': [{ namespace: 'vision', name: 'a100' }],
    };
    // Runs also on its own (-t): the pool namespace may not exist yet.
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'vision' } } }).catch(() => undefined);
    const install = await helm.run(
      helmArgs(['install', AUTH_RELEASE, helm.chartDir, '--create-namespace', '--disable-openapi-validation', '--skip-crds'], set),
    );
    expect(install.code, install.stderr).toBe(0);
    const before = await secretData(NS, `${AUTH_RELEASE}-nats-auth`);
    expect(before['controller-password']).toMatch(/^[A-Za-z0-9]{32}$/);
    expect((await secretData('vision', 'visionq-worker-nats')).a100).toBe(before['worker.vision.a100']);

    const upgrade = await helm.run(
      helmArgs(['upgrade', AUTH_RELEASE, helm.chartDir, '--disable-openapi-validation', '--reuse-values', '--force'], {
        'natsAuth.pools': [{ namespace: 'vision', name: 'a100' }, { namespace: 'vision', name: 't4' }],
      }),
    );
    expect(upgrade.code, upgrade.stderr).toBe(0);
    const after = await secretData(NS, `${AUTH_RELEASE}-nats-auth`);
    expect(after['controller-password']).toBe(before['controller-password']);
    expect(after['worker.vision.a100']).toBe(before['worker.vision.a100']);
    expect(after['worker.vision.t4']).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(after['worker.vision.t4']).not.toBe(after['worker.vision.a100']);
    expect(after['auth.conf']).toContain(`password = "${before['controller-password']}"`);
    expect(after['auth.conf']).toContain('"visionq-worker.vision.t4"');
    expect(await secretData('vision', 'visionq-worker-nats')).toEqual({ a100: before['worker.vision.a100'], t4: after['worker.vision.t4'] });

    const uninstall = await helm.run(helmArgs(['uninstall', AUTH_RELEASE]));
    expect(uninstall.code, uninstall.stderr).toBe(0);
    await expect(secretData('vision', 'visionq-worker-nats')).rejects.toThrow();
  });
});
