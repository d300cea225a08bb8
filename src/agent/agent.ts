import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { jetstream, jetstreamManager, type Consumer, type ConsumerMessages, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import pino, { type Logger } from 'pino';
import { ackAckByAckSubject, nakConfirmed, termByAckSubject, workingByAckSubject } from '../queue/ack.js';
import { AttemptStore, type DeliveryRef } from '../queue/attempt-store.js';
import { connectNats } from '../queue/connect.js';
import type { JobEvent, JobEventOf } from '../queue/job-events.js';
import { decodeJobMessage, type JobMessage } from '../queue/job-message.js';
import { detectServerFeatures, type ServerFeatures } from '../queue/server-features.js';
import { ATTEMPTS_BUCKET, JOBS_STREAM, consumerName, controlSubject } from '../queue/subjects.js';
import { classifyExit, decideRetry } from './exit-classifier.js';
import { EventOutbox } from './event-outbox.js';
import { startHttpServer } from './http-server.js';
import { JobRunner, type AttemptResult, type KillReason } from './job-runner.js';
import { AgentMetrics } from './metrics.js';
import { processOutputSink, type OutputSink } from './output-prefixer.js';

export interface AgentOptions {
  natsUrl: string | string[];
  natsCreds?: string;
  natsTls?: { caFile?: string; certFile?: string; keyFile?: string };
  namespace: string;
  pool: string;
  pod?: string;
  node?: string;
  /** Jobs run at once (default 1). */
  slots?: number;
  /** Heartbeat base; default: the consumer's ack_wait. */
  ackWaitSeconds?: number;
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

interface RunningJob {
  job: JobMessage;
  ref: DeliveryRef;
  ackSubject: string;
  attempt: number;
  failuresBefore: number;
  startedAt: number;
  deadline: Date | null;
  runner: JobRunner;
  progress?: { percent: number; message: string; at: number };
  done: Promise<void>;
}

export interface AgentHealth {
  natsConnected: boolean;
  running: number;
  draining: boolean;
  stopping: boolean;
}

/**
 * The worker agent: pulls one job per free slot from its pool's durable consumer, runs
 * the algorithm command per attempt, heartbeats, and acks / naks / terms. See
 * DESIGN.md "Worker agent" and src/queue/attempt-store.ts for attempt accounting.
 */
export class Agent {
  readonly metrics = new AgentMetrics();
  readonly pod: string;
  readonly node: string;
  private readonly slots: number;
  private readonly log: Logger;
  private readonly output: OutputSink;
  private readonly workRoot: string;
  private readonly permanentCodes: Set<number>;
  private nc?: NatsConnection;
  private ownsConnection = false;
  private js?: JetStreamClient;
  private consumer?: Consumer;
  private attempts?: AttemptStore;
  private outbox?: EventOutbox;
  private features?: ServerFeatures;
  private controlSub?: Subscription;
  private http?: Server;
  private readonly running = new Map<string, RunningJob>();
  /** Jobs between delivery and start (attempt claim): a cancel for them is applied at start. */
  private readonly claimingUids = new Set<string>();
  private readonly pendingCancels = new Set<string>();
  /** Messages being claimed (slot taken, not yet running). */
  private claiming = 0;
  private ackWaitMs = 30_000;
  private maxDeliver = -1;
  private draining = false;
  private stopping = false;
  private lastTakenAt = 0;
  private currentFetch?: ConsumerMessages;
  private fetchLoop?: Promise<void>;
  private drainExpiry?: NodeJS.Timeout;
  private slotFreed?: () => void;
  private connected = false;
  private readonly heartbeatTimers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly opts: AgentOptions,
    deps: { nc?: NatsConnection } = {},
  ) {
    this.pod = opts.pod ?? hostname();
    this.node = opts.node ?? '';
    this.slots = Math.max(1, opts.slots ?? 1);
    this.log = (opts.logger ?? pino({ level: opts.logLevel ?? 'info' }, pino.destination(2))).child({ pod: this.pod, pool: opts.pool, namespace: opts.namespace });
    this.output = opts.output ?? processOutputSink;
    this.workRoot = opts.workDir ?? join(tmpdir(), `visionq-agent-${this.pod}`);
    this.permanentCodes = new Set(opts.permanentExitCodes ?? []);
    if (deps.nc) this.nc = deps.nc;
    if (opts.command.length === 0) throw new Error('agent needs a command to run');
  }

  health(): AgentHealth {
    return { natsConnected: this.connected, running: this.running.size, draining: this.draining, stopping: this.stopping };
  }

  /** Jobs running now (uid → attempt). */
  runningJobs(): { jobUid: string; name: string; attempt: number; deliveryCount: number; pid?: number }[] {
    return [...this.running.values()].map((r) => ({ jobUid: r.job.uid, name: r.job.name, attempt: r.attempt, deliveryCount: r.ref.deliveryCount, pid: r.runner.pid }));
  }

  async start(): Promise<void> {
    this.metrics.slots.set(this.slots);
    if (this.opts.httpPort) this.http = await startHttpServer(this.opts.httpPort, this.opts.httpHost ?? '0.0.0.0', this, this.metrics.registry);
    if (!this.nc) {
      this.nc = await connectNats({ servers: this.opts.natsUrl, name: `visionq-agent/${this.pod}`, credsFile: this.opts.natsCreds, tls: this.opts.natsTls });
      this.ownsConnection = true;
    }
    const nc = this.nc;
    this.connected = true;
    this.metrics.natsConnected.set(1);
    this.features = detectServerFeatures(nc);
    void this.watchStatus(nc);
    this.js = jetstream(nc);
    this.outbox = new EventOutbox(this.js, this.log);
    this.consumer = await this.retry('open pool consumer', async () => this.js!.consumers.get(JOBS_STREAM, consumerName(this.opts.namespace, this.opts.pool)));
    const info = await this.consumer.info(true);
    this.ackWaitMs = this.opts.ackWaitSeconds ? this.opts.ackWaitSeconds * 1000 : Math.round((info.config.ack_wait ?? 30e9) / 1e6);
    this.maxDeliver = info.config.max_deliver ?? -1;
    const kv = await this.retry('open attempts bucket', async () => {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.info(`KV_${ATTEMPTS_BUCKET}`);
      return new Kvm(this.js!).open(ATTEMPTS_BUCKET);
    });
    this.attempts = new AttemptStore(kv);
    this.controlSub = nc.subscribe(controlSubject(this.opts.namespace, this.pod, 'status').replace(/\.status$/, '.*'), {
      callback: (err, msg) => {
        if (err) return;
        void this.onControl(msg.subject.split('.').pop() ?? '', msg.data).then(
          (reply) => msg.respond(JSON.stringify(reply)),
          (e: Error) => msg.respond(JSON.stringify({ ok: false, error: e.message })),
        );
      },
    });
    // Once start() resolves the agent must answer drain/cancel requests: a round trip makes
    // sure the server has registered the control subscription.
    await this.retry('register control subscription', () => nc.flush());
    this.log.info({ slots: this.slots, ackWaitMs: this.ackWaitMs, maxDeliver: this.maxDeliver, server: this.features.version }, 'agent started');
    this.fetchLoop = this.runFetchLoop();
  }

  /**
   * Stops taking jobs; running jobs get `graceMs` to finish (or are re-queued at once
   * when their progress says they cannot), then are killed and NAKed as a disruption.
   */
  async stop(opts: { graceMs?: number; reason?: 'sigterm' | 'shutdown' } = {}): Promise<void> {
    const graceMs = opts.graceMs ?? (this.opts.graceSeconds ?? 0) * 1000;
    // A second stop (e.g. a second SIGTERM) can only shorten the grace period.
    this.graceDeadline = Math.min(this.graceDeadline, Date.now() + graceMs);
    this.stopPromise ??= this.doStop(opts.reason ?? 'sigterm');
    return this.stopPromise;
  }

  private graceDeadline = Infinity;
  private stopPromise?: Promise<void>;

  private async doStop(reason: 'sigterm' | 'shutdown'): Promise<void> {
    this.stopping = true;
    clearTimeout(this.drainExpiry);
    this.requeueReason = reason;
    this.log.info({ graceMs: this.graceDeadline - Date.now(), running: this.running.size }, 'stopping: no more jobs');
    this.stopFetching();
    await this.fetchLoop?.catch(() => undefined);
    const killGrace = this.opts.killGraceMs ?? 5000;
    while (this.running.size > 0 && Date.now() < this.graceDeadline) {
      for (const r of this.running.values()) {
        if (!this.canFinishBy(r, this.graceDeadline)) r.runner.kill('requeue', killGrace);
      }
      await sleep(Math.min(100, Math.max(1, this.graceDeadline - Date.now())));
    }
    for (const r of this.running.values()) r.runner.kill('requeue', killGrace);
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
    for (const t of this.heartbeatTimers) clearInterval(t);
    this.controlSub?.unsubscribe();
    await this.outbox?.close(5000);
    if (this.ownsConnection) await this.nc?.drain().catch(() => this.nc?.close());
    await new Promise<void>((r) => (this.http ? this.http.close(() => r()) : r()));
    this.log.info('agent stopped');
  }

  private requeueReason: 'sigterm' | 'shutdown' = 'sigterm';

  /** Without a progress-based estimate a job may use the whole grace period. */
  private canFinishBy(r: RunningJob, deadline: number): boolean {
    const p = r.progress;
    if (!p || p.percent <= 0) return true;
    if (p.percent >= 100) return true;
    const elapsed = p.at - r.startedAt;
    const remaining = (elapsed * (100 - p.percent)) / p.percent;
    return p.at + remaining <= deadline;
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.connected = false;
        this.metrics.natsConnected.set(0);
        this.log.warn('NATS disconnected');
      } else if (s.type === 'reconnect') {
        this.connected = true;
        this.metrics.natsConnected.set(1);
        this.log.info({ running: this.running.size }, 'NATS reconnected: heartbeating running jobs now');
        for (const r of this.running.values()) this.heartbeat(r);
      }
    }
  }

  // ---- fetching -------------------------------------------------------------------

  private freeSlots(): number {
    return this.slots - this.running.size - this.claiming;
  }

  private stopFetching(): void {
    this.currentFetch?.stop();
    this.slotFreed?.();
  }

  private async runFetchLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopping && !this.draining) {
      if (this.freeSlots() <= 0) {
        await new Promise<void>((r) => (this.slotFreed = r));
        continue;
      }
      try {
        const iter = await this.consumer!.fetch({ max_messages: 1, expires: this.opts.pullExpiresMs ?? 10_000 });
        this.currentFetch = iter;
        if (this.stopping || this.draining) iter.stop();
        const t0 = Date.now();
        let got = 0;
        for await (const m of iter) {
          got++;
          this.take(m);
        }
        failures = 0;
        // An empty pull that ended at once (consumer gone, server restarting): do not spin.
        if (got === 0 && Date.now() - t0 < 200 && !this.stopping && !this.draining) await sleep(500);
      } catch (err) {
        failures++;
        if (!this.stopping) this.log.warn({ err: (err as Error).message }, 'fetch failed; retrying');
        await sleep(Math.min(5000, 250 * 2 ** Math.min(failures, 5)));
      } finally {
        this.currentFetch = undefined;
      }
    }
  }

  /** Called synchronously per delivered message so the slot count is right at once. */
  private take(m: JsMsg): void {
    const ackSubject = (m as unknown as { reply?: string }).reply ?? '';
    if (this.stopping || this.draining) {
      // A pull that was in flight when we stopped fetching: hand the job straight back.
      this.log.info({ seq: m.seq }, 'message arrived while stopping/draining: re-queued');
      void nakConfirmed(this.nc!, ackSubject, 0).catch(() => undefined);
      return;
    }
    this.lastTakenAt = Date.now();
    this.claiming++;
    void this.handle(m, ackSubject)
      .catch((err: Error) => this.log.error({ err, seq: m.seq }, 'job handling failed'))
      .finally(() => {
        this.slotFreed?.();
      });
  }

  private async handle(m: JsMsg, ackSubject: string): Promise<void> {
    const ref: DeliveryRef = { streamSeq: m.seq, deliveryCount: m.info.deliveryCount };
    let job: JobMessage;
    try {
      job = decodeJobMessage(m.data);
    } catch (err) {
      this.claiming--;
      await this.reject(m, ackSubject, ref, (err as Error).message);
      return;
    }
    let claim;
    this.claimingUids.add(job.uid);
    try {
      claim = await this.retry('claim attempt', () => this.attempts!.claim(job.uid, ref, this.pod), 5);
    } catch (err) {
      this.claimingUids.delete(job.uid);
      this.claiming--;
      this.log.error({ err, jobUid: job.uid }, 'cannot claim attempt: re-queueing');
      await nakConfirmed(this.nc!, ackSubject, 1000).catch(() => undefined);
      return;
    }
    if (!claim.ok) {
      this.claimingUids.delete(job.uid);
      this.claiming--;
      this.log.warn({ jobUid: job.uid, ...ref, claimed: claim.record }, 'delivery older than the claimed attempt: ignored');
      if (claim.record.streamSeq > ref.streamSeq) await termByAckSubject(this.nc!, ackSubject).catch(() => undefined);
      return;
    }
    const attempt = claim.record.attempts;
    const startedAt = Date.now();
    const deadline = job.timeoutSeconds > 0 ? new Date(startedAt + job.timeoutSeconds * 1000) : null;
    const r: RunningJob = {
      job,
      ref,
      ackSubject,
      attempt,
      failuresBefore: claim.record.failures,
      startedAt,
      deadline,
      runner: undefined as unknown as JobRunner,
      done: Promise.resolve(),
    };
    let progressSeq = 0;
    let lastProgressAt = 0;
    let pendingProgress: NodeJS.Timeout | undefined;
    const publishProgress = () => {
      pendingProgress = undefined;
      if (!r.progress) return;
      lastProgressAt = Date.now();
      void this.outbox!.publish({ ...this.base(r), type: 'progress', percent: r.progress.percent, message: r.progress.message, seq: ++progressSeq });
    };
    r.runner = new JobRunner({
      job,
      attempt,
      deliveryCount: ref.deliveryCount,
      streamSeq: ref.streamSeq,
      command: this.opts.command,
      workRoot: this.workRoot,
      deadline,
      baseEnv: this.opts.baseEnv ?? process.env,
      output: this.output,
      progressPollMs: this.opts.progressPollMs ?? 500,
      killGraceMs: this.opts.killGraceMs ?? 5000,
      onProgress: (p) => {
        r.progress = { ...p, at: Date.now() };
        const gap = this.opts.progressMinIntervalMs ?? 2000;
        const wait = lastProgressAt + gap - Date.now();
        if (wait <= 0) publishProgress();
        else pendingProgress ??= setTimeout(publishProgress, wait);
      },
    });
    this.running.set(job.uid, r);
    this.claimingUids.delete(job.uid);
    this.claiming--;
    if (this.pendingCancels.delete(job.uid)) r.runner.kill('cancel', 1000);
    this.metrics.running.set(this.running.size);
    this.log.info({ jobUid: job.uid, job: job.name, attempt, ...ref }, 'job started');

    let done!: () => void;
    r.done = new Promise<void>((res) => (done = res));
    const hbTimer = setInterval(() => void this.heartbeatTick(r), Math.max(100, Math.floor(this.ackWaitMs / 3)));
    this.heartbeatTimers.add(hbTimer);
    const hbEventTimer = setInterval(() => void this.outbox!.publish({ ...this.base(r), type: 'heartbeat' }), this.opts.heartbeatEventIntervalMs ?? 30_000);
    this.heartbeatTimers.add(hbEventTimer);
    try {
      void this.outbox!.publish({ ...this.base(r), type: 'started', ackSubject, deadline: deadline?.toISOString() ?? null, failures: r.failuresBefore });
      let result: AttemptResult;
      try {
        result = await r.runner.run();
      } catch (err) {
        result = { exitCode: null, signal: null, timedOut: false, spawnError: (err as Error).message, durationMs: Date.now() - startedAt };
      }
      clearInterval(hbTimer);
      clearInterval(hbEventTimer);
      clearTimeout(pendingProgress);
      if (r.progress && lastProgressAt < r.progress.at) publishProgress();
      await this.settle(r, result);
    } finally {
      clearInterval(hbTimer);
      clearInterval(hbEventTimer);
      this.heartbeatTimers.delete(hbTimer);
      this.heartbeatTimers.delete(hbEventTimer);
      this.running.delete(job.uid);
      this.metrics.running.set(this.running.size);
      done();
    }
  }

  private heartbeat(r: RunningJob): void {
    if (!this.nc || this.nc.isClosed()) return;
    workingByAckSubject(this.nc, r.ackSubject);
    this.metrics.heartbeats.inc();
  }

  /** working() plus the supersession check: a newer claim means this attempt is stale. */
  private async heartbeatTick(r: RunningJob): Promise<void> {
    try {
      if (await this.attempts!.isSuperseded(r.job.uid, r.ref)) {
        this.log.warn({ jobUid: r.job.uid, ...r.ref }, 'attempt superseded by a newer delivery: stopping it without ack');
        r.runner.kill('superseded', this.opts.killGraceMs ?? 5000);
        return;
      }
    } catch {
      // NATS down: keep heartbeating (buffered until reconnect).
    }
    this.heartbeat(r);
  }

  /** Turns the attempt's outcome into ack / nak / term plus its event. */
  private async settle(r: RunningJob, res: AttemptResult): Promise<void> {
    const base = this.base(r);
    const killedBy: KillReason | undefined = res.killedBy;
    const log = this.log.child({ jobUid: r.job.uid, job: r.job.name, attempt: r.attempt, ...r.ref });
    if (killedBy === 'superseded' || (await this.isSupersededSafe(r))) {
      this.metrics.jobs.inc({ outcome: 'superseded' });
      log.warn('attempt superseded: no ack, no event');
      return;
    }
    if (killedBy === 'cancel') {
      await this.ackOp(() => termByAckSubject(this.nc!, r.ackSubject, { reason: this.features?.termReason ? 'cancelled' : undefined }), r);
      await this.outbox!.publish({ ...base, type: 'cancelled', durationMs: res.durationMs });
      this.count('cancelled', res);
      log.info('job cancelled');
      return;
    }
    if (killedBy === 'requeue' || killedBy === 'shutdown') {
      await this.outbox!.publish({ ...base, type: 'requeued', reason: this.requeueReason, message: 'worker stopping' });
      await this.ackOp(() => nakConfirmed(this.nc!, r.ackSubject, 0), r);
      this.count('requeued', res);
      log.info('job re-queued (disruption)');
      return;
    }
    const permanent = new Set([...this.permanentCodes, ...r.job.permanentExitCodes]);
    const c = classifyExit(res, permanent);
    if (c.kind === 'success') {
      const acked = await this.ackOp(() => ackAckByAckSubject(this.nc!, r.ackSubject), r);
      if (!acked) {
        log.warn('ack not confirmed (superseded or consumer gone): no succeeded event');
        return;
      }
      if (res.resultError) log.warn({ resultError: res.resultError }, 'result file ignored');
      await this.outbox!.publish({ ...base, type: 'succeeded', result: res.result, durationMs: res.durationMs });
      this.count('succeeded', res);
      log.info({ durationMs: res.durationMs }, 'job succeeded');
      return;
    }
    const { failures, superseded } = await this.retry('record failure', () => this.attempts!.recordFailure(r.job.uid, r.ref), 20);
    if (superseded) return;
    const decision = c.kind === 'permanent' ? { willRetry: false } : decideRetry(r.job, failures, r.ref.deliveryCount, this.maxDeliver);
    const ev: JobEventOf<'failed'> = {
      ...base,
      type: 'failed',
      reason: c.reason,
      exitCode: res.exitCode ?? undefined,
      signal: res.signal ?? undefined,
      retryable: c.kind === 'retryable',
      willRetry: decision.willRetry,
      nextDelayMs: decision.nextDelayMs,
      failures,
      durationMs: res.durationMs,
    };
    // The event goes first so that it is stored before the next attempt's "started".
    await this.outbox!.publish(ev);
    if (decision.willRetry) await this.ackOp(() => nakConfirmed(this.nc!, r.ackSubject, decision.nextDelayMs), r);
    else await this.ackOp(() => termByAckSubject(this.nc!, r.ackSubject), r);
    this.count(decision.willRetry ? 'failed-retry' : 'failed', res);
    log.info({ reason: c.reason, failures, willRetry: decision.willRetry, nextDelayMs: decision.nextDelayMs }, 'job attempt failed');
  }

  private count(outcome: string, res: AttemptResult): void {
    this.metrics.jobs.inc({ outcome });
    this.metrics.duration.observe({ outcome }, res.durationMs / 1000);
  }

  private async isSupersededSafe(r: RunningJob): Promise<boolean> {
    try {
      return await this.attempts!.isSuperseded(r.job.uid, r.ref);
    } catch {
      return false;
    }
  }

  /**
   * Sends a confirmed ack operation, retrying across outages. Gives up (false) when the
   * consumer is gone (no responders) or a newer attempt took over meanwhile.
   */
  private async ackOp(op: () => Promise<unknown>, r: RunningJob): Promise<boolean> {
    for (let i = 0; ; i++) {
      try {
        await op();
        return true;
      } catch (err) {
        const name = (err as Error).name;
        if (name === 'NoRespondersError' || /no responders/i.test((err as Error).message)) return false;
        if (this.nc?.isClosed()) return false;
        // Stopping with NATS down: give up after a while; the message comes back after ack_wait.
        if (this.stopping && i >= 10) return false;
        this.log.warn({ err: (err as Error).message, jobUid: r.job.uid }, 'ack operation not confirmed; retrying');
        await sleep(Math.min(2000, 200 * 2 ** Math.min(i, 4)));
        if (await this.isSupersededSafe(r)) return false;
      }
    }
  }

  private async reject(m: JsMsg, ackSubject: string, ref: DeliveryRef, reason: string): Promise<void> {
    const ids = partialIds(m.data);
    const subj = m.subject.split('.');
    this.log.warn({ seq: ref.streamSeq, reason }, 'malformed job message: terminated');
    await this.ackOpRaw(() => termByAckSubject(this.nc!, ackSubject));
    await this.outbox!.publish({
      type: 'rejected',
      jobUid: ids.uid ?? '',
      namespace: ids.namespace ?? subj[2] ?? this.opts.namespace,
      name: ids.name ?? `seq-${ref.streamSeq}`,
      pool: subj[3] ?? this.opts.pool,
      attempt: 0,
      deliveryCount: ref.deliveryCount,
      streamSeq: ref.streamSeq,
      pod: this.pod,
      node: this.node,
      time: new Date().toISOString(),
      reason: reason.slice(0, 2000),
    });
    this.metrics.jobs.inc({ outcome: 'rejected' });
  }

  private async ackOpRaw(op: () => Promise<unknown>): Promise<void> {
    for (let i = 0; i < 10; i++) {
      try {
        await op();
        return;
      } catch {
        await sleep(200 * (i + 1));
      }
    }
  }

  private base(r: RunningJob): Omit<JobEventOf<'heartbeat'>, 'type'> {
    return {
      jobUid: r.job.uid,
      namespace: r.job.namespace,
      name: r.job.name,
      pool: r.job.pool,
      attempt: r.attempt,
      deliveryCount: r.ref.deliveryCount,
      streamSeq: r.ref.streamSeq,
      pod: this.pod,
      node: this.node,
      time: new Date().toISOString(),
    };
  }

  // ---- control requests -------------------------------------------------------------

  private async onControl(verb: string, data: Uint8Array): Promise<unknown> {
    let body: Record<string, unknown> = {};
    try {
      body = data.length ? (JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>) : {};
    } catch {
      return { ok: false, error: 'body is not JSON' };
    }
    switch (verb) {
      case 'cancel': {
        const uid = String(body.jobUid ?? '');
        if (!this.running.has(uid) && this.claimingUids.has(uid)) {
          // Delivered but not started yet: cancel it as soon as it starts.
          this.pendingCancels.add(uid);
          const deadline = Date.now() + 5000;
          while (!this.running.has(uid) && this.claimingUids.has(uid) && Date.now() < deadline) await sleep(10);
          if (!this.running.has(uid)) this.pendingCancels.delete(uid);
        }
        const r = this.running.get(uid);
        if (!r) return { ok: false, state: 'not-running' };
        this.log.info({ jobUid: uid }, 'cancel requested');
        r.runner.kill('cancel', Math.min(this.opts.killGraceMs ?? 5000, 1000));
        await r.done;
        return { ok: true, state: 'cancelled' };
      }
      case 'drain':
        return this.drain();
      case 'status':
        return { ok: true, pod: this.pod, draining: this.draining, stopping: this.stopping, slots: this.slots, running: this.runningJobs() };
      default:
        return { ok: false, error: `unknown control verb ${verb}` };
    }
  }

  /** Accepted only when idle and no job was taken in the refuse window; then takes no more jobs. */
  async drain(): Promise<{ ok: boolean; accepted: boolean; reason?: string }> {
    if (this.draining) return { ok: true, accepted: true };
    if (this.running.size > 0 || this.claiming > 0) return { ok: true, accepted: false, reason: 'busy' };
    if (Date.now() - this.lastTakenAt < (this.opts.drainRefuseWindowMs ?? 5000)) return { ok: true, accepted: false, reason: 'recently-took-job' };
    this.draining = true;
    this.metrics.draining.set(1);
    this.stopFetching();
    await this.fetchLoop?.catch(() => undefined);
    // A message may have been delivered while we stopped: it was handed back, but recheck.
    if (this.running.size > 0 || this.claiming > 0) return { ok: true, accepted: false, reason: 'busy' };
    this.log.info('drained: taking no more jobs');
    this.drainExpiry = setTimeout(() => this.undrain(), this.opts.drainExpiryMs ?? 60_000);
    this.drainExpiry.unref();
    return { ok: true, accepted: true };
  }

  /** Ends a drain that was not followed by the pod's deletion: take jobs again. */
  private undrain(): void {
    this.drainExpiry = undefined;
    if (!this.draining || this.stopping) return;
    this.draining = false;
    this.metrics.draining.set(0);
    this.log.warn('drain expired without the pod being deleted: taking jobs again');
    this.fetchLoop = this.runFetchLoop();
  }

  private async retry<T>(what: string, fn: () => Promise<T>, attempts = Infinity): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if (i >= attempts || this.nc?.isClosed() || (this.stopping && !this.running.size && attempts === Infinity)) throw err;
        if (i === 1 || i % 10 === 0) this.log.warn({ err: (err as Error).message, attempt: i }, `${what} failed; retrying`);
        await sleep(Math.min(5000, 200 * 2 ** Math.min(i, 5)));
      }
    }
  }
}

function partialIds(data: Uint8Array): { uid?: string; namespace?: string; name?: string } {
  try {
    const o = JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>;
    const s = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length < 254 ? v : undefined);
    return { uid: s(o.uid), namespace: s(o.namespace), name: s(o.name) };
  } catch {
    return {};
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export type { JobEvent };
