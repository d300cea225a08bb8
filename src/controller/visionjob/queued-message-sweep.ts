/**
 * The slow check that every Queued job still has its message in VISIONQ_JOBS. A message can
 * vanish while its job says Queued: a NATS store lost with its volume (R1), an agent killed
 * between its confirmed ack and its `succeeded` event (ack-before-report), a message deleted
 * by a MAX_DELIVERIES handling of an older delivery. Nothing would ever deliver such a job.
 *
 * A job is re-queued only when it is seen without its message in two sweeps in a row with no
 * status change in between, so an event that is merely late (the `started` of a job an agent
 * just took, a `succeeded` behind a slow status write) is applied before the sweep acts. The
 * job goes back to Pending (reason MessageLost) with a new requeueGeneration, so the admission
 * publishes it again under a new msgID that the duplicate window does not swallow.
 *
 * Two sweeps are not enough on their own: events can be late for as long as the events
 * consumer's ack_wait (60 s), when a leader that pulled them was killed before applying them,
 * or while the consumer is stalled by a NATS node failing over. Such a job (Queued, or Running
 * and then re-queued for its dead pod, its message acked) may well have succeeded, and queueing
 * it again would run it twice. So a job is no suspect while its newest event in VISIONQ_EVENTS
 * is past the events consumer's ack floor: its status may still change.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import { setCondition } from '../../api/conditions.js';
import { objectKey } from '../../kube/object-store.js';
import { isConsumerNotFound, isMessageNotFound, isStreamNotFound } from '../../queue/errors.js';
import { jobMsgId } from '../../queue/job-message.js';
import { EVENTS_STREAM, eventSubject, JOBS_STREAM } from '../../queue/subjects.js';
import type { VisionJobObject } from '../manager/context-types.js';
import { poolKeyOf } from '../manager/jobs-by-pool.js';
import { pendingStatus } from './visionjob-pending.js';
import type { VisionJobRuntime } from './visionjob-runtime.js';
import { queuedMessageSeq } from './visionjob-status.js';

export interface QueuedMessageSweepOptions {
  /** Time between sweeps. Default 60 s: a lost message costs at most two of them. */
  intervalMs?: number;
  /** The durable consumer applying VISIONQ_EVENTS (its ack floor says which events are applied). */
  eventsDurable: string;
}

export class QueuedMessageSweep {
  /** Jobs found without their message in the last sweep, by uid: the resourceVersion then. */
  private suspects = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly intervalMs: number;
  private readonly eventsDurable: string;

  constructor(
    private readonly rt: VisionJobRuntime,
    opts: QueuedMessageSweepOptions,
  ) {
    this.intervalMs = opts.intervalMs ?? 60_000;
    this.eventsDurable = opts.eventsDurable;
  }

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sweep()
        .then(() => undefined, (err: unknown) => this.rt.ctx.logger.warn({ err: (err as Error).message }, 'queued-message sweep failed'))
        .finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  /** One sweep; returns the jobs sent back to Pending. */
  async sweep(): Promise<number> {
    const nats = this.rt.ctx.nats.current();
    if (!nats) return 0;
    const queued = this.rt.ctx.jobs.store.list().filter((j) => j.status?.phase === 'Queued' && !j.metadata.deletionTimestamp);
    const suspects = new Map<string, string>();
    let requeued = 0;
    let floor: number | undefined;
    for (const job of queued) {
      if (this.stopped) break;
      if (await hasMessage(nats.jsm, job)) continue;
      floor ??= await eventsAckFloor(nats.jsm, this.eventsDurable);
      if (await eventsOwed(nats.jsm, job, floor)) {
        this.rt.ctx.logger.debug({ namespace: job.metadata.namespace, name: job.metadata.name }, 'queued job without its message has events not applied yet: waiting');
        continue;
      }
      const uid = job.metadata.uid ?? '';
      const rv = job.metadata.resourceVersion ?? '';
      if (this.suspects.get(uid) !== rv) {
        suspects.set(uid, rv);
        continue;
      }
      if (await this.requeue(job)) requeued++;
    }
    this.suspects = suspects;
    return requeued;
  }

  private async requeue(job: VisionJobObject): Promise<boolean> {
    const rt = this.rt;
    const st = job.status ?? {};
    const seq = queuedMessageSeq(st);
    const now = rt.now();
    const message = `the job's queue message${seq === undefined ? '' : ` ${seq}`} is gone from ${JOBS_STREAM} (NATS store lost, or acked without a result reaching the controller): queued again`;
    const written = await rt.store.updateStatus(
      objectKey(job),
      (j) => {
        const cur = j.status ?? {};
        if (cur.phase !== 'Queued' || j.metadata.resourceVersion !== job.metadata.resourceVersion) return undefined;
        const held = pendingStatus(cur, 'MessageLost', message, now, j.metadata.generation);
        return {
          ...held,
          queueSequence: undefined,
          requeueGeneration: (cur.requeueGeneration ?? 0) + 1,
          conditions: setCondition(held.conditions, { type: 'Admitted', status: 'False', reason: 'MessageLost', message, observedGeneration: j.metadata.generation }, now),
        };
      },
      { uid: job.metadata.uid },
    );
    if (!written) return false;
    rt.published.delete(job.metadata.uid ?? '');
    rt.ctx.recorder.event(written, 'Warning', 'MessageLost', message);
    rt.ctx.metrics.messagesLost.inc({ namespace: job.metadata.namespace ?? '', pool: job.spec.pool });
    rt.ctx.logger.warn({ namespace: job.metadata.namespace, name: job.metadata.name, seq }, 'queued job without its message: queued again');
    const pk = poolKeyOf(job);
    if (pk) rt.enqueueAdmission(pk);
    return true;
  }
}

/**
 * Whether the job's message is at its sequence. A store that was wiped starts its sequences
 * again, so the message found there must also carry this job's msgID.
 */
async function hasMessage(jsm: JetStreamManager, job: VisionJobObject): Promise<boolean> {
  const st = job.status ?? {};
  const seq = queuedMessageSeq(st);
  if (seq === undefined) return false;
  try {
    const m = await jsm.streams.getMessage(JOBS_STREAM, { seq });
    if (!m) return false;
    return m.header?.get('Nats-Msg-Id') === jobMsgId({ uid: job.metadata.uid ?? '', requeueGeneration: st.requeueGeneration ?? 0 });
  } catch (err) {
    if (isMessageNotFound(err) || isStreamNotFound(err)) return false;
    throw err;
  }
}

/**
 * Stream sequence up to which the events consumer has acked everything (every event at or below
 * it is in the status). Without the consumer (its store lost) no event can be waited for: all
 * count as applied.
 */
async function eventsAckFloor(jsm: JetStreamManager, durable: string): Promise<number> {
  try {
    return (await jsm.consumers.info(EVENTS_STREAM, durable)).ack_floor.stream_seq;
  } catch (err) {
    if (isConsumerNotFound(err) || isStreamNotFound(err)) return Number.MAX_SAFE_INTEGER;
    throw err;
  }
}

/** Whether the job's newest event is past the ack floor: its status may still change. */
async function eventsOwed(jsm: JetStreamManager, job: VisionJobObject, floor: number): Promise<boolean> {
  try {
    const m = await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: eventSubject(job.metadata.namespace ?? '', job.metadata.name ?? '') });
    return m !== null && m.seq > floor;
  } catch (err) {
    if (isMessageNotFound(err) || isStreamNotFound(err)) return false;
    throw err;
  }
}
