import type { Logger } from 'pino';
import type { OutputSink } from './output-prefixer.js';

/** Options of one agent (`visionq agent` parses them from flags and env in agent-command.ts). */
export interface AgentOptions {
  natsUrl: string | string[];
  natsCreds?: string;
  /** Static NATS user of the pool (nats-permissions.ts workerUserName) and its password. */
  natsUser?: string;
  natsPassword?: string;
  natsTls?: { caFile?: string; certFile?: string; keyFile?: string };
  namespace: string;
  pool: string;
  pod?: string;
  node?: string;
  /** Jobs run at once (default 1). */
  slots?: number;
  /** Heartbeat base; default: the consumer's ack_wait. */
  ackWaitSeconds?: number;
  /**
   * Ed25519 public keys (base64 SPKI DER or PEM) of the controller: when set, a job message
   * that is unsigned or not signed by one of them is terminated with a `rejected` event and
   * never run (src/queue/job-signature.ts).
   */
  jobPublicKeys?: string[];
  /** Exit codes that are permanent failures, merged with each job's own list. */
  permanentExitCodes?: number[];
  /** Parent dir of per-attempt scratch dirs (default $TMPDIR/visionq-agent-<pod>). */
  workDir?: string;
  /** 0 = no HTTP server. */
  httpPort?: number;
  httpHost?: string;
  /** How long a SIGTERM may wait for running jobs before re-queueing them. */
  graceSeconds?: number;
  /** The algorithm command (job args are appended). */
  command: string[];
  /** Between SIGTERM and SIGKILL when the agent stops a process (default 5000; cancel uses min(this, 1000)). */
  killGraceMs?: number;
  /** How long a read of the pool consumer's max_deliver is reused (default 10000). */
  consumerRefreshMs?: number;
  /** Drain is refused for this long after taking a job (default 5000). */
  drainRefuseWindowMs?: number;
  /**
   * An accepted drain lapses after this long if the pod is still alive (default 60000): the
   * controller deletes a drained pod at once, so a pod still here was not deleted (API error,
   * leader change) and would otherwise hold a worker slot that never takes a job.
   */
  drainExpiryMs?: number;
  progressPollMs?: number;
  /** Minimum gap between progress events of one attempt (default 2000). */
  progressMinIntervalMs?: number;
  /** Gap between heartbeat events (default 30000; the working() acks are separate and frequent). */
  heartbeatEventIntervalMs?: number;
  /** Pull request expiry (default 10000). */
  pullExpiresMs?: number;
  logger?: Logger;
  logLevel?: string;
  output?: OutputSink;
  /** Extra env for every attempt (default process.env). */
  baseEnv?: NodeJS.ProcessEnv;
}

export interface AgentHealth {
  natsConnected: boolean;
  running: number;
  draining: boolean;
  stopping: boolean;
}
