/**
 * agent.natsTls: the chart hands the agents' TLS Secret to the controller as env
 * (VISIONQ_WORKER_NATS_TLS_*), which the controller's own parser (workerNatsTlsFromEnv) turns
 * into the worker pods' mount and flags; NOTES.txt warns when the controller speaks TLS to NATS
 * and the workers would not. helm is the only process started (offline, see helm.ts).
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerNatsTlsFromEnv } from '../../../src/controller/manager/worker-nats-tls-env.js';
import { buildWorkerPod } from '../../../src/controller/workerpod/worker-pod-builder.js';
import { controllerPodSpec } from './chart-manifests.js';
import { HelmSandbox, type TemplateOptions } from './helm.js';
import { KubeSchemaValidator } from './k8s-schemas.js';

const CONTROLLER_TLS = {
  'nats.enabled': false,
  'nats.external.url': 'tls://nats.messaging.svc:4222',
  'nats.tls.enabled': true,
  'nats.tls.secretName': 'visionq-nats-tls',
};

let helm: HelmSandbox;
let probe: HelmSandbox;
let schemas: KubeSchemaValidator;

beforeAll(() => {
  helm = HelmSandbox.create();
  probe = HelmSandbox.notesProbe();
  schemas = new KubeSchemaValidator();
});
afterAll(() => {
  helm?.cleanup();
  probe?.cleanup();
});

async function controllerEnv(set: Record<string, unknown>): Promise<V1EnvVar[]> {
  return controllerPodSpec(await helm.render({ set })).containers[0]!.env!;
}

const tlsEnv = (env: V1EnvVar[]): Record<string, string | undefined> =>
  Object.fromEntries(env.filter((e) => e.name.startsWith('VISIONQ_WORKER_NATS_TLS_')).map((e) => [e.name, e.value]));

const notes = (opts: TemplateOptions): Promise<string> => probe.notes(opts);

/** The worker pod the controller would build with this environment. */
function workerPodFor(env: Record<string, string | undefined>) {
  return buildWorkerPod(
    { metadata: { name: 'a100', namespace: 'team-a', uid: 'u1' }, spec: { maxReplicas: 1, template: { spec: { containers: [{ name: 'algo', image: 'cuda:12', command: ['python', 'run.py'] }] } } } },
    { natsUrlForWorkers: 'tls://nats.messaging.svc:4222', agentImage: 'visionq:1', workerNatsTls: workerNatsTlsFromEnv(env) },
    'a100-x',
  );
}

describe('agent.natsTls: controller env and the worker pods it leads to', () => {
  it('off by default: no env, and worker pods get no TLS files', async () => {
    const env = await controllerEnv({});
    expect(tlsEnv(env)).toEqual({});
    const cmd = workerPodFor(tlsEnv(env)).spec!.containers[0]!.command!;
    expect(cmd.some((a) => a.startsWith('--nats-tls-'))).toBe(false);
  });

  it('the CA only (default key ca.crt): the worker pod mounts it and passes --nats-tls-ca', async () => {
    const env = await controllerEnv({ ...CONTROLLER_TLS, 'agent.natsTls.secretName': 'visionq-worker-nats-tls' });
    expect(tlsEnv(env)).toEqual({ VISIONQ_WORKER_NATS_TLS_SECRET: 'visionq-worker-nats-tls', VISIONQ_WORKER_NATS_TLS_CA_KEY: 'ca.crt' });
    const pod = workerPodFor(tlsEnv(env));
    const cmd = pod.spec!.containers[0]!.command!;
    expect(cmd.filter((a) => a.startsWith('--nats-tls-'))).toEqual(['--nats-tls-ca']);
    expect(cmd[cmd.indexOf('--nats-tls-ca') + 1]).toBe('/etc/visionq/nats-tls/ca.crt');
    expect(pod.spec!.volumes).toContainEqual({ name: 'visionq-nats-tls', secret: { secretName: 'visionq-worker-nats-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }] } });
    expect(pod.spec!.containers[0]!.volumeMounts).toContainEqual({ name: 'visionq-nats-tls', mountPath: '/etc/visionq/nats-tls', readOnly: true });
  });

  it('mutual TLS with other key names, and a publicly trusted server (no CA) with a client certificate', async () => {
    const mtls = tlsEnv(await controllerEnv({ 'agent.natsTls': { secretName: 'w-tls', ca: 'root.pem', cert: 'client.crt', key: 'client.key' } }));
    expect(mtls).toEqual({
      VISIONQ_WORKER_NATS_TLS_SECRET: 'w-tls',
      VISIONQ_WORKER_NATS_TLS_CA_KEY: 'root.pem',
      VISIONQ_WORKER_NATS_TLS_CERT_KEY: 'client.crt',
      VISIONQ_WORKER_NATS_TLS_KEY_KEY: 'client.key',
    });
    const cmd = workerPodFor(mtls).spec!.containers[0]!.command!;
    expect(cmd.filter((a) => a.startsWith('/etc/visionq/nats-tls/'))).toEqual(['/etc/visionq/nats-tls/root.pem', '/etc/visionq/nats-tls/client.crt', '/etc/visionq/nats-tls/client.key']);

    // ca "" must reach the controller as an empty value, not fall back to its default ca.crt.
    const noCa = tlsEnv(await controllerEnv({ 'agent.natsTls': { secretName: 'w-tls', ca: '', cert: 'tls.crt', key: 'tls.key' } }));
    expect(noCa.VISIONQ_WORKER_NATS_TLS_CA_KEY).toBe('');
    expect(workerPodFor(noCa).spec!.containers[0]!.command!.filter((a) => a.startsWith('--nats-tls-'))).toEqual(['--nats-tls-cert', '--nats-tls-key']);
  });

  it('renders valid objects and passes helm lint --strict', async () => {
    const set = { ...CONTROLLER_TLS, 'agent.natsTls': { secretName: 'w-tls', ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } };
    for (const o of await helm.render({ set })) expect.soft(schemas.validate(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
    const r = await helm.lint({ set });
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});

describe('agent.natsTls: NOTES.txt', () => {
  it('warns when the controller uses TLS and the workers get no TLS Secret', async () => {
    const text = await notes({ set: CONTROLLER_TLS });
    expect(text).toMatch(/WARNING: nats\.tls\.enabled is true but agent\.natsTls\.secretName is empty/);
    expect(text).toContain('cannot reach a TLS-only NATS');
  });

  it('says nothing with the workers\' Secret set, or without TLS', async () => {
    for (const set of [{ ...CONTROLLER_TLS, 'agent.natsTls.secretName': 'w-tls', 'nats.tls.cert': '', 'nats.tls.key': '' }, {}]) {
      const text = await notes({ set });
      expect(text).not.toContain('WARNING');
      expect(text).not.toContain('agent.natsTls');
    }
  });

  it('notes a client certificate for the controller but none for the agents', async () => {
    const text = await notes({ set: { ...CONTROLLER_TLS, 'agent.natsTls.secretName': 'w-tls' } });
    expect(text).not.toContain('WARNING');
    expect(text).toMatch(/the agents\s+do not \(agent\.natsTls\.cert is empty\)/);
  });
});

describe('agent.natsTls: rejected values', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a certificate without its key', { 'agent.natsTls.secretName': 's', 'agent.natsTls.cert': 'tls.crt' }, /agent\.natsTls\.cert and agent\.natsTls\.key must be set together/],
    ['a key without its certificate', { 'agent.natsTls.key': 'tls.key' }, /must be set together/],
    ['a Secret naming no file', { 'agent.natsTls': { secretName: 's', ca: '', cert: '', key: '' } }, /names no file/],
    ['a misspelt key (schema: additionalProperties)', { 'agent.natsTls.caKey': 'ca.crt' }, /caKey/],
    ['a Secret name that is not a name (schema)', { 'agent.natsTls.secretName': 'My_Secret' }, /secretName/],
  ])('%s', async (_name, set, message) => {
    const r = await helm.template({ set });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});
