import { z } from 'zod';

/** Exponential backoff between failed attempts: min(max, initial * factor^(failures-1)). */
export const Backoff = z.object({
  initialSeconds: z.number().nonnegative(),
  maxSeconds: z.number().nonnegative(),
  factor: z.number().min(1),
});
export type Backoff = z.infer<typeof Backoff>;

/**
 * The message the controller publishes on `visionq.jobs.<ns>.<pool>` for one job.
 * `retries` is the number of re-runs after failed attempts: a job fails for good at
 * failure number `retries + 1` (0 = never retried).
 */
export const JobMessage = z.object({
  uid: z.string().min(1).max(128),
  namespace: z.string().min(1).max(253),
  name: z.string().min(1).max(253),
  pool: z.string().min(1).max(253),
  input: z.record(z.string(), z.unknown()).default({}),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  /** Per attempt; 0 = no timeout. */
  timeoutSeconds: z.number().int().nonnegative().default(0),
  retries: z.number().int().nonnegative().default(0),
  backoff: Backoff.default({ initialSeconds: 10, maxSeconds: 600, factor: 2 }),
  /** Exit codes that mean "permanent failure, do not retry" (merged with the agent's own list). */
  permanentExitCodes: z.array(z.number().int()).default([]),
  /** Bumped by the controller when it must publish the job again (part of the msgID). */
  requeueGeneration: z.number().int().nonnegative().default(0),
  publishedAt: z.string(),
  /**
   * Base64 key the agent MACs this job's events with (see event-mac.ts). Only the pool's
   * consumers can read the message, so only an agent that was given the job can speak for it.
   * Set when the controller signs jobs; never passed to the algorithm.
   */
  eventKey: z.string().max(128).optional(),
});
export type JobMessage = z.infer<typeof JobMessage>;
export type JobMessageInput = z.input<typeof JobMessage>;

/** Thrown by {@link decodeJobMessage} on bytes that are not a valid job. */
export class InvalidJobMessageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidJobMessageError';
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJobMessage(msg: JobMessageInput): Uint8Array {
  return encoder.encode(JSON.stringify(JobMessage.parse(msg)));
}

/** Parses and validates; throws {@link InvalidJobMessageError} with the zod error as cause. */
export function decodeJobMessage(data: Uint8Array): JobMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(data));
  } catch (err) {
    throw new InvalidJobMessageError('job message is not JSON', { cause: err });
  }
  const parsed = JobMessage.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidJobMessageError(`invalid job message: ${z.prettifyError(parsed.error)}`, { cause: parsed.error });
  }
  return parsed.data;
}

/** msgID used for dedup: `uid`, or `uid/generation` when the controller re-sends. */
export function jobMsgId(msg: Pick<JobMessage, 'uid' | 'requeueGeneration'>): string {
  return msg.requeueGeneration > 0 ? `${msg.uid}/${msg.requeueGeneration}` : msg.uid;
}

/** Delay before the next attempt after `failures` failed attempts (1-based), in ms. */
export function backoffDelayMs(backoff: Backoff, failures: number): number {
  const n = Math.max(1, failures);
  const seconds = Math.min(backoff.maxSeconds, backoff.initialSeconds * Math.pow(backoff.factor, n - 1));
  return Math.round(seconds * 1000);
}
