/**
 * MAX_DELIVERIES advisories of the jobs stream: a message delivered max_deliver times stays in a
 * WorkQueue stream for ever unless removed. The job it belongs to is marked Failed
 * (MaxDeliveriesExceeded) and then the dead message is deleted.
 *
 * Advisories are core-NATS messages sent once; one sent while no leader listens (a leader
 * handover, a reconnect) would be gone. VISIONQ_ADVISORIES stores them, and this durable
 * consumer acks each only after it was handled, so the next leader reads what the last missed.
 */
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { Backoff } from '../../kube/backoff.js';
import { sleep } from '../../kube/clock.js';
import { deleteQueuedJob, ensureAdvisoriesConsumer } from '../../queue/topology.js';
import { ADVISORIES_STREAM } from '../../queue/subjects.js';
import { CONSUME_EXPIRES_MS } from '../../queue/pull-options.js';
import { NatsUnavailableError } from '../../queue/errors.js';
import { objectKey } from '../../kube/object-store.js';
import { type VisionJobRuntime } from '../visionjob/visionjob-runtime.js';
import { failJob, isTerminal } from '../visionjob/visionjob-status.js';

export const ADVISORIES_DURABLE = 'visionq-controller-advisories';

interface MaxDeliveriesAdvisory {
  stream?: string;
  consumer?: string;
  stream_seq?: number;
  deliveries?: number;
}

export class MaxDeliveriesWatcher {
  private readonly ac = new AbortController();
  private loop?: Promise<void>;
  private messages?: ConsumerMessages;

  constructor(
    private readonly rt: VisionJobRuntime,
    private readonly durable = ADVISORIES_DURABLE,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.ac.abort();
    await Promise.race([this.messages?.close().catch(() => undefined), sleep(2000)]);
    await Promise.race([this.loop, sleep(5000)]);
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
        await ensureAdvisoriesConsumer(nats.jsm, this.durable, 60_000);
        const consumer = await nats.js.consumers.get(ADVISORIES_STREAM, this.durable);
        const messages = await consumer.consume({ max_messages: 64, expires: CONSUME_EXPIRES_MS, abort_on_missing_resource: true });
        this.messages = messages;
        if (signal.aborted) await messages.close();
        backoff.reset();
        for await (const m of messages) {
          if (signal.aborted) break;
          await this.handle(m);
        }
      } catch (err) {
        if (signal.aborted) break;
        this.rt.ctx.logger.warn({ err: (err as Error).message }, 'advisories consumer failed; restarting');
      }
      if (!signal.aborted) await sleep(backoff.next(), signal);
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    let adv: MaxDeliveriesAdvisory;
    try {
      adv = m.json<MaxDeliveriesAdvisory>();
    } catch {
      m.term();
      return;
    }
    try {
      await this.onAdvisory(adv);
      m.ack();
    } catch (err) {
      // Not acked: redelivered after a short delay (or to the next leader).
      this.rt.ctx.logger.warn({ err: (err as Error).message, seq: adv.stream_seq }, 'could not handle MAX_DELIVERIES advisory; retrying');
      m.nak(1000);
    }
  }

  async onAdvisory(adv: MaxDeliveriesAdvisory): Promise<void> {
    const seq = adv.stream_seq;
    if (typeof seq !== 'number') return;
    const rt = this.rt;
    const job = rt.ctx.jobs.store
      .list()
      .find((j) => j.status?.queueSequence === seq || j.status?.currentAttempt?.streamSeq === seq);
    if (job && !isTerminal(job.status)) {
      const now = rt.now();
      const message = `the job's message was delivered ${adv.deliveries ?? '?'} times without finishing (max_deliver backstop of consumer ${adv.consumer ?? '?'})`;
      let events: { type: 'Normal' | 'Warning'; reason: string; message: string }[] = [];
      const written = await rt.store.updateStatus(
        objectKey(job),
        (j) => {
          if (isTerminal(j.status)) return undefined;
          const r = failJob(j.status ?? {}, 'MaxDeliveriesExceeded', message, now.toISOString(), now, j.metadata.generation);
          events = r.events;
          return r.status;
        },
        { uid: job.metadata.uid },
      );
      if (written) for (const e of events) rt.ctx.recorder.event(written, e.type, e.reason, e.message);
      rt.ctx.logger.warn({ namespace: job.metadata.namespace, name: job.metadata.name, seq }, 'job failed: max deliveries exceeded');
    }
    const nats = rt.ctx.nats.current();
    if (!nats) throw new NatsUnavailableError('cannot delete the dead job message: NATS unavailable');
    await deleteQueuedJob(nats.jsm, seq);
  }
}
