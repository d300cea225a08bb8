/**
 * Applies job events from VISIONQ_EVENTS to VisionJob status. Only the leader runs it: the
 * controller is the single writer of status.
 *
 * - one durable pull consumer (explicit ack); a message is acked only after its status write
 *   succeeded (at-least-once; the reducer is idempotent), so a leader that dies mid-way leaves
 *   the rest to the next leader;
 * - events of one job are applied in order (a promise chain per job), different jobs in
 *   parallel, with a bound on events in progress;
 * - progress and heartbeat writes are throttled (trailing edge, the newest wins);
 * - an event of a job that no longer exists stops its process (the agent is asked to cancel);
 * - an event whose status write the API server refuses (400/422) is reported and never
 *   retried for ever: dropped if more events follow, else the job is Failed (StatusRejected);
 * - an event must sit on its own job's subject and, with job signing on, one that names a job
 *   must carry that job's MAC (event-mac.ts); one that does not is dropped, counted as forged.
 */
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { Backoff } from '../../kube/backoff.js';
import { classifyApiError, describeApiError } from '../../kube/api-errors.js';
import { sleep } from '../../kube/clock.js';
import { namespacedKey } from '../../kube/object-store.js';
import { EventAuthenticator } from '../../queue/event-mac.js';
import { safeDecodeJobEvent, type JobEvent } from '../../queue/job-events.js';
import { CONSUME_EXPIRES_MS } from '../../queue/pull-options.js';
import { EVENTS_STREAM } from '../../queue/subjects.js';
import { forgeryOf, type EventAuthenticity } from './event-authenticity.js';
import { ensureEventsConsumer } from '../../queue/topology.js';
import { applyJobEvent, compareAttempt, type ReduceResult } from './job-event-reducer.js';
import { JobEventThrottle } from './job-event-throttle.js';
import { requestAgentCancel } from '../visionjob/visionjob-cancel.js';
import type { VisionJobRuntime } from '../visionjob/visionjob-runtime.js';
import { failJob, isTerminal, type FinishedResult, type VisionJobStatus } from '../visionjob/visionjob-status.js';

export const EVENTS_DURABLE = 'visionq-controller';

export interface JobEventConsumerOptions {
  durable?: string;
  progressMs?: number;
  heartbeatMs?: number;
  /** Events being applied at once (across jobs). */
  maxInFlight?: number;
  ackWaitMs?: number;
}

export class JobEventConsumer {
  private readonly throttle: JobEventThrottle;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly durable: string;
  private readonly maxInFlight: number;
  private readonly ackWaitMs: number;
  private readonly ac = new AbortController();
  private readonly orphansCancelled = new Set<string>();
  private inFlight = 0;
  private slotWaiters: (() => void)[] = [];
  private loop?: Promise<void>;
  private messages?: ConsumerMessages;
  private readonly authenticity: EventAuthenticity;

  constructor(
    private readonly rt: VisionJobRuntime,
    opts: JobEventConsumerOptions = {},
  ) {
    this.durable = opts.durable ?? EVENTS_DURABLE;
    this.maxInFlight = opts.maxInFlight ?? 256;
    this.ackWaitMs = opts.ackWaitMs ?? 60_000;
    const { jobSigner, previousJobSigners, eventMacs } = rt.ctx.settings;
    this.authenticity = {
      ...(jobSigner ? { auth: new EventAuthenticator([jobSigner, ...(previousJobSigners ?? [])]) } : {}),
      macs: eventMacs ?? 'required',
    };
    this.throttle = new JobEventThrottle((key, ev) => this.enqueue(key, () => this.apply(ev, true)), {
      progressMs: opts.progressMs,
      heartbeatMs: opts.heartbeatMs,
    });
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.ac.abort();
    this.throttle.stop();
    for (const w of this.slotWaiters.splice(0)) w();
    // close() waits for the server while disconnected: never let it hold a shutdown.
    await Promise.race([this.messages?.close().catch(() => undefined), sleep(2000)]);
    await Promise.race([this.loop, sleep(5000)]);
    await Promise.allSettled([...this.chains.values()]);
  }

  private get log() {
    return this.rt.ctx.logger;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
    const signal = this.ac.signal;
    while (!signal.aborted) {
      const nats = this.rt.ctx.nats.current();
      if (!nats) {
        await sleep(250, signal);
        continue;
      }
      try {
        await ensureEventsConsumer(nats.jsm, this.durable, this.ackWaitMs, this.maxInFlight * 4);
        const consumer = await nats.js.consumers.get(EVENTS_STREAM, this.durable);
        // Without abort_on_missing_resource the iterator silently waits for a consumer that a
        // NATS restart without its store has taken away; ending it lets the loop re-create it.
        const messages = await consumer.consume({ max_messages: Math.min(256, this.maxInFlight), expires: CONSUME_EXPIRES_MS, abort_on_missing_resource: true });
        this.messages = messages;
        if (signal.aborted) await messages.close();
        this.log.info({ durable: this.durable }, 'consuming job events');
        backoff.reset();
        for await (const m of messages) {
          if (signal.aborted) break;
          await this.dispatch(m);
        }
      } catch (err) {
        if (signal.aborted) break;
        this.log.warn({ err: (err as Error).message }, 'job events consumer failed; restarting');
      }
      if (!signal.aborted) await sleep(backoff.next(), signal);
    }
  }

  private async dispatch(m: JsMsg): Promise<void> {
    const ev = safeDecodeJobEvent(m.data);
    if (!ev) {
      this.rt.ctx.metrics.jobEventsApplied.inc({ type: 'invalid', outcome: 'ignored' });
      m.term();
      return;
    }
    const forged = forgeryOf(ev, m.subject, m.data, m.headers, this.authenticity);
    if (forged) {
      this.rt.ctx.metrics.jobEventsApplied.inc({ type: ev.type, outcome: 'forged' });
      this.log.warn({ namespace: ev.namespace, name: ev.name, jobUid: ev.jobUid, type: ev.type, pod: ev.pod, subject: m.subject, why: forged }, 'forged job event dropped');
      m.term();
      return;
    }
    while (this.inFlight >= this.maxInFlight && !this.ac.signal.aborted) {
      await new Promise<void>((r) => this.slotWaiters.push(r));
    }
    this.inFlight++;
    const key = namespacedKey(ev.namespace, ev.name);
    this.enqueue(key, () => this.handle(ev, m)).finally(() => {
      this.inFlight--;
      this.slotWaiters.shift()?.();
    });
  }

  private enqueue(key: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.chains.get(key) ?? Promise.resolve();
    // A chain link never rejects: one failure must not break the job's order or the process.
    const safe = async (): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        this.log.warn({ key, err: (err as Error).message }, 'job event handling failed');
      }
    };
    const next = prev.then(safe);
    this.chains.set(key, next);
    void next.finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }

  /** Applies with retries until the write succeeds (keeping this job's order), then acks. */
  private async handle(ev: JobEvent, m: JsMsg): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });
    for (;;) {
      if (this.ac.signal.aborted) return; // not acked: redelivered to the next leader
      try {
        await this.apply(ev, false);
        m.ack();
        return;
      } catch (err) {
        if (classifyApiError(err) === 'invalid') {
          await this.reject(ev, err);
          m.ack();
          return;
        }
        this.rt.ctx.metrics.jobEventsApplied.inc({ type: ev.type, outcome: 'error' });
        this.log.warn({ namespace: ev.namespace, name: ev.name, attempt: ev.attempt, type: ev.type, err: (err as Error).message }, 'could not apply job event; retrying');
        m.working();
        await sleep(backoff.next(), this.ac.signal);
      }
    }
  }

  /**
   * The API server refused the status this event produces (400/422: e.g. a result the schema
   * does not take). Retrying the same write cannot succeed and would hold the job's later
   * events behind it for ever. A non-final event is dropped (the next ones carry the job on);
   * a final one (success, final failure, rejection, cancel) has already removed the message, so
   * dropping it would leave the job Running for ever: the job is marked Failed with reason
   * StatusRejected and the API server's words, which name the field.
   */
  private async reject(ev: JobEvent, err: unknown): Promise<void> {
    const rt = this.rt;
    rt.ctx.metrics.jobEventsApplied.inc({ type: ev.type, outcome: 'rejected' });
    const why = describeApiError(err);
    const key = namespacedKey(ev.namespace, ev.name);
    const final = ev.type === 'succeeded' || ev.type === 'rejected' || ev.type === 'cancelled' || (ev.type === 'failed' && !ev.willRetry);
    this.log.error({ namespace: ev.namespace, name: ev.name, attempt: ev.attempt, type: ev.type, err: why, final }, 'status write for job event refused by the API server');
    const job = rt.store.get(key);
    if (!job || job.metadata.uid !== ev.jobUid) return;
    const what = `the status from the ${ev.type} event of attempt ${ev.attempt} was refused by the API server`;
    rt.ctx.recorder.event(job, 'Warning', 'StatusRejected', `${what}${final ? '' : ' and dropped'}: ${why}`.slice(0, 1024));
    if (!final) return;
    const now = rt.now();
    const message = `${what}: ${why}`.slice(0, 1024);
    let events: FinishedResult['events'] = [];
    try {
      const written = await rt.store.updateStatus(
        key,
        (j) => {
          if (isTerminal(j.status)) return undefined;
          const cur = j.status?.currentAttempt;
          if (cur && ev.type !== 'succeeded' && compareAttempt({ streamSeq: ev.streamSeq, deliveryCount: ev.deliveryCount }, cur) < 0) return undefined;
          const r = failJob(j.status ?? {}, 'StatusRejected', message, ev.time, now, j.metadata.generation);
          events = r.events;
          return r.status;
        },
        { uid: ev.jobUid },
      );
      if (!written) return;
      for (const e of events) rt.ctx.recorder.event(written, e.type, e.reason, e.message);
      this.throttle.forget(key);
      rt.enqueueAdmission(namespacedKey(ev.namespace, written.spec.pool));
    } catch (e) {
      // Even the Failed status was refused: leave it to the operator; the event says why.
      this.log.error({ namespace: ev.namespace, name: ev.name, err: describeApiError(e) }, 'could not mark the job Failed after a refused status write');
    }
  }

  private async apply(ev: JobEvent, flushed: boolean): Promise<void> {
    const rt = this.rt;
    const key = namespacedKey(ev.namespace, ev.name);
    const job = rt.store.get(key);
    if (!job || job.metadata.uid !== ev.jobUid) {
      this.throttle.forget(key);
      this.rt.ctx.metrics.jobEventsApplied.inc({ type: ev.type, outcome: 'ignored' });
      if (ev.type === 'started' || ev.type === 'progress' || ev.type === 'heartbeat') this.cancelOrphan(ev);
      return;
    }
    if ((ev.type === 'progress' || ev.type === 'heartbeat') && !flushed && !this.throttle.admit(key, ev)) {
      return;
    }
    const now = rt.now();
    let result: ReduceResult | undefined;
    const written = await rt.store.updateStatus(
      key,
      (j) => {
        result = applyJobEvent(j.status, ev, { now, generation: j.metadata.generation });
        return result.kind === 'none' ? undefined : result.status;
      },
      { uid: ev.jobUid },
    );
    if (!written || !result || result.kind === 'none') {
      this.rt.ctx.metrics.jobEventsApplied.inc({ type: ev.type, outcome: 'ignored' });
      if (result?.ignored) this.log.debug({ namespace: ev.namespace, name: ev.name, attempt: ev.attempt, type: ev.type, why: result.ignored }, 'job event ignored');
      return;
    }
    this.rt.ctx.metrics.jobEventsApplied.inc({ type: ev.type, outcome: 'applied' });
    this.throttle.wrote(key, result.kind === 'progress' ? 'progress' : result.kind === 'heartbeat' ? 'heartbeat' : 'transition');
    for (const e of result.events) rt.ctx.recorder.event(written, e.type, e.reason, e.message);
    this.observe(written.metadata.namespace ?? '', written.spec.pool, result, written.status);
    if (result.kind === 'transition') {
      this.log.info({ namespace: ev.namespace, name: ev.name, attempt: ev.attempt, pod: ev.pod, type: ev.type, phase: written.status?.phase }, 'job event applied');
      if (result.supersededRun) this.stopSupersededRun(ev, result.supersededRun);
      if (result.finished) {
        this.throttle.forget(key);
        // A slot is free now: admit the next job without waiting for the watch to echo our write.
        rt.enqueueAdmission(namespacedKey(ev.namespace, written.spec.pool));
      }
      // A job deleted while it was being fetched: the cancellation must reach this attempt.
      if (written.metadata.deletionTimestamp) rt.ctx.enqueueJob(key);
    }
  }

  private observe(namespace: string, pool: string, r: ReduceResult, st: VisionJobStatus | undefined): void {
    const m = this.rt.ctx.metrics;
    if (r.firstStart && st?.queuedAt && st.startTime) {
      const wait = (Date.parse(st.startTime) - Date.parse(st.queuedAt)) / 1000;
      if (Number.isFinite(wait) && wait >= 0) m.queueWaitSeconds.observe({ namespace, pool }, wait);
    }
    if (r.retried) m.retries.inc({ namespace, pool });
    if (r.disrupted) m.disruptions.inc({ namespace, pool });
    if (r.finished && st?.startTime && st.completionTime) {
      const run = (Date.parse(st.completionTime) - Date.parse(st.startTime)) / 1000;
      if (Number.isFinite(run) && run >= 0) m.runDurationSeconds.observe({ namespace, pool, outcome: r.finished }, run);
    }
  }

  /** An older attempt's success finished the job while a newer attempt runs: stop the newer one. */
  private stopSupersededRun(ev: JobEvent, run: { pod: string; attempt: number }): void {
    const nats = this.rt.ctx.nats.current();
    if (!nats) return;
    void requestAgentCancel(nats, ev.namespace, ev.pool, run.pod, ev.jobUid).then((reply) =>
      this.log.info({ namespace: ev.namespace, name: ev.name, pod: run.pod, attempt: run.attempt, succeededAttempt: ev.attempt, reply }, 'stopped a newer attempt of a job an older attempt finished'),
    );
  }

  /** The job is gone (deleted while it was being fetched): stop its process. Once per attempt. */
  private cancelOrphan(ev: JobEvent): void {
    const id = `${ev.jobUid}/${ev.streamSeq}/${ev.deliveryCount}`;
    if (this.orphansCancelled.has(id)) return;
    this.orphansCancelled.add(id);
    if (this.orphansCancelled.size > 10_000) this.orphansCancelled.clear();
    const nats = this.rt.ctx.nats.current();
    if (!nats) return;
    void requestAgentCancel(nats, ev.namespace, ev.pool, ev.pod, ev.jobUid).then((reply) =>
      this.log.info({ namespace: ev.namespace, name: ev.name, pod: ev.pod, reply }, 'stopped the process of a deleted job'),
    );
  }
}
