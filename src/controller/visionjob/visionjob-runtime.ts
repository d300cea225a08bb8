/**
 * State the VisionJob side shares between its reconcilers, the events consumer and the
 * functions the WorkerPool side calls (requeueJobOfDeadPod). One per leader term.
 */
import type { ControllerContext } from '../manager/context.js';
import type { VisionJobObject, WorkerPoolObject } from '../manager/context-types.js';
import { VisionJobStore } from './visionjob-store.js';

export const CANCEL_FINALIZER = 'visionq.dev/cancel';
/** Informer index of VisionJobs by 'namespace/pool'. */
export const JOBS_BY_POOL_INDEX = 'pool';

export function jobsByPoolIndex(job: VisionJobObject): string[] {
  const ns = job.metadata?.namespace;
  const pool = job.spec?.pool;
  return ns && typeof pool === 'string' ? [`${ns}/${pool}`] : [];
}

export function objKey(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

export function poolKeyOf(job: VisionJobObject): string | undefined {
  const pool = job.spec?.pool;
  return typeof pool === 'string' ? `${job.metadata.namespace}/${pool}` : undefined;
}

export class VisionJobRuntime {
  readonly store: VisionJobStore;
  /** uids published whose Queued status the cache does not show yet (counted as in flight). */
  readonly published = new Set<string>();
  /** Pool consumer config last ensured, per pool key ('' after a NATS reconnect). */
  readonly consumers = new Map<string, string>();
  /** Background work of this term (Queued status writes), awaited when the term stops. */
  private readonly background = new Set<Promise<void>>();
  /** The first failed background Queued write per pool, thrown by that pool's next pass. */
  private readonly recordErrors = new Map<string, unknown>();
  /** Spec validation results by uid and generation: admission passes re-check every waiting job. */
  private readonly validity = new Map<string, { generation: number | undefined; error: string | undefined }>();

  constructor(
    readonly ctx: ControllerContext,
    /** Schedules an admission pass for a pool key ('namespace/pool'). */
    readonly enqueueAdmission: (poolKey: string) => void,
  ) {
    this.store = new VisionJobStore(ctx);
  }

  jobsOfPool(poolKey: string): VisionJobObject[] {
    try {
      return this.ctx.jobs.store.byIndex(JOBS_BY_POOL_INDEX, poolKey);
    } catch {
      const [ns, pool] = poolKey.split('/');
      return this.ctx.jobs.store.list().filter((j) => j.metadata.namespace === ns && j.spec?.pool === pool);
    }
  }

  pool(poolKey: string): WorkerPoolObject | undefined {
    return this.ctx.pools.store.get(poolKey);
  }

  now(): Date {
    return this.ctx.clock();
  }

  /** The spec's first field error (cached per uid and generation), undefined when valid. */
  specError(job: VisionJobObject, validate: (job: VisionJobObject) => string | undefined): string | undefined {
    const uid = job.metadata.uid ?? '';
    const cached = this.validity.get(uid);
    if (cached && cached.generation === job.metadata.generation) return cached.error;
    const error = validate(job);
    this.validity.set(uid, { generation: job.metadata.generation, error });
    return error;
  }

  /** Runs `work` in the background of this term; it must not reject. */
  track(work: Promise<void>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }

  /** Resolves when all background work started so far has finished. */
  async settled(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  setRecordError(poolKey: string, err: unknown): void {
    if (!this.recordErrors.has(poolKey)) this.recordErrors.set(poolKey, err);
  }

  takeRecordError(poolKey: string): unknown {
    const err = this.recordErrors.get(poolKey);
    this.recordErrors.delete(poolKey);
    return err;
  }

  /** Drops what is kept about a job that is gone. */
  forgetJob(key: string, uid: string): void {
    this.store.forget(key);
    this.published.delete(uid);
    this.validity.delete(uid);
  }
}

const runtimes = new WeakMap<ControllerContext, VisionJobRuntime>();

export function attachRuntime(ctx: ControllerContext, rt: VisionJobRuntime): void {
  runtimes.set(ctx, rt);
}

/** Detaches `rt` unless a newer term already attached its own. */
export function detachRuntime(ctx: ControllerContext, rt: VisionJobRuntime): void {
  if (runtimes.get(ctx) === rt) runtimes.delete(ctx);
}

export function runtimeOf(ctx: ControllerContext): VisionJobRuntime | undefined {
  return runtimes.get(ctx);
}
