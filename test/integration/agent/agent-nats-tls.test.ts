/**
 * Worker pods against a TLS-only nats-server (mutual TLS, `verify: true`): the agent runs with
 * exactly the command the pod builder writes into a worker pod for `workerNatsTls`, with the
 * Secret's projected files placed where the kubelet would mount them (a temp dir standing in
 * for NATS_TLS_MOUNT_PATH). With the files it connects and runs a job to `succeeded`; without
 * the CA it never gets a connection (the server logs its failed handshakes).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentHarness, sh } from './harness.js';
import { parseAgentArgs } from '../../../src/agent/agent-command.js';
import { workerNatsTlsFromEnv } from '../../../src/controller/manager/worker-nats-tls-env.js';
import { buildWorkerPod, NATS_TLS_MOUNT_PATH, type WorkerPodSettings } from '../../../src/controller/workerpod/worker-pod-builder.js';
import type { JobEventOf } from '../../../src/queue/job-events.js';
import { makePool } from '../../helpers/builders.js';
import { startNatsServer } from '../../helpers/nats-server.js';
import { makeTestCerts, type TestCerts } from '../../helpers/tls-certs.js';
import { waitFor } from '../../helpers/wait-for.js';

const REPO = resolve(import.meta.dirname, '../../..');
const POOL = 'gpu';
// How the sandbox runs the agent (no init container): the same flags follow.
const AGENT_ENTRY = [process.execPath, '--import', 'tsx', join(REPO, 'src/agent/main.ts')];

describe('agent over TLS with the files the worker pod builder mounts', () => {
  const h = new AgentHarness();
  let dir: string;
  let certs: TestCerts;
  let serverLog: string;
  let podCommand: string[];
  let secretItems: { key: string; path: string }[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'visionq-tls-test-'));
    certs = await makeTestCerts(dir);
    serverLog = join(dir, 'nats-server.log');
    await h.setup({
      natsConfig: [
        'tls {',
        `  cert_file: ${JSON.stringify(certs.serverCertFile)}`,
        `  key_file: ${JSON.stringify(certs.serverKeyFile)}`,
        `  ca_file: ${JSON.stringify(certs.caFile)}`,
        '  verify: true',
        // two shared cores and a tsx start-up: do not fail a slow handshake
        '  timeout: 5',
        '}',
        `log_file: ${JSON.stringify(serverLog)}`,
        '',
      ].join('\n'),
      tls: { caFile: certs.caFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile },
    });
    await h.pool(POOL, { ackWaitSeconds: 2 });

    // The controller's settings as the chart's env makes them (mutual TLS, cert-manager key names).
    const workerNatsTls = workerNatsTlsFromEnv({
      VISIONQ_WORKER_NATS_TLS_SECRET: 'visionq-worker-nats-tls',
      VISIONQ_WORKER_NATS_TLS_CERT_KEY: 'tls.crt',
      VISIONQ_WORKER_NATS_TLS_KEY_KEY: 'tls.key',
    });
    const settings: WorkerPodSettings = { natsUrlForWorkers: h.server.url, agentCommand: AGENT_ENTRY, workerNatsTls };
    const pool = makePool(POOL)
      .namespace(h.ns)
      .uid('uid-tls')
      .ackWait(2)
      .template({ spec: { containers: [{ name: 'algo', image: 'algo:1', command: sh('echo "tls job ran: $*"') }] } })
      .obj();
    const pod = buildWorkerPod(pool, settings, 'gpu-tls');
    const c = pod.spec!.containers[0]!;
    podCommand = c.command!;
    expect(c.volumeMounts).toContainEqual({ name: 'visionq-nats-tls', mountPath: NATS_TLS_MOUNT_PATH, readOnly: true });
    secretItems = pod.spec!.volumes!.find((v) => v.name === 'visionq-nats-tls')!.secret!.items!;
  }, 30_000);

  afterAll(async () => {
    await h.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** What the kubelet does for the pod: project the Secret's items into `mountDir`, expand $(VAR). */
  async function materialize(mountDir: string, vars: Record<string, string>): Promise<string[]> {
    const data = await certs.clientSecretData();
    await mkdir(mountDir, { recursive: true });
    for (const item of secretItems) await writeFile(join(mountDir, item.path), data[item.key]!);
    return podCommand.map((arg) =>
      arg
        .replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => vars[name] ?? m)
        .replace(`${NATS_TLS_MOUNT_PATH}/`, `${mountDir}/`),
    );
  }

  /** Drops `--flag VALUE` from the agent's options (before the `--` of the algorithm command). */
  function without(argv: string[], flag: string): string[] {
    const sep = argv.indexOf('--');
    const i = argv.indexOf(flag);
    if (i < 0 || i > sep) throw new Error(`${flag} not among the agent's options`);
    return [...argv.slice(0, i), ...argv.slice(i + 2)];
  }

  const handshakeErrors = async (): Promise<number> =>
    ((await readFile(serverLog, 'utf8').catch(() => '')).match(/TLS handshake error/g) ?? []).length;

  it('the pod passes the CA, the client certificate and its key, all from the mount', () => {
    const flags = podCommand.slice(0, podCommand.indexOf('--'));
    expect(flags.filter((a) => a.startsWith('--nats-tls-'))).toEqual(['--nats-tls-ca', '--nats-tls-cert', '--nats-tls-key']);
    for (const f of ['--nats-tls-ca', '--nats-tls-cert', '--nats-tls-key']) expect(flags[flags.indexOf(f) + 1]).toMatch(new RegExp(`^${NATS_TLS_MOUNT_PATH}/`));
    expect(secretItems.map((i) => i.key)).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
  });

  it('without the CA the agent never connects; with the mounted files it runs a job to succeeded', async () => {
    // The same pod without --nats-tls-ca: it keeps retrying, and each handshake fails.
    const before = await handshakeErrors();
    const noCa = h.spawnCommand(without(await materialize(join(h.tmp, 'mount-no-ca'), { POD_NAME: 'gpu-no-ca', NODE_NAME: 'node-1' }), '--nats-tls-ca'), {
      POD_NAME: 'gpu-no-ca',
      NODE_NAME: 'node-1',
      TMPDIR: h.tmp,
      VISIONQ_LOG_LEVEL: 'info',
    });
    await waitFor(async () => (await handshakeErrors()) >= before + 2, { timeoutMs: 15_000, message: 'failed TLS handshakes of the agent without the CA' });

    const argv = await materialize(join(h.tmp, 'mount'), { POD_NAME: 'gpu-tls', NODE_NAME: 'node-1' });
    const agent = h.spawnCommand(argv, { POD_NAME: 'gpu-tls', NODE_NAME: 'node-1', TMPDIR: h.tmp, VISIONQ_LOG_LEVEL: 'info' });
    await waitFor(() => agent.logs().includes('agent started') || agent.exitCode !== null, { timeoutMs: 15_000, message: 'TLS agent started' });
    expect(agent.exitCode, agent.logs()).toBeNull();

    const { uid } = await h.publish(POOL, { name: 'tls-job', args: ['frame-1'] });
    const done = (await h.waitEvent(uid, (e) => e.type === 'succeeded', 15_000)) as JobEventOf<'succeeded'>;
    expect(done.pod).toBe('gpu-tls');
    expect(agent.logs()).toContain('tls job ran: frame-1');

    // Still retrying, never started, never ran anything.
    expect(noCa.exitCode, noCa.logs()).toBeNull();
    expect(noCa.logs()).not.toContain('agent started');
    expect((await h.events(uid)).every((e) => e.pod === 'gpu-tls')).toBe(true);
  }, 40_000);

  it('the failure is the server certificate not verifying, and a CA makes TLS mandatory', async () => {
    // The agent's own parsing of the pod's flags, without the CA, one connect attempt: why it fails.
    const argv = without(await materialize(join(h.tmp, 'mount-probe'), { POD_NAME: 'probe', NODE_NAME: 'node-1' }), '--nats-tls-ca');
    const opts = parseAgentArgs(argv.slice(AGENT_ENTRY.length), {});
    expect(opts.natsTls?.caFile).toBeUndefined();
    await expect(connect({ servers: h.server.url, tls: opts.natsTls, maxReconnectAttempts: 0, timeout: 5_000 })).rejects.toThrow(/certificate|verify/i);

    // With the CA, a server that offers no TLS is refused rather than spoken to in plain text.
    const plain = await startNatsServer();
    try {
      const withCa = parseAgentArgs((await materialize(join(h.tmp, 'mount-plain'), { POD_NAME: 'p', NODE_NAME: 'n' })).slice(AGENT_ENTRY.length), {});
      expect(withCa.natsTls?.caFile).toBe(join(h.tmp, 'mount-plain', 'ca.crt'));
      await expect(connect({ servers: plain.url, tls: withCa.natsTls, maxReconnectAttempts: 0, timeout: 5_000 })).rejects.toThrow(/does not support 'tls'/);
    } finally {
      await plain.cleanup();
    }
  }, 20_000);
});
