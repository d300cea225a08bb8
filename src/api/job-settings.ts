import { BUILTIN_JOB_DEFAULTS } from './constants.js';
import type { VisionJobSpec } from './vision-job.js';
import type { WorkerPoolSpec } from './worker-pool.js';

export interface ResolvedJobSettings {
  timeoutSeconds: number;
  retries: number;
  backoff: { initialSeconds: number; maxSeconds: number; factor: number };
}

type JobSettingsSource = Pick<VisionJobSpec, 'timeoutSeconds' | 'retries' | 'backoff'>;

/** Field by field: the job's value, else the pool's jobDefaults, else the built-in default. */
export function resolveJobSettings(
  jobSpec: JobSettingsSource,
  poolSpec?: Pick<WorkerPoolSpec, 'jobDefaults'> | undefined,
): ResolvedJobSettings {
  const pool = poolSpec?.jobDefaults ?? {};
  const b = BUILTIN_JOB_DEFAULTS;
  return {
    timeoutSeconds: jobSpec.timeoutSeconds ?? pool.timeoutSeconds ?? b.timeoutSeconds,
    retries: jobSpec.retries ?? pool.retries ?? b.retries,
    backoff: {
      initialSeconds: jobSpec.backoff?.initialSeconds ?? pool.backoff?.initialSeconds ?? b.backoff.initialSeconds,
      maxSeconds: jobSpec.backoff?.maxSeconds ?? pool.backoff?.maxSeconds ?? b.backoff.maxSeconds,
      factor: jobSpec.backoff?.factor ?? pool.backoff?.factor ?? b.backoff.factor,
    },
  };
}

/** Delay before retry number `failures` (1 after the first failure), capped at maxSeconds. */
export function backoffSeconds(backoff: ResolvedJobSettings['backoff'], failures: number): number {
  const raw = backoff.initialSeconds * Math.pow(backoff.factor, Math.max(0, failures - 1));
  return Math.min(backoff.maxSeconds, raw);
}
