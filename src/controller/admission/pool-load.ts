/**
 * A pool's load, derived from the VisionJob informer cache (never a private counter) so the
 * admission side and the scaling side always agree.
 */
import type { VisionJobObject } from '../manager/context-types.js';
import { isWaiting, jobPool, jobStatus } from './admission-plan.js';

export interface PoolLoad {
  /** Published to the stream, not running (includes retries waiting for their backoff). */
  queued: number;
  running: number;
  /** Waiting for admission (not published yet). */
  pending: number;
}

export function poolLoad(jobs: Iterable<VisionJobObject>, namespace: string, pool: string): PoolLoad {
  const load: PoolLoad = { queued: 0, running: 0, pending: 0 };
  for (const job of jobs) {
    if (job.metadata.namespace !== namespace || jobPool(job) !== pool) continue;
    const phase = jobStatus(job).phase;
    if (phase === 'Queued') load.queued++;
    else if (phase === 'Running') load.running++;
    else if (isWaiting(job) && job.spec?.suspend !== true) load.pending++;
  }
  return load;
}
