/**
 * The informer index of VisionJobs by pool key ('namespace/pool'): the admission pass and the
 * WorkerPool side both read a pool's jobs without scanning a cache of 10k jobs.
 */
import { namespacedKey, type ObjectStore } from '../../kube/object-store.js';
import type { VisionJobObject } from './context-types.js';

export const JOBS_BY_POOL_INDEX = 'pool';

/** The pool key of a job ('namespace/pool'); undefined for a spec without a pool. */
export function poolKeyOf(job: VisionJobObject): string | undefined {
  const pool = job.spec?.pool;
  return typeof pool === 'string' ? namespacedKey(job.metadata?.namespace, pool) : undefined;
}

export function jobsByPoolIndex(job: VisionJobObject): string[] {
  const key = job.metadata?.namespace ? poolKeyOf(job) : undefined;
  return key ? [key] : [];
}

/** The jobs of a pool from the index (a scan of the cache when the index is not registered). */
export function jobsOfPool(jobs: { store: Pick<ObjectStore<VisionJobObject>, 'byIndex' | 'list'> }, poolKey: string): VisionJobObject[] {
  try {
    return jobs.store.byIndex(JOBS_BY_POOL_INDEX, poolKey);
  } catch {
    const [ns, pool] = poolKey.split('/');
    return jobs.store.list().filter((j) => j.metadata.namespace === ns && j.spec?.pool === pool);
  }
}
