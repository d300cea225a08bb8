import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { jetstream, jetstreamManager, type Consumer, type ConsumerInfo, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import pino, { type Logger } from 'pino';
import { Backoff } from '../lib/backoff.js';
import { realClock, sleep, unrefTimer, type Clock } from '../lib/clock.js';
import { retry } from '../lib/retry.js';
import { nakConfirmed, termByAckSubject, workingByAckSubject } from '../queue/ack.js';
import { AttemptStore, type DeliveryRef } from '../queue/attempt-store.js';
import { connectNats } from '../queue/connect.js';
import { isPermissionViolation } from '../queue/errors.js';
import { workerInboxPrefix } from '../queue/nats-permissions.js';
import type { JobEvent } from '../queue/job-events.js';
import { decodeJobMessage, type JobMessage } from '../queue/job-message.js';
import { detectServerFeatures, type ServerFeatures } from '../queue/server-features.js';
import { ATTEMPTS_BUCKET, JOBS_STREAM, consumerName } from '../queue/subjects.js';
import type { AgentHealth, AgentOptions } from './agent-options.js';
import { AckSender } from './ack-sender.js';
import { ControlServer } from './control-server.js';
import { EventOutbox } from './event-outbox.js';
import { EventKeys } from './event-keys.js';
import { Heartbeat } from './heartbeat.js';
import { startHttpServer } from './http-server.js';
import { JobRunner, type AttemptResult } from './job-runner.js';
import { AgentMetrics } from './metrics.js';
import { processOutputSink, type OutputSink } from './output-prefixer.js';
import { ProgressThrottle } from './progress-throttle.js';
import { canFinishBy, eventBase, type EventBase, type RunningJob } from './running-job.js';
import { ConsumerLimits, type ConsumerSettings } from './consumer-limits.js';
import { JobVerifier } from '../queue/job-signature.js';
import { Settler } from './settler.js';

export type { AgentHealth, AgentOptions } from './agent-options.js';

/** Opening the consumer, the attempts bucket, claims: 400 ms doubling to 5 s, jittered. */
const SETUP_BACKOFF = { initialMs: 400, maxMs: 5000 };
/** A failed pull: 500 ms doubling to 5 s, jittered. */
const FETCH_BACKOFF = { initialMs: 500, maxMs: 5000 };
/** A cancel for a job being claimed waits this long for it to start. */
const CANCEL_CLAIM_WAIT_MS = 5000;

/** What the agent is wired to once connected. */
interface Session {
  nc: NatsConnection;
  consumer: Consumer;
  limits: ConsumerLimits;
  attempts: AttemptStore;
  outbox: EventOutbox;
  features: ServerFeatures;
  acks: AckSender;
  settler: Settler;
  control: ControlServer;
}

/**
 * The worker agent: pulls one job per free slot from its pool's durable consumer and composes
 * the parts that handle each attempt: JobRunner (the process), Heartbeat (working() and
 * supersession), ProgressThrottle (progress events), Settler + settle-policy (ack / nak / term
 * and the outcome event) and ControlServer (drain, cancel, status). See DESIGN.md "Worker
 * agent" and src/queue/attempt-store.ts for attempt accounting.
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
  private readonly clock: Clock;
  private nc?: NatsConnection;
  private ownsConnection = false;
  private session?: Session;
  private http?: Server;
  private readonly running = new Map<string, RunningJob>();
  /** Jobs between delivery and start (attempt claim): a cancel for them is applied at start. */
  private readonly claimingUids = new Set<string>();
  private readonly pendingCancels = new Set<string>();
  /** Messages being claimed (slot taken, not yet running). */
  private claiming = 0;
  private ackWaitMs = 30_000;
  /** Set when the agent runs only signed jobs (--job-public-keys). */
  private readonly verifier?: JobVerifier;
  private readonly eventKeys = new EventKeys();
  private readonly settling = new Set<RunningJob>();
  /** Jobs whose success this agent acked, by uid: the stream sequence of the message. */
  private readonly succeededHere = new Map<string, number>();
  private draining = false;
  private stopping = false;
  private lastTakenAt = 0;
  private currentFetch?: ConsumerMessages;
  private fetchLoop?: Promise<void>;
  private drainExpiry?: unknown;
  private slotFreed?: () => void;
  private connected = false;
  private graceDeadline = Infinity;
  private stopPromise?: Promise<void>;
  private requeueReason: 'sigterm' | 'shutdown' = 'sigterm';

  constructor(
    private readonly opts: AgentOptions,
    deps: { nc?: NatsConnection; clock?: Clock } = {},
  ) {
    this.pod = opts.pod ?? hostname();
    this.node = opts.node ?? '';
    this.slots = Math.max(1, opts.slots ?? 1);
    this.log = (opts.logger ?? pino({ level: opts.logLevel ?? 'info' }, pino.destination(2))).child({ pod: this.pod, pool: opts.pool, namespace: opts.namespace });
    this.output = opts.output ?? processOutputSink;
    this.workRoot = opts.workDir ?? join(tmpdir(), `visionq-agent-${this.pod}`);
    this.permanentCodes = new Set(opts.permanentExitCodes ?? []);
    this.clock = deps.clock ?? realClock;
    if (opts.jobPublicKeys && opts.jobPublicKeys.length > 0) this.verifier = new JobVerifier(opts.jobPublicKeys);
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
      this.nc = await connectNats({ servers: this.opts.natsUrl, name: `visionq-agent/${this.pod}`, credsFile: this.opts.natsCreds, user: this.opts.natsUser, password: this.opts.natsPassword, tls: this.opts.natsTls,
        // a worker user may subscribe only to its pool's inboxes (nats-permissions.ts)
        inboxPrefix: workerInboxPrefix(this.opts.namespace, this.opts.pool),
      });
      this.ownsConnection = true;
    }
    const nc = this.nc;
    this.connected = true;
    this.metrics.natsConnected.set(1);
    const features = detectServerFeatures(nc);
    void this.watchStatus(nc);
    const js = jetstream(nc);
    const outbox = new EventOutbox(js, this.log, { clock: this.clock, macKeyFor: (uid) => this.eventKeys.get(uid) });
    const consumer = await this.retry('open pool consumer', async () => js.consumers.get(JOBS_STREAM, consumerName(this.opts.namespace, this.opts.pool)));
    const info = await consumer.info(true);
    const settingsOf = (c: ConsumerInfo['config']): ConsumerSettings => ({ maxDeliver: c.max_deliver ?? -1, ackWaitMs: Math.round((c.ack_wait ?? 30e9) / 1e6) });
    this.ackWaitMs = this.opts.ackWaitSeconds ? this.opts.ackWaitSeconds * 1000 : settingsOf(info.config).ackWaitMs;
    const limits = new ConsumerLimits(
      async () => settingsOf((await consumer.info(false)).config),
      settingsOf(info.config),
      this.clock,
      (err) => this.log.warn({ err: (err as Error).message }, 'could not re-read the pool consumer; keeping its last settings'),
      this.opts.consumerRefreshMs,
    );
    const kv = await this.retry('open attempts bucket', async () => {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.info(`KV_${ATTEMPTS_BUCKET}`);
      return new Kvm(js).open(ATTEMPTS_BUCKET);
    });
    const attempts = new AttemptStore(kv);
    const acks = new AckSender({ nc, clock: this.clock, log: this.log, stopping: () => this.stopping });
    const settler = new Settler({
      nc,
      acks,
      outbox,
      attempts,
      metrics: this.metrics,
      log: this.log,
      permanentCodes: this.permanentCodes,
      maxDeliver: () => limits.maxDeliver(),
      termReason: features.termReason,
      requeueReason: () => this.requeueReason,
      eventBase: (r) => this.eventBase(r),
      retry: (what, fn, n) => this.retry(what, fn, n),
    });
    const control = new ControlServer(nc, this.opts.namespace, this.opts.pool, this.pod, {
      cancel: (uid) => this.cancel(uid),
      drain: () => this.drain(),
      status: () => ({ ok: true, pod: this.pod, draining: this.draining, stopping: this.stopping, slots: this.slots, running: this.runningJobs() }),
    });
    this.session = { nc, consumer, limits, attempts, outbox, features, acks, settler, control };
    control.start();
    // Once start() resolves the agent must answer drain/cancel requests: a round trip makes
    // sure the server has registered the control subscription.
    await this.retry('register control subscription', () => nc.flush());
    this.log.info({ slots: this.slots, ackWaitMs: this.ackWaitMs, maxDeliver: limits.current.maxDeliver, server: features.version }, 'agent started');
    this.fetchLoop = this.runFetchLoop();
  }

  /**
   * Stops taking jobs; running jobs get `graceMs` to finish (or are re-queued at once
   * when their progress says they cannot), then are killed and NAKed as a disruption.
   */
  async stop(opts: { graceMs?: number; reason?: 'sigterm' | 'shutdown' } = {}): Promise<void> {
    const graceMs = opts.graceMs ?? (this.opts.graceSeconds ?? 0) * 1000;
    // A second stop (e.g. a second SIGTERM) can only shorten the grace period.
    this.graceDeadline = Math.min(this.graceDeadline, this.clock.now() + graceMs);
    this.stopPromise ??= this.doStop(opts.reason ?? 'sigterm');
    return this.stopPromise;
  }

  private async doStop(reason: 'sigterm' | 'shutdown'): Promise<void> {
    this.stopping = true;
    this.clock.clearTimeout(this.drainExpiry);
    this.requeueReason = reason;
    this.log.info({ graceMs: this.graceDeadline - this.clock.now(), running: this.running.size }, 'stopping: no more jobs');
    this.stopFetching();
    await this.fetchLoop?.catch(() => undefined);
    // Deliveries still being claimed (or parked behind a settling copy) either become running
    // jobs, which the loops below stop, or hand their message back: wait for them to decide.
    const claimDeadline = this.clock.now() + 5000;
    while (this.claiming > 0 && this.clock.now() < claimDeadline) await sleep(10, undefined, this.clock);
    const killGrace = this.killGraceMs();
    while (this.running.size > 0 && this.clock.now() < this.graceDeadline) {
      for (const r of this.running.values()) {
        if (!canFinishBy(r, this.graceDeadline)) r.runner.kill('requeue', killGrace);
      }
      await sleep(Math.min(100, Math.max(1, this.graceDeadline - this.clock.now())), undefined, this.clock);
    }
    for (const r of this.running.values()) r.runner.kill('requeue', killGrace);
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
    this.session?.control.stop();
    await this.session?.outbox.close(5000);
    if (this.ownsConnection) await this.nc?.drain().catch(() => this.nc?.close());
    await new Promise<void>((r) => (this.http ? this.http.close(() => r()) : r()));
    this.log.info('agent stopped');
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
        for (const r of this.running.values()) this.working(r);
      } else if (s.type === 'error' && isPermissionViolation(s.error)) {
        // the pool's NATS user lacks a subject the agent uses (or the config is wrong): say which
        this.log.error({ err: s.error }, 'NATS refused an operation for this user\'s permissions');
      }
    }
  }

  // ---- fetching -------------------------------------------------------------------

  private freeSlots(): number {
    // A job whose process has exited holds no slot while it settles (event, ack): the next pull
    // goes out meanwhile, so a short job's settle round trips overlap the next job's start.
    let busy = 0;
    for (const r of this.running.values()) if (!this.settling.has(r)) busy++;
    return this.slots - busy - this.claiming;
  }

  private stopFetching(): void {
    this.currentFetch?.stop();
    this.slotFreed?.();
  }

  private async runFetchLoop(): Promise<void> {
    const backoff = new Backoff(FETCH_BACKOFF);
    const { consumer } = this.connectedSession();
    while (!this.stopping && !this.draining) {
      if (this.freeSlots() <= 0) {
        await new Promise<void>((r) => (this.slotFreed = r));
        continue;
      }
      try {
        const iter = await consumer.fetch({ max_messages: 1, expires: this.opts.pullExpiresMs ?? 10_000 });
        this.currentFetch = iter;
        if (this.stopping || this.draining) iter.stop();
        const t0 = this.clock.now();
        let got = 0;
        for await (const m of iter) {
          got++;
          this.take(m);
        }
        backoff.reset();
        // An empty pull that ended at once (consumer gone, server restarting): do not spin.
        if (got === 0 && this.clock.now() - t0 < 200 && !this.stopping && !this.draining) await sleep(500, undefined, this.clock);
      } catch (err) {
        if (!this.stopping) this.log.warn({ err: (err as Error).message }, 'fetch failed; retrying');
        await sleep(backoff.next(), undefined, this.clock);
      } finally {
        this.currentFetch = undefined;
      }
    }
  }

  /** Called synchronously per delivered message so the slot count is right at once. */
  private take(m: JsMsg): void {
    const { nc } = this.connectedSession();
    const ackSubject = (m as unknown as { reply?: string }).reply ?? '';
    if (this.stopping || this.draining) {
      // A pull that was in flight when we stopped fetching: hand the job straight back.
      this.log.info({ seq: m.seq }, 'message arrived while stopping/draining: re-queued');
      void nakConfirmed(nc, ackSubject, 0).catch(() => undefined);
      return;
    }
    this.lastTakenAt = this.clock.now();
    this.claiming++;
    void this.handle(m, ackSubject)
      .catch((err: Error) => this.log.error({ err, seq: m.seq }, 'job handling failed'))
      .finally(() => {
        this.slotFreed?.();
      });
  }

  private async handle(m: JsMsg, ackSubject: string): Promise<void> {
    const ref: DeliveryRef = { streamSeq: m.seq, deliveryCount: m.info.deliveryCount };
    if (this.verifier) {
      const check = this.verifier.check(m.data, m.headers);
      if (!check.ok) {
        this.claiming--;
        await this.rejectForged(m, ackSubject, ref, check.reason);
        return;
      }
    }
    let job: JobMessage;
    try {
      job = decodeJobMessage(m.data);
    } catch (err) {
      this.claiming--;
      await this.reject(m, ackSubject, ref, (err as Error).message);
      return;
    }
    if (job.namespace !== this.opts.namespace || job.pool !== this.opts.pool) {
      // A signed job replayed onto another pool's subject: its signature is real, its place is not.
      this.claiming--;
      await this.rejectForged(m, ackSubject, ref, `job message for ${job.namespace}/${job.pool} delivered to pool ${this.opts.namespace}/${this.opts.pool}`);
      return;
    }
    // A redelivery of a job still settling here (its ack deadline ran out just before the ack,
    // and a pull was waiting while it settled): let the settle finish first; if it was a
    // confirmed success the message is gone and this copy must not run again.
    // A previous attempt still running is another matter: the claim below supersedes it.
    const previous = this.running.get(job.uid);
    if (previous && this.settling.has(previous)) {
      await previous.done;
      if (this.stopping || this.draining) {
        this.claiming--;
        await nakConfirmed(this.connectedSession().nc, ackSubject, 0).catch(() => undefined);
        return;
      }
    }
    if (this.succeededHere.get(job.uid) === ref.streamSeq) {
      this.claiming--;
      this.log.warn({ jobUid: job.uid, ...ref }, 'redelivery of a job this agent finished: not run again');
      this.metrics.jobs.inc({ outcome: 'duplicate' });
      await termByAckSubject(this.connectedSession().nc, ackSubject).catch(() => undefined);
      return;
    }
    const releaseKey = this.eventKeys.hold(job.uid, job.eventKey);
    try {
      await this.handleJob(m, ackSubject, ref, job);
    } finally {
      releaseKey();
    }
  }

  private async handleJob(m: JsMsg, ackSubject: string, ref: DeliveryRef, job: JobMessage): Promise<void> {
    const { nc, attempts, outbox, settler, limits } = this.connectedSession();
    let claim;
    let ackWaitMs = this.ackWaitMs;
    this.claimingUids.add(job.uid);
    try {
      // The deadline the server holds now, read beside the claim so it costs no extra wait: the
      // pool's ackWaitSeconds may have been lowered since this worker started (its flag is the
      // old value until it is replaced), and heartbeats must beat the shorter of the two.
      const settings = limits.get({ fresh: true });
      claim = await this.retry('claim attempt', () => attempts.claim(job.uid, ref, this.pod), 5);
      ackWaitMs = Math.min(this.ackWaitMs, (await settings).ackWaitMs);
    } catch (err) {
      this.claimingUids.delete(job.uid);
      this.claiming--;
      this.log.error({ err, jobUid: job.uid }, 'cannot claim attempt: re-queueing');
      await nakConfirmed(nc, ackSubject, 1000).catch(() => undefined);
      return;
    }
    if (!claim.ok) {
      this.claimingUids.delete(job.uid);
      this.claiming--;
      this.log.warn({ jobUid: job.uid, ...ref, claimed: claim.record }, 'delivery older than the claimed attempt: ignored');
      if (claim.record.streamSeq > ref.streamSeq) await termByAckSubject(nc, ackSubject).catch(() => undefined);
      return;
    }
    const attempt = claim.record.attempts;
    const startedAt = this.clock.now();
    const deadline = job.timeoutSeconds > 0 ? new Date(startedAt + job.timeoutSeconds * 1000) : null;
    const base = (): EventBase => eventBase({ job, ref, attempt }, this, this.clock.now());
    const progress = new ProgressThrottle(this.clock, this.opts.progressMinIntervalMs ?? 2000, (p, seq) =>
      void outbox.publish({ ...base(), type: 'progress', percent: p.percent, message: p.message, seq }),
    );
    const runner = new JobRunner({
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
      killGraceMs: this.killGraceMs(),
      clock: this.clock,
      onProgress: (p) => progress.report(p),
    });
    let done!: () => void;
    const r: RunningJob = {
      job,
      ref,
      ackSubject,
      attempt,
      failuresBefore: claim.record.failures,
      startedAt,
      deadline,
      runner,
      progress,
      done: new Promise<void>((res) => (done = res)),
      heartbeat: new Heartbeat({
        clock: this.clock,
        ackWaitMs,
        eventIntervalMs: this.opts.heartbeatEventIntervalMs ?? 30_000,
        isSuperseded: () => attempts.isSuperseded(job.uid, ref),
        onSuperseded: () => {
          this.log.warn({ jobUid: job.uid, ...ref }, 'attempt superseded by a newer delivery: stopping it without ack');
          runner.kill('superseded', this.killGraceMs());
        },
        working: () => this.working(r),
        publishEvent: () => void outbox.publish({ ...base(), type: 'heartbeat' }),
      }),
    };
    this.running.set(job.uid, r);
    this.claimingUids.delete(job.uid);
    this.claiming--;
    if (this.pendingCancels.delete(job.uid)) runner.kill('cancel', 1000);
    this.metrics.running.set(this.running.size);
    this.log.info({ jobUid: job.uid, job: job.name, attempt, ...ref }, 'job started');

    r.heartbeat.start();
    try {
      void outbox.publish({ ...base(), type: 'started', ackSubject, deadline: deadline?.toISOString() ?? null, failures: r.failuresBefore });
      let result: AttemptResult;
      try {
        result = await runner.run();
      } catch (err) {
        result = { exitCode: null, signal: null, timedOut: false, spawnError: (err as Error).message, durationMs: this.clock.now() - startedAt };
      }
      r.heartbeat.settling();
      progress.flush();
      if (!this.stopping) {
        this.settling.add(r);
        this.slotFreed?.();
      }
      if (await settler.settle(r, result)) {
        this.succeededHere.set(job.uid, ref.streamSeq);
        if (this.succeededHere.size > 1000) this.succeededHere.delete(this.succeededHere.keys().next().value!);
      }
    } finally {
      r.heartbeat.stop();
      this.settling.delete(r);
      // A redelivery of the same job may have been claimed here meanwhile: keep its entry.
      if (this.running.get(job.uid) === r) this.running.delete(job.uid);
      this.metrics.running.set(this.running.size);
      done();
    }
  }

  /** working() (+WPI) for a running attempt: resets its ack_wait. */
  private working(r: RunningJob): void {
    if (!this.nc || this.nc.isClosed()) return;
    workingByAckSubject(this.nc, r.ackSubject);
    this.metrics.heartbeats.inc();
  }

  private async reject(m: JsMsg, ackSubject: string, ref: DeliveryRef, reason: string): Promise<void> {
    const ids = partialIds(m.data);
    const subj = m.subject.split('.');
    this.log.warn({ seq: ref.streamSeq, reason }, 'malformed job message: terminated');
    // A signed message this agent cannot parse (a newer controller's, say) is still the
    // controller's: its `rejected` event must carry the MAC or the job would wait for ever.
    const releaseKey = ids.uid ? this.eventKeys.hold(ids.uid, ids.eventKey) : () => undefined;
    try {
      await this.terminateUnrun(ackSubject, ref, 'rejected', {
        jobUid: ids.uid ?? '',
        namespace: ids.namespace ?? subj[2] ?? this.opts.namespace,
        name: ids.name ?? `seq-${ref.streamSeq}`,
        pool: subj[3] ?? this.opts.pool,
        reason,
      });
    } finally {
      releaseKey();
    }
  }

  /**
   * A message that is not the controller's (unsigned, badly signed, or out of place): never
   * run, terminated, counted. Its `rejected` event names no job uid, so a forged message that
   * copies a real job's uid cannot make the controller fail that job.
   */
  private async rejectForged(m: JsMsg, ackSubject: string, ref: DeliveryRef, reason: string): Promise<void> {
    this.log.warn({ seq: ref.streamSeq, subject: m.subject, reason }, 'job message refused: not signed by the controller');
    await this.terminateUnrun(ackSubject, ref, 'refused', {
      jobUid: '',
      namespace: this.opts.namespace,
      name: `refused-seq-${ref.streamSeq}`,
      pool: this.opts.pool,
      reason: `refused: ${reason}`,
    });
  }

  /** Terms a message that will not run and reports it with a `rejected` event. */
  private async terminateUnrun(
    ackSubject: string,
    ref: DeliveryRef,
    outcome: 'rejected' | 'refused',
    ev: { jobUid: string; namespace: string; name: string; pool: string; reason: string },
  ): Promise<void> {
    const { nc, acks, outbox } = this.connectedSession();
    await acks.bestEffort(() => termByAckSubject(nc, ackSubject));
    await outbox.publish({
      type: 'rejected',
      ...ev,
      attempt: 0,
      deliveryCount: ref.deliveryCount,
      streamSeq: ref.streamSeq,
      pod: this.pod,
      node: this.node,
      time: new Date(this.clock.now()).toISOString(),
      reason: ev.reason.slice(0, 2000),
    });
    this.metrics.jobs.inc({ outcome });
  }

  private eventBase(r: RunningJob): EventBase {
    return eventBase(r, this, this.clock.now());
  }

  private killGraceMs(): number {
    return this.opts.killGraceMs ?? 5000;
  }

  /** The session of a started agent; the fetch loop and control requests only exist after start(). */
  private connectedSession(): Session {
    if (!this.session) throw new Error('agent not started');
    return this.session;
  }

  // ---- control requests -------------------------------------------------------------

  /** Stops a running job (or one being claimed, as soon as it starts) and waits until it is settled. */
  private async cancel(uid: string): Promise<{ ok: boolean; state: string }> {
    if (!this.running.has(uid) && this.claimingUids.has(uid)) {
      // Delivered but not started yet: cancel it as soon as it starts.
      this.pendingCancels.add(uid);
      const deadline = this.clock.now() + CANCEL_CLAIM_WAIT_MS;
      while (!this.running.has(uid) && this.claimingUids.has(uid) && this.clock.now() < deadline) await sleep(10, undefined, this.clock);
      if (!this.running.has(uid)) this.pendingCancels.delete(uid);
    }
    const r = this.running.get(uid);
    if (!r) return { ok: false, state: 'not-running' };
    this.log.info({ jobUid: uid }, 'cancel requested');
    r.runner.kill('cancel', Math.min(this.killGraceMs(), 1000));
    await r.done;
    return { ok: true, state: 'cancelled' };
  }

  /** Accepted only when idle and no job was taken in the refuse window; then takes no more jobs. */
  async drain(): Promise<{ ok: boolean; accepted: boolean; reason?: string }> {
    if (this.draining) return { ok: true, accepted: true };
    if (this.running.size > 0 || this.claiming > 0) return { ok: true, accepted: false, reason: 'busy' };
    if (this.clock.now() - this.lastTakenAt < (this.opts.drainRefuseWindowMs ?? 5000)) return { ok: true, accepted: false, reason: 'recently-took-job' };
    this.draining = true;
    this.metrics.draining.set(1);
    this.stopFetching();
    await this.fetchLoop?.catch(() => undefined);
    // A message may have been delivered while we stopped: it was handed back, but recheck.
    if (this.running.size > 0 || this.claiming > 0) return { ok: true, accepted: false, reason: 'busy' };
    this.log.info('drained: taking no more jobs');
    this.drainExpiry = this.clock.setTimeout(() => this.undrain(), this.opts.drainExpiryMs ?? 60_000);
    unrefTimer(this.drainExpiry);
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

  /**
   * Retries setup and attempt-store calls across NATS outages. Gives up when the connection is
   * closed, after `attempts` calls, or (unbounded calls only) when stopping with nothing running.
   */
  private retry<T>(what: string, fn: () => Promise<T>, attempts = Infinity): Promise<T> {
    return retry(fn, {
      attempts,
      backoff: SETUP_BACKOFF,
      clock: this.clock,
      shouldRetry: () => !this.nc?.isClosed() && !(this.stopping && !this.running.size && attempts === Infinity),
      onRetry: (err, attempt) => {
        if (attempt === 1 || attempt % 10 === 0) this.log.warn({ err: (err as Error).message, attempt }, `${what} failed; retrying`);
      },
    });
  }
}

function partialIds(data: Uint8Array): { uid?: string; namespace?: string; name?: string; eventKey?: string } {
  try {
    const o = JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>;
    const s = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length < 254 ? v : undefined);
    return { uid: s(o.uid), namespace: s(o.namespace), name: s(o.name), eventKey: s(o.eventKey) };
  } catch {
    return {};
  }
}

export type { JobEvent };
