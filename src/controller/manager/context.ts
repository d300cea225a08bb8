/**
 * What every reconciler of the controller (VisionJob side and WorkerPool side) is handed.
 *
 * The manager (manager.ts) builds one ControllerContext per process. Informers run on every
 * replica (a standby keeps its caches warm); reconcilers, the job-events consumer and anything
 * that writes only run on the elected leader.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { KubeClients } from '../../kube/kube-clients.js';
import type { ControllerMetrics } from './metrics.js';
import type { JobSigner } from '../../queue/job-signature.js';
import type { Informer } from '../../kube/informer.js';
import type { WorkerNatsTls } from '../workerpod/worker-pod-builder.js';
import type { JobRecorder, VisionJobObject, WorkerPoolObject } from './context-types.js';

/** The live NATS connection, if any. Never cached by callers: it is replaced on reconnect. */
export interface NatsHandles {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

export interface NatsAccess {
  /** The current connection, or undefined while NATS is unreachable. */
  current(): NatsHandles | undefined;
  connected(): boolean;
}

export interface ControllerSettings {
  /** NATS URL(s) written into worker pods (may differ from the controller's own URL). */
  natsUrlForWorkers: string;
  /**
   * How a worker pod runs the agent, before the algorithm command. In a cluster:
   * [`${agentInstallPath}/visionq`, 'agent']; in the sandbox:
   * [process.execPath, '<repo>/dist/cli/main.js', 'agent'].
   */
  agentCommand: string[];
  /** Image the init container copies the agent from; unset in the sandbox (agent runs locally). */
  agentImage?: string;
  agentInstallPath: string;
  /** Secret holding NATS credentials for worker pods, mounted when set. */
  workerNatsCredsSecret?: string;
  /** Secret whose key `<pool>` holds the password of the pool's static NATS worker user. */
  workerNatsUserSecret?: string;
  /** Secret (in each pool's namespace) with the agents' NATS TLS files, mounted when set. */
  workerNatsTls?: WorkerNatsTls;
  /** How long a deleted running job waits for its agent to confirm the cancel. */
  cancelTimeoutMs: number;
  /** Signs job messages (--job-signing-key); unset: unsigned, and worker pods verify nothing. */
  jobSigner?: JobSigner;
  /**
   * Signing keys of a rotation still in progress: worker pods accept their public keys, and
   * events of jobs they signed still verify (their event keys derive from them).
   */
  previousJobSigners?: JobSigner[];
  /** With jobSigner: `optional` also accepts events without a MAC (an upgrade window); default `required`. */
  eventMacs?: 'required' | 'optional';
  /** Most jobs of one namespace waiting (queued or pending) at once; younger ones are held QueueQuotaExceeded. */
  maxWaitingPerNamespace?: number;
}

export interface ControllerContext {
  kube: KubeClients;
  /** All VisionJobs, all namespaces; keys 'namespace/name'. */
  jobs: Informer<VisionJobObject>;
  pools: Informer<WorkerPoolObject>;
  /** Pods with the label `visionq.dev/pool`. */
  pods: Informer<V1Pod>;
  nats: NatsAccess;
  recorder: JobRecorder;
  metrics: ControllerMetrics;
  clock: () => Date;
  logger: Logger;
  settings: ControllerSettings;
  /** 'namespace/name' of a VisionJob. */
  enqueueJob(key: string): void;
  /** 'namespace/name' of a WorkerPool. */
  enqueuePool(key: string): void;
}

export const DEFAULT_CONTROLLER_SETTINGS: ControllerSettings = {
  natsUrlForWorkers: 'nats://127.0.0.1:4222',
  agentCommand: ['/opt/visionq-agent/visionq', 'agent'],
  agentInstallPath: '/opt/visionq-agent',
  cancelTimeoutMs: 30_000,
};
