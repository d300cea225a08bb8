/**
 * `helm lint` + `helm template` of charts/visionq for the default values and the main
 * combinations, with every rendered object checked against its kind's schema and the
 * controller Deployment checked against the restricted Pod Security Standard and the
 * controller CLI. helm is the only process started (offline; see helm.ts for how the
 * nats dependency is stood in for).
 */
import type { V1ClusterRole, V1Role, V1RoleBinding, V1ClusterRoleBinding, V1Service, V1ServiceAccount } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHART_DIR, HelmSandbox, type K8sObject, type TemplateOptions } from './helm.js';
import { KubeSchemaValidator } from './k8s-schemas.js';
import { restrictedViolations } from './pod-security.js';
import {
  controllerDeployment,
  controllerPodSpec,
  find,
  labelsMatch,
  one,
  parseControllerArgs,
  rbacWildcards,
} from './chart-manifests.js';

const chart = yaml.load(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string; version: string };

let helm: HelmSandbox;
let schemas: KubeSchemaValidator;

beforeAll(() => {
  helm = HelmSandbox.create();
  schemas = new KubeSchemaValidator();
});
afterAll(() => helm?.cleanup());

const EXTERNAL_NATS: Record<string, unknown> = {
  'nats.enabled': false,
  'nats.external.url': 'tls://nats.messaging.svc:4222',
  'nats.credentials.secretName': 'visionq-nats-creds',
  'nats.credentials.key': 'controller.creds',
  'nats.tls.enabled': true,
  'nats.tls.secretName': 'visionq-nats-tls',
};

const COMBINATIONS: Record<string, TemplateOptions> = {
  defaults: {},
  'external NATS with TLS and credentials': { set: EXTERNAL_NATS },
  'metrics with ServiceMonitor': {
    set: { 'metrics.serviceMonitor.enabled': true, 'metrics.serviceMonitor.labels': { release: 'prometheus' } },
  },
  'another release name and namespace, workers in two namespaces': {
    release: 'prod',
    namespace: 'gpu-jobs',
    set: { 'workerServiceAccount.namespaces': ['team-a', 'team-b'], 'image.digest': `sha256:${'ab'.repeat(32)}` },
  },
  'single replica without leader election': {
    set: { replicaCount: 1, 'controller.leaderElection.enabled': false },
  },
  'NATS static users (natsAuth) with the bundled NATS': {
    set: { 'natsAuth.enabled': true, 'natsAuth.pools': [{ namespace: 'team-a', name: 'a100' }, { namespace: 'visionq', name: 'cpu' }] },
  },
  'NATS static users (natsAuth) with an external NATS and job-key rotation': {
    set: {
      'nats.enabled': false,
      'nats.external.url': 'nats://nats.messaging.svc:4222',
      'natsAuth.enabled': true,
      'natsAuth.pools': [{ namespace: 'team-a', name: 'a100' }],
      'jobSigning.secretName': 'visionq-job-key',
      'jobSigning.previousSecretNames': ['visionq-job-key-2025'],
    },
  },
};

/** Checks every rendering must pass. */
function checkCommon(objs: K8sObject[], namespace: string): void {
  for (const o of objs) {
    expect.soft(schemas.validate(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
  }
  // Everything namespaced lands in the release namespace, except the worker accounts and
  // the worker pods' NATS password Secrets (natsAuth), which live in the pools' namespaces.
  for (const o of objs) {
    if (['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition'].includes(o.kind)) {
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBeUndefined();
    } else if (!(['ServiceAccount', 'Secret'].includes(o.kind) && o.metadata.labels?.['app.kubernetes.io/component'] === 'worker')) {
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(namespace);
    }
  }
  const keys = objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
  expect(new Set(keys).size, 'duplicate objects').toBe(keys.length);
  expect(rbacWildcards(objs)).toEqual([]);

  const dep = controllerDeployment(objs);
  const pod = controllerPodSpec(objs);
  expect(restrictedViolations(pod)).toEqual([]);
  const c = pod.containers[0]!;
  expect(pod.containers).toHaveLength(1);
  expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
  expect(labelsMatch(dep.spec!.selector.matchLabels, dep.spec!.template.metadata?.labels)).toBe(true);

  // Probes and ports agree with the CLI flags.
  const flags = parseControllerArgs(c.args ?? []);
  expect(c.command).toBeUndefined(); // the image's ENTRYPOINT is `visionq`
  const ports = Object.fromEntries((c.ports ?? []).map((p) => [p.name, p.containerPort]));
  expect(String(ports.health)).toBe(flags.get('--health-port'));
  expect(String(ports.metrics)).toBe(flags.get('--metrics-port'));
  expect(c.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'health' });
  expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'health' });
  expect(c.resources?.requests).toBeDefined();
  expect(c.resources?.limits?.memory).toBeDefined();
  const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
  expect(env).toMatchObject({ POD_NAME: 'metadata.name', POD_NAMESPACE: 'metadata.namespace' });

  // Every file flag points into a volume mounted from the right Secret key.
  const mounts = c.volumeMounts ?? [];
  const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
  for (const m of mounts) expect(volumes.has(m.name), `volume for mount ${m.name}`).toBe(true);
  for (const flag of ['--nats-creds', '--nats-tls-ca', '--nats-tls-cert', '--nats-tls-key']) {
    const file = flags.get(flag);
    if (typeof file !== 'string') continue;
    const mount = mounts.find((m) => file.startsWith(`${m.mountPath}/`));
    expect(mount, `${flag} ${file} is mounted`).toBeDefined();
    const secret = volumes.get(mount!.name)?.secret;
    expect(secret?.secretName, `${flag} comes from a Secret`).toBeTruthy();
    const key = file.slice(mount!.mountPath.length + 1);
    if (secret?.items) expect(secret.items.map((i) => i.path)).toContain(key);
  }

  // The controller's account is bound to its roles; the lease Role stays namespaced.
  const sa = pod.serviceAccountName;
  expect(one<V1ServiceAccount>(objs, 'ServiceAccount', sa).automountServiceAccountToken).not.toBe(false);
  const crb = one<V1ClusterRoleBinding>(objs, 'ClusterRoleBinding');
  expect(crb.subjects).toEqual([{ kind: 'ServiceAccount', name: sa, namespace }]);
  expect(find(objs, 'ClusterRole').map((r) => r.metadata.name)).toEqual([crb.roleRef.name]);
  if (flags.has('--leader-elect')) {
    expect(flags.get('--leader-election-namespace')).toBe(namespace);
    const role = one<V1Role>(objs, 'Role');
    expect(role.rules).toEqual([{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }]);
    const rb = one<V1RoleBinding>(objs, 'RoleBinding');
    expect(rb.roleRef).toMatchObject({ kind: 'Role', name: role.metadata!.name });
    expect(rb.subjects).toEqual([{ kind: 'ServiceAccount', name: sa, namespace }]);
  }

  // Worker accounts: no token, and bound to nothing.
  const workerSAs = find(objs, 'ServiceAccount').filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'worker');
  expect(workerSAs.length).toBeGreaterThan(0);
  for (const w of workerSAs) {
    expect((w as V1ServiceAccount).automountServiceAccountToken).toBe(false);
    for (const b of [...find(objs, 'RoleBinding'), ...find(objs, 'ClusterRoleBinding')] as unknown as V1RoleBinding[]) {
      expect(b.subjects?.some((s) => s.name === w.metadata.name && s.namespace === w.metadata.namespace)).toBe(false);
    }
  }
}

describe('helm lint', () => {
  it('passes for the default values and every combination', async () => {
    for (const [name, opts] of Object.entries(COMBINATIONS)) {
      const args = ['lint', helm.chartDir, '--strict', '--namespace', opts.namespace ?? 'visionq'];
      for (const [k, v] of Object.entries(opts.set ?? {})) args.push('--set-json', `${k}=${JSON.stringify(v)}`);
      const r = await helm.run(args);
      expect(r.code, `${name}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('0 chart(s) failed');
    }
  });
});

describe('helm template', () => {
  it.each(Object.entries(COMBINATIONS))('%s: renders valid, least-privilege, restricted manifests', async (_name, opts) => {
    const objs = await helm.render(opts);
    checkCommon(objs, opts.namespace ?? 'visionq');
  });

  it('defaults: a complete HA install with the bundled NATS', async () => {
    const objs = await helm.render();
    const kinds = objs.map((o) => o.kind).sort();
    expect(kinds).toEqual(
      // The Secret: the bundled NATS includes its auth.conf (a comment while natsAuth is off).
      ['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Secret', 'Service', 'Service', 'ServiceAccount', 'ServiceAccount'].sort(),
    );
    const dep = controllerDeployment(objs);
    expect(dep.spec?.replicas).toBe(2);
    const pod = controllerPodSpec(objs);
    const flags = parseControllerArgs(pod.containers[0]!.args!);
    expect(flags.get('--leader-elect')).toBe(true);
    expect(flags.get('--lease-name')).toBe('visionq-controller');
    expect(flags.get('--metrics-port')).toBe('8080');
    expect(flags.get('--health-port')).toBe('8081');
    expect(flags.get('--log-level')).toBe('info');
    expect(flags.has('--nats-creds')).toBe(false);
    expect(flags.has('--nats-tls-ca')).toBe(false);
    expect(flags.has('--nats-user')).toBe(false);

    // Image: the chart's appVersion; the agent is copied out of the same image.
    const image = pod.containers[0]!.image!;
    expect(image).toBe(`ghcr.io/visionq/visionq:${chart.appVersion}`);
    expect(flags.get('--agent-image')).toBe(image);

    // --nats-url is the bundled nats chart's client Service.
    const natsSvc = one<V1Service>(objs.filter((o) => o.metadata.labels?.['app.kubernetes.io/name'] === 'nats'), 'Service');
    const port = natsSvc.spec!.ports!.find((p) => p.name === 'nats')!.port;
    expect(flags.get('--nats-url')).toBe(`nats://${natsSvc.metadata!.name}.visionq.svc:${port}`);
    expect(natsSvc.metadata!.name).toBe('visionq-nats');

    // Replicas spread over nodes; a PDB keeps one through drains.
    expect(pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm.topologyKey).toBe(
      'kubernetes.io/hostname',
    );
    const pdb = one<{ spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } }>(objs, 'PodDisruptionBudget');
    expect(pdb.spec.minAvailable).toBe(1);
    expect(labelsMatch(pdb.spec.selector.matchLabels, dep.spec!.template.metadata!.labels)).toBe(true);

    // The metrics Service reaches the controller's metrics port.
    const metrics = one<V1Service>(objs, 'Service', 'visionq-metrics');
    expect(labelsMatch(metrics.spec!.selector, dep.spec!.template.metadata!.labels)).toBe(true);
    expect(metrics.spec!.ports).toEqual([{ name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' }]);
  });

  it('defaults: RBAC grants exactly what the controller uses', async () => {
    const objs = await helm.render();
    const role = one<V1ClusterRole>(objs, 'ClusterRole');
    const grants = new Set(
      role.rules!.flatMap((r) => r.apiGroups!.flatMap((g) => r.resources!.flatMap((res) => r.verbs.map((v) => `${g}/${res}:${v}`)))),
    );
    const expected = [
      ...['visionjobs', 'workerpools'].flatMap((r) => ['get', 'list', 'watch', 'update', 'patch'].map((v) => `visionq.dev/${r}:${v}`)),
      ...['visionjobs/status', 'workerpools/status'].flatMap((r) => ['update', 'patch'].map((v) => `visionq.dev/${r}:${v}`)),
      'visionq.dev/visionjobs/finalizers:update',
      'visionq.dev/workerpools/finalizers:update',
      ...['get', 'list', 'watch', 'create', 'delete'].map((v) => `/pods:${v}`),
      '/events:create',
      '/events:patch',
    ];
    expect([...grants].sort()).toEqual(expected.sort());
  });

  it('external NATS: URL, credentials and TLS files reach the controller; nothing NATS is installed', async () => {
    const objs = await helm.render({ set: EXTERNAL_NATS });
    expect(objs.filter((o) => o.metadata.labels?.['app.kubernetes.io/name'] === 'nats')).toEqual([]);
    const pod = controllerPodSpec(objs);
    const flags = parseControllerArgs(pod.containers[0]!.args!);
    expect(flags.get('--nats-url')).toBe('tls://nats.messaging.svc:4222');
    expect(flags.get('--nats-creds')).toBe('/etc/visionq/nats-creds/controller.creds');
    expect(flags.get('--nats-tls-ca')).toBe('/etc/visionq/nats-tls/ca.crt');
    expect(flags.get('--nats-tls-cert')).toBe('/etc/visionq/nats-tls/tls.crt');
    expect(flags.get('--nats-tls-key')).toBe('/etc/visionq/nats-tls/tls.key');
    const vols = Object.fromEntries(pod.volumes!.map((v) => [v.name, v.secret?.secretName]));
    expect(vols).toMatchObject({ 'nats-creds': 'visionq-nats-creds', 'nats-tls': 'visionq-nats-tls' });
    expect(pod.containers[0]!.env!.map((e) => e.name)).not.toContain('VISIONQ_WORKER_NATS_CREDS_SECRET');
  });

  it("agents' NATS credentials Secret reaches the controller, which mounts it into worker pods", async () => {
    const objs = await helm.render({ set: { 'agent.natsCredentialsSecret': 'visionq-agent-creds' } });
    const env = controllerPodSpec(objs).containers[0]!.env!;
    expect(env).toContainEqual({ name: 'VISIONQ_WORKER_NATS_CREDS_SECRET', value: 'visionq-agent-creds' });
  });

  it('external NATS: server-verified TLS without a client certificate passes only the CA', async () => {
    const objs = await helm.render({ set: { ...EXTERNAL_NATS, 'nats.tls.cert': '', 'nats.tls.key': '', 'nats.credentials.secretName': '' } });
    const flags = parseControllerArgs(controllerPodSpec(objs).containers[0]!.args!);
    expect([...flags.keys()].filter((f) => f.startsWith('--nats-'))).toEqual(['--nats-url', '--nats-replicas', '--nats-tls-ca']);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['the bundled 3-server cluster', {}, '3'],
    ['a bundled single server', { 'nats.config.cluster.enabled': false }, '1'],
    ['an external NATS (detected by the controller)', EXTERNAL_NATS, 'auto'],
    ['an explicit count', { 'nats.streamReplicas': 5 }, '5'],
  ])('stream replicas for %s', async (_name, set, want) => {
    const flags = parseControllerArgs(controllerPodSpec(await helm.render({ set })).containers[0]!.args!);
    expect(flags.get('--nats-replicas')).toBe(want);
  });

  it('job signing: the key Secret and the previous keys\' Secrets are mounted read-only and passed as files', async () => {
    const objs = await helm.render({
      set: { 'jobSigning.secretName': 'visionq-job-key', 'jobSigning.previousSecretNames': ['visionq-job-key-2025', 'visionq-job-key-2024'] },
    });
    const pod = controllerPodSpec(objs);
    const c = pod.containers[0]!;
    const flags = parseControllerArgs(c.args!);
    expect(flags.get('--job-signing-key')).toBe('/etc/visionq/job-signing/job-signing-key.pem');
    expect(flags.get('--job-previous-signing-keys')).toBe(
      '/etc/visionq/job-signing-previous/0/job-signing-key.pem,/etc/visionq/job-signing-previous/1/job-signing-key.pem',
    );
    // Every file resolves to the key of the Secret in the same place of the list.
    const files = [flags.get('--job-signing-key') as string, ...(flags.get('--job-previous-signing-keys') as string).split(',')];
    const secrets = files.map((file) => {
      const mount = c.volumeMounts!.find((m) => file === `${m.mountPath}/job-signing-key.pem`);
      expect(mount, file).toMatchObject({ readOnly: true });
      const secret = pod.volumes!.find((v) => v.name === mount!.name)!.secret!;
      expect(secret.items).toEqual([{ key: 'job-signing-key.pem', path: 'job-signing-key.pem' }]);
      return secret.secretName;
    });
    expect(secrets).toEqual(['visionq-job-key', 'visionq-job-key-2025', 'visionq-job-key-2024']);

    const current = parseControllerArgs(controllerPodSpec(await helm.render({ set: { 'jobSigning.secretName': 'visionq-job-key' } })).containers[0]!.args!);
    expect(current.has('--job-previous-signing-keys')).toBe(false);
    expect(current.has('--event-macs')).toBe(false); // required, the controller's default
    const upgrading = parseControllerArgs(controllerPodSpec(await helm.render({ set: { 'jobSigning.secretName': 'visionq-job-key', 'jobSigning.eventMacs': 'optional' } })).containers[0]!.args!);
    expect(upgrading.get('--event-macs')).toBe('optional');
    const unsigned = parseControllerArgs(controllerPodSpec(await helm.render()).containers[0]!.args!);
    expect(unsigned.has('--job-signing-key')).toBe(false);
  });

  it('ServiceMonitor selects the metrics Service by its port name', async () => {
    const objs = await helm.render(COMBINATIONS['metrics with ServiceMonitor']);
    const sm = one<{ metadata: { labels: Record<string, string> }; spec: { selector: { matchLabels: Record<string, string> }; namespaceSelector: { matchNames: string[] }; endpoints: { port: string; path: string }[] } }>(
      objs,
      'ServiceMonitor',
    );
    const svc = one<V1Service>(objs, 'Service', 'visionq-metrics');
    expect(labelsMatch(sm.spec.selector.matchLabels, svc.metadata!.labels)).toBe(true);
    expect(sm.spec.namespaceSelector.matchNames).toEqual(['visionq']);
    expect(svc.spec!.ports!.map((p) => p.name)).toContain(sm.spec.endpoints[0]!.port);
    expect(sm.spec.endpoints[0]!.path).toBe('/metrics');
    expect(sm.metadata.labels.release).toBe('prometheus');
  });

  it('another namespace: bindings, lease and NATS URL follow the release namespace', async () => {
    const opts = COMBINATIONS['another release name and namespace, workers in two namespaces']!;
    const objs = await helm.render(opts);
    const flags = parseControllerArgs(controllerPodSpec(objs).containers[0]!.args!);
    expect(flags.get('--nats-url')).toBe('nats://prod-nats.gpu-jobs.svc:4222');
    expect(flags.get('--leader-election-namespace')).toBe('gpu-jobs');
    expect(controllerPodSpec(objs).containers[0]!.image).toBe(`ghcr.io/visionq/visionq@sha256:${'ab'.repeat(32)}`);
    const workers = find(objs, 'ServiceAccount').filter((o) => o.metadata.name === 'visionq-worker');
    expect(workers.map((w) => w.metadata.namespace).sort()).toEqual(['team-a', 'team-b']);
    expect(one(objs, 'Deployment').metadata.name).toBe('prod-visionq');
  });

  it('a release name containing "nats" still points at the nats chart Service', async () => {
    const objs = await helm.render({ release: 'nats-vision', namespace: 'ml' });
    const natsSvc = one<V1Service>(objs.filter((o) => o.metadata.labels?.['app.kubernetes.io/name'] === 'nats'), 'Service');
    const flags = parseControllerArgs(controllerPodSpec(objs).containers[0]!.args!);
    expect(flags.get('--nats-url')).toBe(`nats://${natsSvc.metadata!.name}.ml.svc:4222`);
  });

  it('single replica without leader election renders no Lease RBAC and no PDB', async () => {
    const objs = await helm.render(COMBINATIONS['single replica without leader election']);
    expect(find(objs, 'Role')).toEqual([]);
    expect(find(objs, 'PodDisruptionBudget')).toEqual([]);
    expect(parseControllerArgs(controllerPodSpec(objs).containers[0]!.args!).has('--leader-elect')).toBe(false);
  });
});

describe('values that must be rejected', () => {
  const rejects: [string, TemplateOptions, RegExp][] = [
    ['replicaCount=abc (schema: type)', { rawSet: ['replicaCount=abc'] }, /replicaCount.*(integer|Invalid type)/is],
    ['replicaCount=0 (schema: minimum)', { set: { replicaCount: 0 } }, /replicaCount/],
    ['a misspelt key (schema: additionalProperties)', { set: { 'controller.replicas': 3 } }, /replicas/],
    ['metrics port as a string (schema: type)', { set: { 'controller.metricsPort': '8080' } }, /metricsPort/],
    ['unknown log level (schema: enum)', { set: { 'controller.logLevel': 'verbose' } }, /logLevel/],
    ['external NATS without a URL', { set: { 'nats.enabled': false } }, /url/],
    ['a URL that is not a NATS URL', { set: { 'nats.enabled': false, 'nats.external.url': 'ws://nats:8080' } }, /url/],
    ['TLS without a Secret', { set: { 'nats.tls.enabled': true } }, /nats\.tls\.secretName/],
    ['stream replicas out of range (schema)', { set: { 'nats.streamReplicas': 7 } }, /streamReplicas/],
    ['stream replicas not a count (schema)', { set: { 'nats.streamReplicas': 'three' } }, /streamReplicas/],
    ['two replicas without leader election', { set: { 'controller.leaderElection.enabled': false } }, /leaderElection/],
    ['previous signing keys without a current one', { set: { 'jobSigning.previousSecretNames': ['old-key'] } }, /jobSigning\.previousSecretNames needs jobSigning\.secretName/],
    [
      'the current signing key among the previous ones',
      { set: { 'jobSigning.secretName': 'k', 'jobSigning.previousSecretNames': ['k'] } },
      /must not list jobSigning\.secretName/,
    ],
    ['previous signing keys as public keys (schema: Secret names)', { set: { 'jobSigning.secretName': 'k', 'jobSigning.previousSecretNames': ['MCowBQYDK2VwAyEA+old='] } }, /previousSecretNames/],
    ['the removed previousPublicKeys (schema: additionalProperties)', { set: { 'jobSigning.previousPublicKeys': ['MCowBQYDK2VwAyEAold'] } }, /previousPublicKeys/],
    ['ServiceMonitor without the metrics Service', { set: { 'metrics.serviceMonitor.enabled': true, 'metrics.service.enabled': false } }, /metrics\.service\.enabled/],
  ];
  it.each(rejects)('%s', async (_name, opts, message) => {
    const r = await helm.template(opts);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});
