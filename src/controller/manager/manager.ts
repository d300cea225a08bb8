/**
 * Composition of the controller: informers (on every replica: a standby keeps its caches warm),
 * NATS, leader election, and for the leader the VisionJob side (visionjob-controller.ts) and the
 * WorkerPool side (workerpool-controller.ts). The command line is in controller-command.ts.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { API_GROUP, API_VERSION, VISION_JOB_PLURAL, WORKER_POOL_PLURAL } from '../../api/constants.js';
import { EventRecorder } from '../../kube/event-recorder.js';
import { Informer } from '../../kube/informer.js';
import { loadKubeConfig, makeClients } from '../../kube/kube-clients.js';
import { LeaderElector } from '../../kube/leader-election.js';
import type { StreamsOptions } from '../../queue/topology.js';
import { DEFAULT_CONTROLLER_SETTINGS, type ControllerContext, type ControllerSettings } from './context.js';
import type { VisionJobObject, WorkerPoolObject } from './context-types.js';
import { startHttpServer, type RunningHttpServer } from './http-server.js';
import type { JobEventConsumerOptions } from '../jobevents/job-event-consumer.js';
import { createControllerMetrics, type ControllerMetrics } from './metrics.js';
import { NatsConnector } from './nats-access.js';
import { startVisionJobController, type VisionJobController } from '../visionjob/visionjob-controller.js';
import { JOBS_BY_POOL_INDEX, jobsByPoolIndex } from './jobs-by-pool.js';
import { requeueJobOfDeadPod } from '../visionjob/visionjob-requeue.js';
import { startWorkerPoolController, type WorkerPoolController } from '../workerpool/workerpool-controller.js';

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
  /** Static NATS user (nats-server `authorization { users }`) and its password. */
  natsUser?: string;
  natsPassword?: string;
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
  /** Period of the check that every Queued job still has its queue message (default 60 s). */
  queueSweepIntervalMs?: number;
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
    user: opts.natsUser,
    password: opts.natsPassword,
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
      sweep: { intervalMs: opts.queueSweepIntervalMs },
      onNatsChange: (fn) => nats.onChange(fn),
    });
    // The WorkerPool side registers its handlers and workers here.
    const wp = opts.workerPools !== false ? startWorkerPoolController(ctx, { requeue: (job, pod) => requeueJobOfDeadPod(vj.runtime, job, pod) }) : undefined;
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
