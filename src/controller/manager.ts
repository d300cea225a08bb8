/**
 * Composition of the controller: informers (on every replica: a standby keeps its caches warm),
 * NATS, leader election, and for the leader the VisionJob side (visionjob-controller.ts) and the
 * WorkerPool side (workerpool-controller.ts, G2). Also `visionq controller` (controllerCommand).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { API_GROUP, API_VERSION, VISION_JOB_PLURAL, WORKER_POOL_PLURAL } from '../api/constants.js';
import { EventRecorder } from '../kube/event-recorder.js';
import { Informer } from '../kube/informer.js';
import { loadKubeConfig, makeClients } from '../kube/kube-clients.js';
import { LeaderElector } from '../kube/leader-election.js';
import type { StreamsOptions } from '../queue/topology.js';
import { DEFAULT_CONTROLLER_SETTINGS, type ControllerContext, type ControllerSettings } from './context.js';
import type { VisionJobObject, WorkerPoolObject } from './context-types.js';
import { startHttpServer, type RunningHttpServer } from './http-server.js';
import type { JobEventConsumerOptions } from './job-event-consumer.js';
import { createControllerMetrics, type ControllerMetrics } from './metrics.js';
import { NatsConnector } from './nats-access.js';
import { startVisionJobController, type VisionJobController } from './visionjob-controller.js';
import { JOBS_BY_POOL_INDEX, jobsByPoolIndex } from './visionjob-runtime.js';
import { startWorkerPoolController, type WorkerPoolController } from './workerpool-controller.js';

export interface LeaderElectionSettings {
  namespace: string;
  leaseName?: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface StartControllerOptions {
  kubeconfig?: string;
  kc?: KubeConfig;
  natsUrl: string | string[];
  natsCredsFile?: string;
  natsTls?: { caFile?: string; certFile?: string; keyFile?: string };
  logger?: Logger;
  settings?: Partial<ControllerSettings>;
  /** Omitted: this process leads at once (single replica, the sandbox). */
  leaderElection?: LeaderElectionSettings;
  /** Listen ports (0 = any free port); omitted = no server. Equal ports share one server. */
  metricsPort?: number;
  healthPort?: number;
  httpHost?: string;
  /** Node process metrics (GC, heap, event loop lag) on /metrics. */
  defaultMetrics?: boolean;
  streams?: StreamsOptions;
  events?: JobEventConsumerOptions;
  jobWorkers?: number;
  /** Informer resync period (default 10 min). */
  resyncMs?: number;
  /** Disable the WorkerPool side (tests of the VisionJob side with agents started directly). */
  workerPools?: boolean;
  clock?: () => Date;
}

export interface ControllerHandle {
  ctx: ControllerContext;
  identity: string;
  isLeader(): boolean;
  ready(): boolean;
  metricsUrl?: string;
  healthUrl?: string;
  stop(): Promise<void>;
}

export async function startController(opts: StartControllerOptions): Promise<ControllerHandle> {
  const logger = opts.logger ?? pino({ level: 'info' });
  const kc = opts.kc ?? loadKubeConfig(opts.kubeconfig);
  const kube = makeClients(kc);
  const identity = opts.leaderElection?.identity ?? `${process.env.POD_NAME ?? hostname()}_${randomBytes(4).toString('hex')}`;
  const metrics: ControllerMetrics = createControllerMetrics({ defaultMetrics: opts.defaultMetrics });
  const resyncMs = opts.resyncMs ?? 10 * 60_000;
  const base = `/apis/${API_GROUP}/${API_VERSION}`;
  const jobs = new Informer<VisionJobObject>({
    kc,
    path: `${base}/${VISION_JOB_PLURAL}`,
    resyncMs,
    indexers: { [JOBS_BY_POOL_INDEX]: jobsByPoolIndex },
    logger,
    name: 'visionjobs',
  });
  const pools = new Informer<WorkerPoolObject>({ kc, path: `${base}/${WORKER_POOL_PLURAL}`, resyncMs, logger, name: 'workerpools' });
  const pods = new Informer<V1Pod>({ kc, path: '/api/v1/pods', labelSelector: 'visionq.dev/pool', resyncMs, logger, name: 'worker-pods' });

  const nats = new NatsConnector({
    servers: opts.natsUrl,
    name: `visionq-controller-${identity}`,
    credsFile: opts.natsCredsFile,
    tls: opts.natsTls,
    logger: logger.child({ component: 'nats' }),
    streams: opts.streams,
    onConnectedChange: (c) => metrics.natsConnected.set(c ? 1 : 0),
  });
  const recorder = new EventRecorder({ core: kube.core, component: 'visionq-controller', instance: identity, logger });

  let visionJobs: VisionJobController | undefined;
  let workerPools: WorkerPoolController | undefined;
  const ctx: ControllerContext = {
    kube,
    jobs,
    pools,
    pods,
    nats,
    recorder,
    metrics,
    clock: opts.clock ?? (() => new Date()),
    logger,
    settings: { ...DEFAULT_CONTROLLER_SETTINGS, natsUrlForWorkers: [opts.natsUrl].flat().join(','), ...opts.settings },
    enqueueJob: (key) => visionJobs?.enqueueJob(key),
    enqueuePool: (key) => workerPools?.enqueue(key),
  };

  jobs.start();
  pools.start();
  pods.start();
  nats.start();

  const phaseGauge = setInterval(() => updatePhaseGauge(ctx), 5000);
  phaseGauge.unref();

  // One leader term: started on acquiring the lease, stopped on losing it.
  let term: Promise<void> | undefined;
  const lead = async (signal: AbortSignal): Promise<void> => {
    const synced = await Promise.all([jobs.waitForSync(signal), pools.waitForSync(signal), pods.waitForSync(signal)]);
    if (signal.aborted || synced.includes(false)) return;
    logger.info({ identity }, 'leading: starting reconcilers and the job events consumer');
    metrics.isLeader.set(1);
    const vj = startVisionJobController(ctx, {
      jobWorkers: opts.jobWorkers,
      events: opts.events,
      onNatsChange: (fn) => nats.onChange(fn),
    });
    // The WorkerPool side (G2) registers its handlers and workers here.
    const wp = opts.workerPools !== false ? startWorkerPoolController(ctx) : undefined;
    visionJobs = vj;
    workerPools = wp;
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    logger.warn({ identity }, 'stopped leading');
    metrics.isLeader.set(0);
    if (visionJobs === vj) visionJobs = undefined;
    if (workerPools === wp) workerPools = undefined;
    const slow = setTimeout(() => logger.warn('leader term is slow to stop (VisionJob or WorkerPool side)'), 5000);
    await Promise.all([
      vj.stop().then(() => logger.debug('VisionJob side stopped')),
      wp?.stop().then(() => logger.debug('WorkerPool side stopped')),
    ]);
    clearTimeout(slow);
  };

  let elector: LeaderElector | undefined;
  const standalone = new AbortController();
  if (opts.leaderElection) {
    const le = opts.leaderElection;
    elector = new LeaderElector({
      coordination: kube.coordination,
      namespace: le.namespace,
      leaseName: le.leaseName ?? 'visionq-controller',
      identity,
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      logger,
      onStartedLeading: (signal) => {
        term = lead(signal).catch((err: unknown) => logger.error({ err }, 'leader term failed'));
      },
      onNewLeader: (id) => logger.info({ leader: id }, 'leader observed'),
    });
    elector.start();
  } else {
    term = lead(standalone.signal).catch((err: unknown) => logger.error({ err }, 'controller failed'));
  }

  const isLeader = (): boolean => visionJobs !== undefined;
  const notReadyReason = (): string | undefined => {
    if (!jobs.hasSynced() || !pools.hasSynced() || !pods.hasSynced()) return 'informers not synced';
    if (isLeader() && !nats.connected()) return 'leader not connected to NATS';
    return undefined;
  };
  const servers: RunningHttpServer[] = [];
  let metricsUrl: string | undefined;
  let healthUrl: string | undefined;
  const health = { healthy: () => true, notReadyReason };
  if (opts.metricsPort !== undefined && opts.metricsPort === opts.healthPort) {
    const s = await startHttpServer(opts.metricsPort, { registry: metrics.registry, health }, opts.httpHost);
    servers.push(s);
    metricsUrl = healthUrl = s.url;
  } else {
    if (opts.metricsPort !== undefined) {
      const s = await startHttpServer(opts.metricsPort, { registry: metrics.registry }, opts.httpHost);
      servers.push(s);
      metricsUrl = s.url;
    }
    if (opts.healthPort !== undefined) {
      const s = await startHttpServer(opts.healthPort, { health }, opts.httpHost);
      servers.push(s);
      healthUrl = s.url;
    }
  }

  let stopped: Promise<void> | undefined;
  return {
    ctx,
    identity,
    isLeader,
    ready: () => notReadyReason() === undefined,
    metricsUrl,
    healthUrl,
    stop() {
      stopped ??= (async () => {
        // A stage that hangs (an API call without answer) is named in the log.
        const stage = async (name: string, p: Promise<unknown> | undefined): Promise<void> => {
          const t = Date.now();
          const slow = setTimeout(() => logger.warn({ stage: name }, 'controller shutdown stage is slow'), 5000);
          try {
            await p;
          } finally {
            clearTimeout(slow);
            logger.debug({ stage: name, ms: Date.now() - t }, 'controller shutdown stage done');
          }
        };
        clearInterval(phaseGauge);
        standalone.abort();
        // The elector aborts the term's signal and releases the lease; drain the term first.
        const electorStop = elector?.stop();
        await stage('leader term', term);
        await stage('leader election', electorStop);
        await stage('http servers', Promise.all(servers.map((s) => s.close())));
        await stage('nats', nats.stop());
        await stage('informers', Promise.all([jobs.stop(), pools.stop(), pods.stop()]));
      })();
      return stopped;
    },
  };
}

function updatePhaseGauge(ctx: ControllerContext): void {
  const counts = new Map<string, number>();
  for (const j of ctx.jobs.store.list()) {
    const k = `${j.metadata.namespace}\u0000${j.spec?.pool}\u0000${j.status?.phase ?? 'Pending'}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  ctx.metrics.jobsByPhase.reset();
  for (const [k, n] of counts) {
    const [namespace, pool, phase] = k.split('\u0000') as [string, string, string];
    ctx.metrics.jobsByPhase.set({ namespace, pool, phase }, n);
  }
}

const USAGE = `usage: visionq controller [--kubeconfig PATH] [--nats-url URL] [--nats-creds FILE]
  [--nats-tls-ca FILE] [--nats-tls-cert FILE] [--nats-tls-key FILE] [--leader-elect]
  [--leader-election-namespace NS] [--lease-name visionq-controller] [--metrics-port 8080]
  [--health-port 8081] [--agent-image IMAGE] [--log-level info]
  [--leader-elect-lease-duration 15] [--leader-elect-renew-deadline 10] [--leader-elect-retry-period 2]
  [--agent-command 'CMD ARGS'] [--nats-url-for-workers URL]
env: VISIONQ_NATS_URL, POD_NAME, POD_NAMESPACE, KUBECONFIG
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
  const agentImage = str('agent-image');
  const agentInstallPath = DEFAULT_CONTROLLER_SETTINGS.agentInstallPath;
  const settings: Partial<ControllerSettings> = {
    natsUrlForWorkers: str('nats-url-for-workers') ?? natsUrl,
    ...(agentImage ? { agentImage } : {}),
    agentCommand: str('agent-command')?.split(' ').filter(Boolean) ?? [`${agentInstallPath}/visionq`, 'agent'],
    ...(process.env.VISIONQ_WORKER_NATS_CREDS_SECRET ? { workerNatsCredsSecret: process.env.VISIONQ_WORKER_NATS_CREDS_SECRET } : {}),
  };
  let handle: ControllerHandle;
  try {
    handle = await startController({
      kubeconfig: str('kubeconfig'),
      natsUrl: natsUrl.split(',').map((s) => s.trim()).filter(Boolean),
      natsCredsFile: str('nats-creds'),
      natsTls: { caFile: str('nats-tls-ca'), certFile: str('nats-tls-cert'), keyFile: str('nats-tls-key') },
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
