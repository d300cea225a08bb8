/**
 * natsAuth: the chart renders the NATS static users of src/queue/nats-permissions.ts into the
 * Secret `<release>-nats-auth` (key auth.conf, plus every password), a password Secret per pool
 * namespace, and the controller's login. The auth.conf is compared, parsed, with what
 * renderAuthorization() writes for the same users, so the chart's copy of the permission lists
 * cannot drift from the code's. Passwords kept across upgrades come from `lookup`, which
 * `helm template` cannot exercise (it sees no cluster); what is checked here is that one
 * render agrees with itself everywhere a password appears.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { V1Secret } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerPermissions, renderAuthorization, workerPermissions, workerUserName, type NatsUser } from '../../../src/queue/nats-permissions.js';
import { controllerPodSpec, find, one, parseControllerArgs } from './chart-manifests.js';
import { CHART_DIR, HelmSandbox, type K8sObject, type TemplateOptions } from './helm.js';
import { KubeSchemaValidator } from './k8s-schemas.js';
import { parseNatsConf } from './nats-conf.js';

const POOLS = [
  { namespace: 'team-a', name: 'a100' },
  // A dotted pool name: its subject token is `my~pool`, its Secret key stays `my.pool`.
  { namespace: 'team-a', name: 'my.pool' },
  { namespace: 'team-b', name: 't4' },
  { namespace: 'visionq', name: 'cpu' },
];
const ENABLED = { 'natsAuth.enabled': true, 'natsAuth.pools': POOLS };
const EXTERNAL = { 'nats.enabled': false, 'nats.external.url': 'nats://nats.messaging.svc:4222' };

let helm: HelmSandbox;
let probe: HelmSandbox;
let schemas: KubeSchemaValidator;

beforeAll(() => {
  helm = HelmSandbox.create();
  probe = HelmSandbox.notesProbe([
    // The Secret name the nats chart computes from its `$tplYaml` value: the same tpl, and
    // .Release is the same object in the subchart's context.
    '  natsVolumeSecret: {{ tpl (index (index .Values.nats.podTemplate.patch 0).value.secret.secretName "$tplYaml") . | quote }}',
  ]);
  schemas = new KubeSchemaValidator();
});
afterAll(() => {
  helm?.cleanup();
  probe?.cleanup();
});

function decode(secret: V1Secret): Record<string, string> {
  return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

function authSecret(objs: K8sObject[], namespace = 'visionq', release = 'visionq'): Record<string, string> {
  const s = find(objs, 'Secret', `${release}-nats-auth`).filter((o) => o.metadata.namespace === namespace);
  expect(s, `Secret ${namespace}/${release}-nats-auth`).toHaveLength(1);
  return decode(s[0] as V1Secret);
}

function workerSecrets(objs: K8sObject[]): Map<string, Record<string, string>> {
  return new Map(find(objs, 'Secret', 'visionq-worker-nats').map((s) => [s.metadata.namespace!, decode(s as V1Secret)]));
}

interface ConfUser {
  user: string;
  password: string;
  permissions?: unknown;
}

function confUsers(conf: string): ConfUser[] {
  const parsed = parseNatsConf(conf) as unknown as { authorization: { users: ConfUser[] } };
  return parsed.authorization.users;
}

async function renderOk(opts: TemplateOptions): Promise<K8sObject[]> {
  const objs = await helm.render(opts);
  for (const o of objs) expect.soft(schemas.validate(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
  return objs;
}

const notes = (opts: TemplateOptions): Promise<string> => probe.notes(opts);

describe('natsAuth: the users', () => {
  it.each([
    ['the bundled NATS', {}],
    ['an external NATS', EXTERNAL],
  ])('with %s, auth.conf is what renderAuthorization writes for the same users', async (_name, nats) => {
    const objs = await renderOk({ set: { ...nats, ...ENABLED } });
    const secret = authSecret(objs);
    const expected: NatsUser[] = [
      { user: 'visionq-controller', password: secret['controller-password']!, permissions: controllerPermissions() },
      ...POOLS.map((p) => ({
        user: workerUserName(p.namespace, p.name),
        password: secret[`worker.${p.namespace}.${p.name}`]!,
        permissions: workerPermissions(p.namespace, p.name),
      })),
    ];
    expect(parseNatsConf(secret['auth.conf']!)).toEqual(parseNatsConf(renderAuthorization(expected)));
    // Not two empty parses: the users and their lists are there.
    const users = confUsers(secret['auth.conf']!);
    expect(users).toHaveLength(POOLS.length + 1);
    expect(users[1]).toMatchObject({ user: 'visionq-worker.team-a.a100', permissions: { allow_responses: true, subscribe: { deny: ['visionq.jobs.>', '_INBOX.>'] } } });
  });

  it('every password is a fresh 32-character one, the same wherever it appears', async () => {
    const objs = await renderOk({ set: ENABLED });
    const secret = authSecret(objs);
    const users = new Map(confUsers(secret['auth.conf']!).map((u) => [u.user, u.password]));
    expect(users.get('visionq-controller')).toBe(secret['controller-password']);
    const workers = workerSecrets(objs);
    expect([...workers.keys()].sort()).toEqual(['team-a', 'team-b', 'visionq']);
    for (const p of POOLS) {
      const pw = secret[`worker.${p.namespace}.${p.name}`];
      expect(users.get(workerUserName(p.namespace, p.name)), `${p.namespace}/${p.name}`).toBe(pw);
      expect(workers.get(p.namespace)?.[p.name], `${p.namespace}/${p.name}`).toBe(pw);
    }
    // Each pool namespace's Secret holds only its own pools' passwords.
    expect(Object.keys(workers.get('team-a')!).sort()).toEqual(['a100', 'my.pool']);
    const passwords = [...users.values()];
    for (const pw of passwords) expect(pw).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(new Set(passwords).size).toBe(passwords.length);
    // The main Secret holds the include file and the passwords, nothing else.
    expect(Object.keys(secret).sort()).toEqual(['auth.conf', 'controller-password', ...POOLS.map((p) => `worker.${p.namespace}.${p.name}`)].sort());
  });

  it('the controller logs in as its user, with the password from the environment only, and tells worker pods where theirs are', async () => {
    const objs = await renderOk({ set: { ...ENABLED, 'natsAuth.controllerUser': 'vq-ctl', 'natsAuth.workerSecretName': 'gpu-nats-login' } });
    const c = controllerPodSpec(objs).containers[0]!;
    const flags = parseControllerArgs(c.args!);
    expect(flags.get('--nats-user')).toBe('vq-ctl');
    expect(flags.has('--nats-creds')).toBe(false);
    expect(c.args!.join(' ')).not.toContain(authSecret(objs)['controller-password']);
    const env = new Map(c.env!.map((e) => [e.name, e]));
    expect(env.get('VISIONQ_NATS_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'visionq-nats-auth', key: 'controller-password' });
    expect(env.get('VISIONQ_WORKER_NATS_USER_SECRET')?.value).toBe('gpu-nats-login');
    expect(env.has('VISIONQ_WORKER_NATS_CREDS_SECRET')).toBe(false);
    expect(confUsers(authSecret(objs)['auth.conf']!)[0]!.user).toBe('vq-ctl');
    // The name worker pods are pointed at is the one created in every pool namespace.
    expect(find(objs, 'Secret', 'gpu-nats-login').map((s) => s.metadata.namespace).sort()).toEqual(['team-a', 'team-b', 'visionq']);
    for (const s of find(objs, 'Secret', 'gpu-nats-login')) expect(s.metadata.labels?.['app.kubernetes.io/component']).toBe('worker');
  });

  it('no pools: only the controller user', async () => {
    const objs = await renderOk({ set: { 'natsAuth.enabled': true } });
    expect(confUsers(authSecret(objs)['auth.conf']!).map((u) => u.user)).toEqual(['visionq-controller']);
    expect(workerSecrets(objs).size).toBe(0);
  });

  it('off (the default): no login, no worker Secrets; the bundled NATS gets an auth.conf without authorization', async () => {
    const objs = await renderOk({});
    const secret = authSecret(objs);
    expect(Object.keys(secret)).toEqual(['auth.conf']);
    expect(parseNatsConf(secret['auth.conf']!)).toEqual({});
    expect(workerSecrets(objs).size).toBe(0);
    const c = controllerPodSpec(objs).containers[0]!;
    expect(parseControllerArgs(c.args!).has('--nats-user')).toBe(false);
    expect(c.env!.map((e) => e.name)).not.toContain('VISIONQ_NATS_PASSWORD');
    expect(c.env!.map((e) => e.name)).not.toContain('VISIONQ_WORKER_NATS_USER_SECRET');
  });

  it('off with an external NATS: nothing of natsAuth is rendered', async () => {
    const objs = await renderOk({ set: EXTERNAL });
    expect(find(objs, 'Secret')).toEqual([]);
  });

  it('another release: the Secret name follows the release name only', async () => {
    const objs = await renderOk({ release: 'prod', namespace: 'gpu', set: { ...ENABLED, fullnameOverride: 'vq' } });
    authSecret(objs, 'gpu', 'prod');
    const env = controllerPodSpec(objs).containers[0]!.env!;
    expect(env.find((e) => e.name === 'VISIONQ_NATS_PASSWORD')?.valueFrom?.secretKeyRef?.name).toBe('prod-nats-auth');
  });

  it('nats.namespaceOverride: the NATS namespace gets the include file, without the passwords', async () => {
    const objs = await helm.render({ set: { ...ENABLED, 'nats.namespaceOverride': 'messaging' } });
    const main = authSecret(objs, 'visionq');
    const copy = authSecret(objs, 'messaging');
    expect(copy).toEqual({ 'auth.conf': main['auth.conf'] });
  });
});

describe('natsAuth: the bundled nats chart loads the include file', () => {
  interface Patch {
    op: string;
    path: string;
    value: { name: string; mountPath?: string; readOnly?: boolean; secret?: { secretName: unknown; items: { key: string; path: string }[] } };
  }
  const values = yaml.load(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as {
    nats: { config: { merge: Record<string, string> }; container: { patch: Patch[] }; podTemplate: { patch: Patch[] } };
  };

  it('nats.conf includes, relative to /etc/nats-config, the auth.conf of the Secret volume mounted read-only', () => {
    // The official chart (1.3.16) turns keys ending in $include into `include <path>;` in
    // /etc/nats-config/nats.conf, applies container.patch to the nats container and
    // podTemplate.patch to the pod, and mounts every /etc/ mount of the nats container into its
    // config reloader, which watches the included files.
    const include = values.nats.config.merge['visionq-auth$include']!;
    const [mount] = values.nats.container.patch;
    const [volume] = values.nats.podTemplate.patch;
    expect(mount).toMatchObject({ op: 'add', path: '/volumeMounts/-', value: { readOnly: true } });
    expect(volume).toMatchObject({ op: 'add', path: '/spec/volumes/-', value: { name: mount!.value.name } });
    expect(mount!.value.mountPath).toMatch(/^\/etc\//);
    const item = volume!.value.secret!.items.find((i) => resolve('/etc/nats-config', include) === `${mount!.value.mountPath}/${i.path}`);
    expect(item?.key).toBe('auth.conf');
  });

  it.each([
    ['visionq', 'visionq'],
    ['prod', 'gpu'],
  ])('release %s: the volume names the Secret the chart renders', async (release, namespace) => {
    const objs = await probe.render({ release, namespace });
    const data = (one(objs, 'ConfigMap', 'probe') as unknown as { data: { natsVolumeSecret: string } }).data;
    // The template yields YAML (a quoted string), which the nats chart parses.
    const name = yaml.load(data.natsVolumeSecret);
    expect(name).toBe(`${release}-nats-auth`);
    expect(find(objs, 'Secret', name as string).map((s) => s.metadata.namespace)).toEqual([namespace]);
  });

  it('nats-server accepts the include, on and off (the layout of the nats pods)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'visionq-nats-auth-'));
    try {
      for (const set of [ENABLED, {}]) {
        const conf = authSecret(await helm.render({ set }))['auth.conf']!;
        const mount = join(dir, values.nats.container.patch[0]!.value.mountPath!.slice(1));
        mkdirSync(mount, { recursive: true });
        mkdirSync(join(dir, 'etc/nats-config'), { recursive: true });
        writeFileSync(join(mount, 'auth.conf'), conf);
        writeFileSync(join(dir, 'etc/nats-config/nats.conf'), `port: 4222\ninclude ${values.nats.config.merge['visionq-auth$include']};\n`);
        const r = await new Promise<{ code: number; out: string }>((done) =>
          execFile('nats-server', ['-t', '-c', join(dir, 'etc/nats-config/nats.conf')], (err, stdout, stderr) =>
            done({ code: err ? 1 : 0, out: stdout + stderr }),
          ),
        );
        expect(r.code, r.out).toBe(0);
        expect(r.out).toContain('is valid');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('natsAuth: NOTES.txt', () => {
  it('an external NATS: how to include auth.conf, and that a new pool needs an upgrade and a reload', async () => {
    const text = await notes({ set: { ...EXTERNAL, ...ENABLED } });
    expect(text).toContain("kubectl -n visionq get secret visionq-nats-auth -o jsonpath='{.data.auth\\.conf}' | base64 -d > visionq-auth.conf");
    expect(text).toContain('include ./visionq-auth.conf');
    expect(text).toMatch(/Adding a pool: add it to natsAuth\.pools, `helm upgrade`[^]*reload/);
    expect(text).toContain('visionq-worker.team-a.my~pool');
  });

  it('the bundled NATS: no include step; the reloader picks up a new pool', async () => {
    const text = await notes({ set: ENABLED });
    expect(text).not.toContain('include ./');
    expect(text).toMatch(/Adding a pool:\s+add it to natsAuth\.pools and `helm upgrade`/);
  });

  it('warns when natsAuth is on without signed jobs, not when both are', async () => {
    expect(await notes({ set: ENABLED })).toMatch(/WARNING: natsAuth is on but jobSigning\.secretName is empty/);
    expect(await notes({ set: { ...ENABLED, 'jobSigning.secretName': 'visionq-job-key' } })).not.toContain('jobSigning.secretName is empty');
  });

  it('off: nothing about NATS users', async () => {
    expect(await notes({})).not.toContain('natsAuth');
  });
});

describe('natsAuth: helm lint and rejected values', () => {
  it.each([
    ['the bundled NATS', ENABLED],
    ['an external NATS', { ...EXTERNAL, ...ENABLED }],
  ])('helm lint --strict passes with %s', async (_name, set) => {
    const r = await helm.lint({ set });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('0 chart(s) failed');
  });

  const rejects: [string, Record<string, unknown>, RegExp][] = [
    ['a .creds file for the controller too', { ...ENABLED, 'nats.credentials.secretName': 'creds' }, /natsAuth\.enabled and nats\.credentials\.secretName are exclusive/],
    ['a .creds file for the agents too', { ...ENABLED, 'agent.natsCredentialsSecret': 'creds' }, /natsAuth\.enabled and agent\.natsCredentialsSecret are exclusive/],
    ['a pool without a namespace', { 'natsAuth.enabled': true, 'natsAuth.pools': [{ name: 'a100' }] }, /natsAuth\.pools\[0\] needs both namespace and name/],
    ['a pool without a name', { 'natsAuth.enabled': true, 'natsAuth.pools': [POOLS[0], { namespace: 'team-a' }] }, /natsAuth\.pools\[1\] needs both namespace and name/],
    ['a pool listed twice', { 'natsAuth.enabled': true, 'natsAuth.pools': [POOLS[0], POOLS[0]] }, /natsAuth\.pools lists team-a\/a100 twice/],
    ['the bundled NATS without the include', { ...ENABLED, 'nats.config.merge': { 'visionq-auth$include': null } }, /needs the natsAuth wiring/],
    ['the bundled NATS without the mount', { ...ENABLED, 'nats.container.patch': [] }, /needs the natsAuth wiring/],
    ['the bundled NATS without the volume', { ...ENABLED, 'nats.podTemplate.patch': [] }, /needs the natsAuth wiring/],
    ['the worker Secret named like the main one', { ...ENABLED, 'natsAuth.workerSecretName': 'visionq-nats-auth' }, /natsAuth\.workerSecretName must differ from visionq-nats-auth/],
    ['a second authorization block', { ...ENABLED, 'nats.config.merge.authorization': { token: 'x' } }, /nats\.config\.merge\.authorization are exclusive/],
    ['a pool name that is no Kubernetes name (schema)', { 'natsAuth.enabled': true, 'natsAuth.pools': [{ namespace: 'team-a', name: 'A100' }] }, /name/],
    ['an unknown pool key (schema)', { 'natsAuth.enabled': true, 'natsAuth.pools': [{ ...POOLS[0], pool: 'x' }] }, /pool/],
    ['a controller user with a blank (schema)', { 'natsAuth.enabled': true, 'natsAuth.controllerUser': 'my ctl' }, /controllerUser/],
  ];
  it.each(rejects)('rejects %s', async (_name, set, message) => {
    const r = await helm.template({ set });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it.each([
    ['the mount', { 'nats.container.patch': [] }],
    ['the volume', { 'nats.podTemplate.patch': [{ op: 'add', path: '/spec/volumes/-', value: { name: 'scratch', emptyDir: {} } }] }],
  ])('natsAuth off: rejects the include without %s (nats-server would not start)', async (_name, set) => {
    const r = await helm.template({ set });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/includes \.\.\/nats-auth\/auth\.conf but nats\.container\.patch or nats\.podTemplate\.patch no longer mount it/);
  });

  it('natsAuth off: the wiring removed as a whole is accepted', async () => {
    const objs = await helm.render({ set: { 'nats.config.merge': { 'visionq-auth$include': null }, 'nats.container.patch': [], 'nats.podTemplate.patch': [] } });
    expect(Object.keys(authSecret(objs))).toEqual(['auth.conf']);
  });
});
