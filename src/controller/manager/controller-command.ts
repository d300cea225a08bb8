/**
 * `visionq controller ...`: the command line of the controller (flags, environment, signals);
 * the composition itself is startController in manager.ts.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { JobSigner } from '../../queue/job-signature.js';
import { parseReplicasSetting, type ReplicasSetting } from '../../queue/replicas.js';
import { DEFAULT_CONTROLLER_SETTINGS, type ControllerSettings } from './context.js';
import { startController, type ControllerHandle, type LeaderElectionSettings } from './manager.js';
import { workerNatsTlsFromEnv } from './worker-nats-tls-env.js';
import type { WorkerNatsTls } from '../workerpod/worker-pod-builder.js';

const USAGE = `usage: visionq controller [--kubeconfig PATH] [--nats-url URL] [--nats-creds FILE] [--nats-user NAME]
  [--nats-tls-ca FILE] [--nats-tls-cert FILE] [--nats-tls-key FILE] [--leader-elect]
  [--leader-election-namespace NS] [--lease-name visionq-controller] [--metrics-port 8080]
  [--health-port 8081] [--agent-image IMAGE] [--log-level info]
  [--leader-elect-lease-duration 15] [--leader-elect-renew-deadline 10] [--leader-elect-retry-period 2]
  [--agent-command 'CMD ARGS'] [--nats-url-for-workers URL] [--nats-replicas auto|1..5]
  [--queue-sweep-seconds 60] [--max-waiting-per-namespace N]
  [--job-signing-key FILE] [--job-previous-signing-keys FILE1,FILE2] [--event-macs required|optional]
--job-signing-key: Ed25519 private key (PKCS#8 PEM) that signs job messages; worker pods
  then run only jobs signed by it, and job events count only with the per-job MAC it implies.
--job-previous-signing-keys: the keys of a rotation in progress; jobs they signed still run
  and report until none is left.
--event-macs: optional also applies events that carry no MAC (while jobs queued before signing
  was turned on, or worker pods older than event MACs, are still around); default required.
--nats-replicas: copies JetStream keeps of visionq's streams; auto (default) = 3 on a NATS
  cluster of 3 or more servers, else 1; a change is applied to existing streams on start.
--nats-user: static NATS user [VISIONQ_NATS_USER]; its password only from the env
  VISIONQ_NATS_PASSWORD (not a flag: a command line is readable by every local user).
env: VISIONQ_NATS_URL, VISIONQ_NATS_REPLICAS, VISIONQ_JOB_SIGNING_KEY, VISIONQ_EVENT_MACS, POD_NAME, POD_NAMESPACE, KUBECONFIG
worker pods (Secrets in each pool's namespace): VISIONQ_WORKER_NATS_CREDS_SECRET (key nats.creds),
  VISIONQ_WORKER_NATS_USER_SECRET (key = pool name), VISIONQ_WORKER_NATS_TLS_SECRET (mounted at
  /etc/visionq/nats-tls) with VISIONQ_WORKER_NATS_TLS_CA_KEY (default ca.crt, empty: none) and,
  for mutual TLS, VISIONQ_WORKER_NATS_TLS_CERT_KEY + VISIONQ_WORKER_NATS_TLS_KEY_KEY
`;

/** `visionq controller ...`: runs until SIGTERM/SIGINT; returns the exit code. */
export async function controllerCommand(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        kubeconfig: { type: 'string' },
        'nats-url': { type: 'string' },
        'nats-creds': { type: 'string' },
        'nats-user': { type: 'string' },
        'nats-tls-ca': { type: 'string' },
        'nats-tls-cert': { type: 'string' },
        'nats-tls-key': { type: 'string' },
        'leader-elect': { type: 'boolean', default: false },
        'leader-election-namespace': { type: 'string' },
        'lease-name': { type: 'string', default: 'visionq-controller' },
        'leader-elect-lease-duration': { type: 'string' },
        'leader-elect-renew-deadline': { type: 'string' },
        'leader-elect-retry-period': { type: 'string' },
        'metrics-port': { type: 'string', default: '8080' },
        'health-port': { type: 'string', default: '8081' },
        'agent-image': { type: 'string' },
        'agent-command': { type: 'string' },
        'nats-url-for-workers': { type: 'string' },
        'nats-replicas': { type: 'string' },
        'queue-sweep-seconds': { type: 'string' },
        'max-waiting-per-namespace': { type: 'string' },
        'job-signing-key': { type: 'string' },
        'job-previous-signing-keys': { type: 'string' },
        'event-macs': { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`visionq controller: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const natsUrl = str('nats-url') ?? process.env.VISIONQ_NATS_URL ?? 'nats://127.0.0.1:4222';
  const port = (k: string): number | undefined => {
    const v = str(k);
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${k} must be a port number, got ${v}`);
    return n;
  };
  const logger = pino({ level: str('log-level') ?? 'info', base: { component: 'visionq-controller' } });
  let metricsPort: number | undefined;
  let healthPort: number | undefined;
  try {
    metricsPort = port('metrics-port');
    healthPort = port('health-port');
  } catch (err) {
    process.stderr.write(`visionq controller: ${(err as Error).message}\n`);
    return 2;
  }
  const leaseNamespace = str('leader-election-namespace') ?? process.env.POD_NAMESPACE ?? 'default';
  const seconds = (k: string): number | undefined => {
    const v = str(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${k} must be a positive number of seconds, got ${v}`);
    return n * 1000;
  };
  let queueSweepIntervalMs: number | undefined;
  try {
    queueSweepIntervalMs = seconds('queue-sweep-seconds');
  } catch (err) {
    process.stderr.write(`visionq controller: ${(err as Error).message}\n`);
    return 2;
  }
  let leaseTimes: Pick<LeaderElectionSettings, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>;
  try {
    leaseTimes = {
      leaseDurationMs: seconds('leader-elect-lease-duration'),
      renewDeadlineMs: seconds('leader-elect-renew-deadline'),
      retryPeriodMs: seconds('leader-elect-retry-period'),
    };
  } catch (err) {
    process.stderr.write(`visionq controller: ${(err as Error).message}\n`);
    return 2;
  }
  let replicas: ReplicasSetting;
  try {
    replicas = parseReplicasSetting(str('nats-replicas') ?? process.env.VISIONQ_NATS_REPLICAS ?? 'auto');
  } catch (err) {
    process.stderr.write(`visionq controller: --nats-replicas: ${(err as Error).message}\n`);
    return 2;
  }
  const maxWaiting = str('max-waiting-per-namespace');
  const maxWaitingPerNamespace = maxWaiting === undefined ? undefined : Number(maxWaiting);
  if (maxWaitingPerNamespace !== undefined && (!Number.isInteger(maxWaitingPerNamespace) || maxWaitingPerNamespace < 1)) {
    process.stderr.write(`visionq controller: --max-waiting-per-namespace must be a positive integer, got ${maxWaiting}\n`);
    return 2;
  }
  let jobSigner: JobSigner | undefined;
  const signingKeyFile = str('job-signing-key') ?? process.env.VISIONQ_JOB_SIGNING_KEY;
  if (signingKeyFile) {
    try {
      jobSigner = new JobSigner(await readFile(signingKeyFile));
    } catch (err) {
      process.stderr.write(`visionq controller: --job-signing-key ${signingKeyFile}: ${(err as Error).message}\n`);
      return 2;
    }
  }
  const previousJobSigners: JobSigner[] = [];
  for (const file of (str('job-previous-signing-keys') ?? '').split(',').map((k) => k.trim()).filter(Boolean)) {
    try {
      previousJobSigners.push(new JobSigner(await readFile(file)));
    } catch (err) {
      process.stderr.write(`visionq controller: --job-previous-signing-keys ${file}: ${(err as Error).message}\n`);
      return 2;
    }
  }
  const eventMacs = str('event-macs') ?? process.env.VISIONQ_EVENT_MACS ?? 'required';
  if (eventMacs !== 'required' && eventMacs !== 'optional') {
    process.stderr.write(`visionq controller: --event-macs must be required or optional, got ${eventMacs}\n`);
    return 2;
  }
  if (previousJobSigners.length > 0 && !jobSigner) {
    process.stderr.write('visionq controller: --job-previous-signing-keys needs --job-signing-key (the current key)\n');
    return 2;
  }
  let workerNatsTls: WorkerNatsTls | undefined;
  try {
    workerNatsTls = workerNatsTlsFromEnv(process.env);
  } catch (err) {
    process.stderr.write(`visionq controller: ${(err as Error).message}\n`);
    return 2;
  }
  const agentImage = str('agent-image');
  const agentInstallPath = DEFAULT_CONTROLLER_SETTINGS.agentInstallPath;
  const settings: Partial<ControllerSettings> = {
    natsUrlForWorkers: str('nats-url-for-workers') ?? natsUrl,
    ...(agentImage ? { agentImage } : {}),
    ...(maxWaitingPerNamespace !== undefined ? { maxWaitingPerNamespace } : {}),
    ...(jobSigner ? { jobSigner, previousJobSigners, eventMacs } : {}),
    agentCommand: str('agent-command')?.split(' ').filter(Boolean) ?? [`${agentInstallPath}/visionq`, 'agent'],
    ...(process.env.VISIONQ_WORKER_NATS_CREDS_SECRET ? { workerNatsCredsSecret: process.env.VISIONQ_WORKER_NATS_CREDS_SECRET } : {}),
    ...(process.env.VISIONQ_WORKER_NATS_USER_SECRET ? { workerNatsUserSecret: process.env.VISIONQ_WORKER_NATS_USER_SECRET } : {}),
    ...(workerNatsTls ? { workerNatsTls } : {}),
  };
  let handle: ControllerHandle;
  try {
    handle = await startController({
      kubeconfig: str('kubeconfig'),
      natsUrl: natsUrl.split(',').map((s) => s.trim()).filter(Boolean),
      natsCredsFile: str('nats-creds'),
      natsUser: str('nats-user') ?? process.env.VISIONQ_NATS_USER,
      natsPassword: process.env.VISIONQ_NATS_PASSWORD,
      natsTls: { caFile: str('nats-tls-ca'), certFile: str('nats-tls-cert'), keyFile: str('nats-tls-key') },
      streams: { replicas },
      queueSweepIntervalMs,
      logger,
      settings,
      leaderElection: values['leader-elect'] ? { namespace: leaseNamespace, leaseName: str('lease-name'), ...leaseTimes } : undefined,
      metricsPort,
      healthPort,
      defaultMetrics: true,
    });
  } catch (err) {
    logger.error({ err }, 'controller failed to start');
    return 1;
  }
  logger.info({ identity: handle.identity, metrics: handle.metricsUrl, health: handle.healthUrl }, 'controller started');
  await new Promise<void>((resolve) => {
    const onSignal = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  logger.info('shutting down');
  await handle.stop();
  return 0;
}
