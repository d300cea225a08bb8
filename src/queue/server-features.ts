import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { maxDeliveriesAdvisorySubject, JOBS_STREAM } from './subjects.js';

export interface ServerFeatures {
  version: string;
  /** `+TERM <reason>` reported in advisories (2.11+). */
  termReason: boolean;
  /** Pull consumer priority groups (2.11+). */
  priorityGroups: boolean;
  /** Per-message TTL (2.11+). */
  perMessageTtl: boolean;
  /** Consumer `filter_subjects` (2.10+). */
  multiFilter: boolean;
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).slice(0, 3).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).slice(0, 3).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

export function featuresForVersion(version: string): ServerFeatures {
  const atLeast = (v: string) => compareVersions(version, v) >= 0;
  return {
    version,
    termReason: atLeast('2.11.0'),
    priorityGroups: atLeast('2.11.0'),
    perMessageTtl: atLeast('2.11.0'),
    multiFilter: atLeast('2.10.0'),
  };
}

/** Features of the server this connection is on; everything newer than 2.9 off for 2.9. */
export function detectServerFeatures(nc: NatsConnection): ServerFeatures {
  return featuresForVersion(nc.info?.version ?? '0.0.0');
}

/** Payload of `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>`. */
export interface MaxDeliveriesAdvisory {
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries: number;
}

/**
 * Calls `onAdvisory` for each job message that reached its consumer's max_deliver. The
 * message stays in the WorkQueue stream: delete it (deleteQueuedJob) after marking
 * the job Failed. Core NATS subscription: advisories sent while disconnected are lost,
 * so also reconcile from VISIONQ_ATTEMPTS / consumer info after a reconnect.
 */
export function subscribeMaxDeliveries(
  nc: NatsConnection,
  onAdvisory: (a: MaxDeliveriesAdvisory) => void | Promise<void>,
  opts: { stream?: string; consumer?: string } = {},
): Subscription {
  const stream = opts.stream ?? JOBS_STREAM;
  return nc.subscribe(maxDeliveriesAdvisorySubject(stream, opts.consumer ?? '*'), {
    callback: (err, msg) => {
      if (err) return;
      try {
        const a = msg.json<Partial<MaxDeliveriesAdvisory>>();
        if (typeof a.stream_seq !== 'number') return;
        void Promise.resolve(
          onAdvisory({ stream: a.stream ?? stream, consumer: a.consumer ?? '', stream_seq: a.stream_seq, deliveries: a.deliveries ?? 0 }),
        ).catch(() => undefined);
      } catch {
        // Not JSON: ignore.
      }
    },
  });
}
