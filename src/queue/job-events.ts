import { z } from 'zod';

/**
 * Events an agent publishes to `VISIONQ_EVENTS` on `visionq.events.<ns>.<job name>`.
 *
 * Attempt accounting: `deliveryCount` is JetStream's delivery count of `streamSeq`;
 * `attempt` is the number of attempts started for the job uid (claimed in the
 * VISIONQ_ATTEMPTS KV bucket). A consumer of events orders attempts by
 * (streamSeq, deliveryCount) and ignores events of older attempts.
 */
const Base = z.object({
  jobUid: z.string(),
  namespace: z.string(),
  name: z.string(),
  pool: z.string(),
  attempt: z.number().int().nonnegative(),
  deliveryCount: z.number().int().nonnegative(),
  streamSeq: z.number().int().nonnegative(),
  pod: z.string(),
  node: z.string(),
  /** ISO-8601 time the agent created the event. */
  time: z.string(),
});

export const StartedEvent = Base.extend({
  type: z.literal('started'),
  /** Reply subject of this delivery: publish `-NAK` to it to re-queue the job at once if the pod dies. */
  ackSubject: z.string(),
  /** Per-attempt deadline (ISO-8601) or null without timeout. */
  deadline: z.string().nullable(),
  failures: z.number().int().nonnegative(),
});
export const HeartbeatEvent = Base.extend({ type: z.literal('heartbeat') });
export const ProgressEvent = Base.extend({
  type: z.literal('progress'),
  percent: z.number().min(0).max(100),
  message: z.string(),
  /** Per-attempt counter, part of the msgID. */
  seq: z.number().int().nonnegative(),
});
export const SucceededEvent = Base.extend({
  type: z.literal('succeeded'),
  result: z.unknown().optional(),
  durationMs: z.number().nonnegative(),
});
export const FailedEvent = Base.extend({
  type: z.literal('failed'),
  reason: z.string(),
  exitCode: z.number().int().optional(),
  signal: z.string().optional(),
  /** False for permanent failures (configured exit codes, invalid job). */
  retryable: z.boolean(),
  /** True when the message was NAKed for another attempt; false = job is Failed (message termed). */
  willRetry: z.boolean(),
  nextDelayMs: z.number().nonnegative().optional(),
  /** Failed attempts so far, including this one. */
  failures: z.number().int().nonnegative(),
  durationMs: z.number().nonnegative(),
});
export const RequeuedEvent = Base.extend({
  type: z.literal('requeued'),
  /** A disruption, not the job's fault: does not count as a failure. */
  reason: z.enum(['sigterm', 'drain', 'controller', 'superseded', 'shutdown']),
  message: z.string().optional(),
});
export const CancelledEvent = Base.extend({ type: z.literal('cancelled'), durationMs: z.number().nonnegative() });
export const RejectedEvent = Base.extend({
  type: z.literal('rejected'),
  /** Why the message was terminated without running (malformed / invalid job). */
  reason: z.string(),
});

export const JobEvent = z.discriminatedUnion('type', [
  StartedEvent,
  HeartbeatEvent,
  ProgressEvent,
  SucceededEvent,
  FailedEvent,
  RequeuedEvent,
  CancelledEvent,
  RejectedEvent,
]);
export type JobEvent = z.infer<typeof JobEvent>;
export type JobEventType = JobEvent['type'];
export type JobEventOf<T extends JobEventType> = Extract<JobEvent, { type: T }>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJobEvent(ev: JobEvent): Uint8Array {
  return encoder.encode(JSON.stringify(JobEvent.parse(ev)));
}

/** Throws a zod error (or SyntaxError) on invalid data; use `safeDecodeJobEvent` to skip bad events. */
export function decodeJobEvent(data: Uint8Array): JobEvent {
  return JobEvent.parse(JSON.parse(decoder.decode(data)));
}

export function safeDecodeJobEvent(data: Uint8Array): JobEvent | undefined {
  try {
    return decodeJobEvent(data);
  } catch {
    return undefined;
  }
}

/** Dedup id: one event per (uid, stream seq, delivery, type[, seq]) so republishing after an outage is a no-op. */
export function jobEventMsgId(ev: JobEvent): string {
  const base = `${ev.jobUid}/${ev.streamSeq}/${ev.deliveryCount}/${ev.type}`;
  if (ev.type === 'progress') return `${base}/${ev.seq}`;
  if (ev.type === 'heartbeat') return `${base}/${ev.time}`;
  return base;
}

/**
 * True when `ev` belongs to an attempt older than (seq, delivery): the stale-attempt
 * rule the controller applies.
 */
export function isOlderAttempt(ev: Pick<JobEvent, 'streamSeq' | 'deliveryCount'>, current: { streamSeq: number; deliveryCount: number }): boolean {
  return ev.streamSeq < current.streamSeq || (ev.streamSeq === current.streamSeq && ev.deliveryCount < current.deliveryCount);
}
