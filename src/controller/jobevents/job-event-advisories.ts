/**
 * MAX_DELIVERIES advisories of the jobs stream: a message delivered max_deliver times stays in a
 * WorkQueue stream for ever unless removed. The job it belongs to is marked Failed
 * (MaxDeliveriesExceeded) and then the dead message is deleted.
 */
import type { Subscription } from '@nats-io/transport-node';
import { deleteQueuedJob } from '../../queue/topology.js';
import { JOBS_STREAM, maxDeliveriesAdvisorySubject } from '../../queue/subjects.js';
import { objectKey } from '../../kube/object-store.js';
import { type VisionJobRuntime } from '../visionjob/visionjob-runtime.js';
import { failJob, isTerminal } from '../visionjob/visionjob-status.js';

interface MaxDeliveriesAdvisory {
  stream?: string;
  consumer?: string;
  stream_seq?: number;
  deliveries?: number;
}

export class MaxDeliveriesWatcher {
  private sub?: Subscription;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly rt: VisionJobRuntime) {}

  start(): void {
    this.trySubscribe();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.sub?.unsubscribe();
  }

  /** Subscribes once NATS is there; core subscriptions are restored by the client on reconnect. */
  private trySubscribe(): void {
    if (this.stopped) return;
    const nats = this.rt.ctx.nats.current();
    if (!nats) {
      this.timer = setTimeout(() => this.trySubscribe(), 500);
      this.timer.unref();
      return;
    }
    this.sub = nats.nc.subscribe(maxDeliveriesAdvisorySubject(JOBS_STREAM), {
      callback: (err, msg) => {
        if (err) return;
        let adv: MaxDeliveriesAdvisory;
        try {
          adv = JSON.parse(new TextDecoder().decode(msg.data)) as MaxDeliveriesAdvisory;
        } catch {
          return;
        }
        void this.onAdvisory(adv).catch((e: unknown) =>
          this.rt.ctx.logger.warn({ err: (e as Error).message, seq: adv.stream_seq }, 'could not handle MAX_DELIVERIES advisory'),
        );
      },
    });
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
    if (nats) await deleteQueuedJob(nats.jsm, seq);
  }
}
