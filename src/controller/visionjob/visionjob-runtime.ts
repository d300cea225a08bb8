/**
 * State the VisionJob side shares between its reconcilers, the events consumer and the
 * functions the WorkerPool side calls (requeueJobOfDeadPod). One per leader term; the manager
 * hands it to the WorkerPool side explicitly (no lookup by context).
 */
import type { ControllerContext } from '../manager/context.js';
import type { VisionJobObject, WorkerPoolObject } from '../manager/context-types.js';
import { jobsOfPool } from '../manager/jobs-by-pool.js';
import { specError } from './visionjob-validation.js';
import { VisionJobStore } from './visionjob-store.js';

export class VisionJobRuntime {
  readonly store: VisionJobStore;
  /** uids published whose Queued status the cache does not show yet (counted as in flight). */
  readonly published = new Set<string>();
  /** Pool consumer config last ensured, per pool key ('' after a NATS reconnect). */
  readonly consumers = new Map<string, string>();
  /** Pools whose lowered ack_wait is held back while attempts run (the config reported once). */
  readonly ackWaitHeld = new Map<string, string>();
  /** Background work of this term (Queued status writes), awaited when the term stops. */
  private readonly background = new Set<Promise<void>>();
  /** The first failed background Queued write per pool, thrown by that pool's next pass. */
  private readonly recordErrors = new Map<string, unknown>();
  /** Spec validation results by uid and generation: admission passes re-check every waiting job. */
  private readonly validity = new Map<string, { generation: number | undefined; error: string | undefined }>();
  /** False once the term stopped: the WorkerPool side's calls are refused from then on. */
  private live = true;

  constructor(
    readonly ctx: ControllerContext,
    /** Schedules an admission pass for a pool key ('namespace/pool'). */
    readonly enqueueAdmission: (poolKey: string) => void,
  ) {
    this.store = new VisionJobStore(ctx);
  }

  jobsOfPool(poolKey: string): VisionJobObject[] {
    return jobsOfPool(this.ctx.jobs, poolKey);
  }

  pool(poolKey: string): WorkerPoolObject | undefined {
    return this.ctx.pools.store.get(poolKey);
  }

  now(): Date {
    return this.ctx.clock();
  }

  /** The spec's first field error (cached per uid and generation), undefined when valid. */
  specError(job: VisionJobObject): string | undefined {
    const uid = job.metadata.uid ?? '';
    const cached = this.validity.get(uid);
    if (cached && cached.generation === job.metadata.generation) return cached.error;
    const error = specError(job);
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

  /** Whether the term of this runtime still runs (see retire). */
  get active(): boolean {
    return this.live;
  }

  /** Called when the term has stopped: calls from the WorkerPool side are refused from now on. */
  retire(): void {
    this.live = false;
  }
}
