import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import pino from 'pino';
import { Agent, type AgentOptions } from '../../../src/agent/agent.js';
import { ensurePoolConsumer, ensureStreams } from '../../../src/queue/topology.js';
import { publishJob } from '../../../src/queue/publisher.js';
import { safeDecodeJobEvent, type JobEvent } from '../../../src/queue/job-events.js';
import { EVENTS_STREAM, JOBS_STREAM, consumerName } from '../../../src/queue/subjects.js';
import type { JobMessageInput } from '../../../src/queue/job-message.js';
import type { JobSigner } from '../../../src/queue/job-signature.js';
import { startNatsServer, type NatsServerHandle } from '../../helpers/nats-server.js';
import { waitFor } from '../../helpers/wait-for.js';

const REPO = resolve(import.meta.dirname, '../../..');
const NS = 'team-a';
let uidCounter = 0;

/**
 * One nats-server per test file, JetStream topology, an event log read from
 * VISIONQ_EVENTS, and helpers to run agents in-process or as child processes.
 */
export class AgentHarness {
  readonly ns = NS;
  nc!: NatsConnection;
  js!: JetStreamClient;
  jsm!: JetStreamManager;
  server!: NatsServerHandle;
  tmp!: string;
  private agents: Agent[] = [];
  private children: ChildProcess[] = [];
  readonly output: string[] = [];

  /**
   * `natsConfig`: nats-server config text (e.g. role users from nats-permissions.ts); the
   * harness then connects as `controller` (user/password) and agents bring their own credentials.
   * `tls`: the harness's own connection's TLS files, for a server whose config requires TLS.
   */
  async setup(opts: { natsConfig?: string; controller?: { user: string; pass: string }; tls?: { caFile?: string; certFile?: string; keyFile?: string } } = {}): Promise<void> {
    this.server = await startNatsServer({ config: opts.natsConfig });
    this.tmp = await mkdtemp(join(tmpdir(), 'visionq-agent-test-'));
    this.nc = await connect({ servers: this.server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100, ...opts.controller, ...(opts.tls ? { tls: opts.tls } : {}) });
    this.js = jetstream(this.nc);
    this.jsm = await jetstreamManager(this.nc);
    await ensureStreams(this.jsm, { duplicateWindowMs: 60_000 });
  }

  async teardown(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.stop({ graceMs: 0 }).catch(() => undefined)));
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await this.killRecordedPids();
    await this.nc?.close().catch(() => undefined);
    await this.server?.cleanup();
    if (this.tmp) await rm(this.tmp, { recursive: true, force: true });
  }

  /** Pids written by test commands (`echo $$ >> $PIDS_FILE`): orphans of SIGKILLed agents. */
  get pidsFile(): string {
    return join(this.tmp, 'pids');
  }

  async killRecordedPids(): Promise<void> {
    const text = await readFile(this.pidsFile, 'utf8').catch(() => '');
    for (const pid of text.split('\n').map(Number).filter((n) => n > 0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }

  async pool(pool: string, opts: { ackWaitSeconds?: number; maxAckPending?: number; maxDeliver?: number } = {}): Promise<void> {
    await ensurePoolConsumer(this.jsm, {
      namespace: NS,
      pool,
      ackWaitSeconds: opts.ackWaitSeconds ?? 1,
      maxAckPending: opts.maxAckPending ?? 100,
      maxDeliver: opts.maxDeliver ?? 50,
    });
  }

  async publish(pool: string, job: Partial<JobMessageInput> & { name: string }, opts: { signer?: JobSigner } = {}) {
    const msg: JobMessageInput = {
      uid: `uid-${process.pid}-${++uidCounter}-${job.name}`,
      namespace: NS,
      pool,
      publishedAt: new Date().toISOString(),
      ...job,
    };
    const res = await publishJob(this.js, msg, opts);
    return { ...res, uid: msg.uid };
  }

  async startAgent(pool: string, opts: Partial<AgentOptions> & { command: string[] }): Promise<Agent> {
    const agent = new Agent({
      natsUrl: this.server.url,
      namespace: NS,
      pool,
      pod: `pod-${pool}-${this.agents.length}`,
      node: 'node-1',
      workDir: join(this.tmp, 'work'),
      logger: pino({ level: process.env.VISIONQ_TEST_LOG ?? 'silent' }),
      output: (_s, line) => this.output.push(line),
      baseEnv: { PATH: process.env.PATH, PIDS_FILE: this.pidsFile },
      progressPollMs: 100,
      progressMinIntervalMs: 200,
      drainRefuseWindowMs: 300,
      ...opts,
    });
    this.agents.push(agent);
    await agent.start();
    return agent;
  }

  /** Runs `src/agent/main.ts` under tsx in a child process; resolves once it listens for jobs. */
  async spawnAgent(pool: string, pod: string, args: string[], command: string[]): Promise<ChildProcess & { logs: () => string }> {
    const c = this.spawnCommand(
      [process.execPath, '--import', 'tsx', join(REPO, 'src/agent/main.ts'), '--nats-url', this.server.url, '--namespace', NS, '--pool', pool, '--pod', pod, '--work-dir', join(this.tmp, 'work'), ...args, '--', ...command],
      { VISIONQ_LOG_LEVEL: 'info' },
    );
    await waitFor(() => c.logs().includes('agent started') || c.exitCode !== null, { timeoutMs: 30_000, message: `agent ${pod} started` });
    if (c.exitCode !== null) throw new Error(`agent ${pod} exited: ${c.logs()}`);
    return c;
  }

  /**
   * Starts `argv` as it is (e.g. a worker pod's agent command), in the repository, with PATH,
   * HOME, PIDS_FILE and `env`; killed at teardown. Does not wait for anything.
   */
  spawnCommand(argv: string[], env: NodeJS.ProcessEnv = {}): ChildProcess & { logs: () => string } {
    const [file, ...args] = argv;
    if (!file) throw new Error('spawnCommand: empty argv');
    const child = spawn(file, args, {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, PIDS_FILE: this.pidsFile, HOME: process.env.HOME, ...env },
    });
    this.children.push(child);
    let logs = '';
    child.stdout?.on('data', (d: Buffer) => (logs += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (logs += d.toString()));
    return Object.assign(child, { logs: () => logs });
  }

  /** All events stored in VISIONQ_EVENTS (optionally of one job uid), in order. */
  async events(uid?: string): Promise<JobEvent[]> {
    const info = await this.jsm.streams.info(EVENTS_STREAM);
    const out: JobEvent[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await this.jsm.streams.getMessage(EVENTS_STREAM, { seq }).catch(() => null);
      const ev = m ? safeDecodeJobEvent(m.data) : undefined;
      if (ev && (uid === undefined || ev.jobUid === uid)) out.push(ev);
    }
    return out;
  }

  async waitEvent(uid: string, pred: (e: JobEvent) => boolean, timeoutMs = 20_000, message?: string): Promise<JobEvent> {
    return waitFor(async () => (await this.events(uid)).find(pred), { timeoutMs, intervalMs: 100, message: message ?? `event for ${uid}` });
  }

  async consumerInfo(pool: string) {
    return this.jsm.consumers.info(JOBS_STREAM, consumerName(NS, pool));
  }

  async jobsInStream(): Promise<number> {
    return (await this.jsm.streams.info(JOBS_STREAM)).state.messages;
  }
}

/** `sh -c SCRIPT sh ARGS...`: the job's args become $1, $2... */
export function sh(script: string): string[] {
  return ['sh', '-c', `echo $$ >> "$PIDS_FILE"; ${script}`, 'sh'];
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
