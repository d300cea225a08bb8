/** Shapes the client accepts and returns; the job and status types come from the zod schemas in src/api. */
import type { JobPhase, VisionJob, VisionJobSpecInput } from '../api/index.js';

/** What a caller submits: the spec plus a few metadata fields. */
export interface SubmitJob extends VisionJobSpecInput {
  /** Set as label visionq.dev/tenant (list({tenant}) filters on it). */
  tenant?: string;
  /** Explicit name (only without an idempotency key, which determines the name). */
  name?: string;
  /** Name prefix; with an idempotency key it prefixes the key's hash. Default `vj-`. */
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface SubmitOptions {
  /** A repeated submit with the same key returns the job created by the first, never a second one. */
  idempotencyKey?: string;
}

export interface ListFilter {
  pool?: string;
  tenant?: string;
  phase?: JobPhase | readonly JobPhase[];
}

export interface WaitOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type WaitTarget = 'Succeeded' | 'Finished';

export type { JobPhase, VisionJob };
