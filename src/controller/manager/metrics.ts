import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric the controller exports, on its own registry (tests run several controllers). */
export interface ControllerMetrics {
  registry: Registry;
  jobsByPhase: Gauge<'namespace' | 'pool' | 'phase'>;
  queueWaitSeconds: Histogram<'namespace' | 'pool'>;
  runDurationSeconds: Histogram<'namespace' | 'pool' | 'outcome'>;
  retries: Counter<'namespace' | 'pool'>;
  disruptions: Counter<'namespace' | 'pool'>;
  jobsPublished: Counter<'namespace' | 'pool'>;
  messagesLost: Counter<'namespace' | 'pool'>;
  reconcileDurationSeconds: Histogram<'controller'>;
  reconcileErrors: Counter<'controller'>;
  workQueueDepth: Gauge<'controller'>;
  natsConnected: Gauge;
  isLeader: Gauge;
  jobEventsApplied: Counter<'type' | 'outcome'>;
}

const LONG_JOB_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800];

export function createControllerMetrics(opts: { defaultMetrics?: boolean } = {}): ControllerMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'visionq_controller_' });
  const r = [registry];
  return {
    registry,
    jobsByPhase: new Gauge({
      name: 'visionq_jobs',
      help: 'VisionJobs by namespace, pool and phase (from the informer cache)',
      labelNames: ['namespace', 'pool', 'phase'],
      registers: r,
    }),
    queueWaitSeconds: new Histogram({
      name: 'visionq_job_queue_wait_seconds',
      help: 'Time from queuedAt to the first start of a job',
      labelNames: ['namespace', 'pool'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers: r,
    }),
    runDurationSeconds: new Histogram({
      name: 'visionq_job_run_duration_seconds',
      help: 'Time from startTime to completionTime of finished jobs',
      labelNames: ['namespace', 'pool', 'outcome'],
      buckets: LONG_JOB_BUCKETS,
      registers: r,
    }),
    retries: new Counter({
      name: 'visionq_job_retries_total',
      help: 'Failed attempts that will be retried',
      labelNames: ['namespace', 'pool'],
      registers: r,
    }),
    disruptions: new Counter({
      name: 'visionq_job_disruptions_total',
      help: 'Attempts lost to a worker going away (not counted as failures)',
      labelNames: ['namespace', 'pool'],
      registers: r,
    }),
    messagesLost: new Counter({
      name: 'visionq_job_messages_lost_total',
      help: 'Queued jobs found without their queue message and queued again (see the MessageLost event)',
      labelNames: ['namespace', 'pool'],
      registers: r,
    }),
    jobsPublished: new Counter({
      name: 'visionq_jobs_published_total',
      help: 'Jobs admitted and published to the queue',
      labelNames: ['namespace', 'pool'],
      registers: r,
    }),
    reconcileDurationSeconds: new Histogram({
      name: 'visionq_reconcile_duration_seconds',
      help: 'Duration of one reconcile',
      labelNames: ['controller'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    }),
    reconcileErrors: new Counter({
      name: 'visionq_reconcile_errors_total',
      help: 'Reconciles that ended in an error (retried with backoff)',
      labelNames: ['controller'],
      registers: r,
    }),
    workQueueDepth: new Gauge({
      name: 'visionq_workqueue_depth',
      help: 'Keys waiting in a controller work queue',
      labelNames: ['controller'],
      registers: r,
    }),
    natsConnected: new Gauge({
      name: 'visionq_nats_connected',
      help: '1 when the controller is connected to NATS',
      registers: r,
    }),
    isLeader: new Gauge({
      name: 'visionq_controller_leader',
      help: '1 when this replica holds the leader lease',
      registers: r,
    }),
    jobEventsApplied: new Counter({
      name: 'visionq_job_events_total',
      help: 'Job events read from VISIONQ_EVENTS, by type and outcome (applied, ignored, error, rejected: status refused by the API, forged: no valid MAC)',
      labelNames: ['type', 'outcome'],
      registers: r,
    }),
  };
}
