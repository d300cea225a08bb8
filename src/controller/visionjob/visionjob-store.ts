/**
 * Reads and writes VisionJobs for the controller.
 *
 * Reads come from the informer cache, overlaid with what this process wrote last (the cache
 * lags behind our own writes by one watch event; starting from our newer copy avoids needless
 * 409s). Writes use optimistic concurrency: PUT with the resourceVersion read, and on 409
 * re-read from the API server and re-apply the (pure) mutation. Status goes only through
 * /status.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, VISION_JOB_PLURAL } from '../../api/constants.js';
import { isConflict, isNotFound } from '../../kube/api-errors.js';
import { requestJson } from '../../kube/kube-request.js';
import type { ControllerContext } from '../manager/context.js';
import type { VisionJobObject } from '../manager/context-types.js';
import { KeyedMutex } from './keyed-mutex.js';
import { jsonEqual, type VisionJobStatus } from './visionjob-status.js';

const MAX_CONFLICT_RETRIES = 8;

interface ObjectParams {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

export class StatusWriteError extends Error {
  override readonly name = 'StatusWriteError';
}

/** Parses resourceVersions that are numbers (etcd revisions, the sandbox); undefined otherwise. */
function rvNumber(obj: KubernetesObject | undefined): bigint | undefined {
  const rv = obj?.metadata?.resourceVersion;
  return rv && /^\d+$/.test(rv) ? BigInt(rv) : undefined;
}

// The two writes of every job's life (status, finalizers) skip the generated client: see
// kube-request.ts for what that saves per request.
function objectPath(p: ObjectParams): string {
  return `/apis/${p.group}/${p.version}/namespaces/${encodeURIComponent(p.namespace)}/${p.plural}/${encodeURIComponent(p.name)}`;
}

export function splitJobKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export type Mutation<T> = (current: VisionJobObject) => T | undefined;

export class VisionJobStore {
  private readonly written = new Map<string, VisionJobObject>();
  private readonly locks = new KeyedMutex();

  constructor(private readonly ctx: Pick<ControllerContext, 'kube' | 'jobs' | 'logger'>) {}

  /** The newest copy known: the cache, or what this process wrote if that is newer. */
  get(key: string): VisionJobObject | undefined {
    const cached = this.ctx.jobs.store.get(key);
    const mine = this.written.get(key);
    if (!mine) return cached;
    if (!cached || cached.metadata.uid !== mine.metadata.uid) {
      if (!cached) return undefined; // deleted (or not seen yet): the cache is the authority
      this.written.delete(key);
      return cached;
    }
    const a = rvNumber(cached);
    const b = rvNumber(mine);
    if (a !== undefined && b !== undefined && b > a) return mine;
    this.written.delete(key);
    return cached;
  }

  forget(key: string): void {
    this.written.delete(key);
  }

  /** The cache caught up with `obj`: drop our copy if it is not newer (keeps memory flat). */
  observed(key: string, obj: VisionJobObject): void {
    const mine = this.written.get(key);
    if (!mine) return;
    const a = rvNumber(obj);
    const b = rvNumber(mine);
    if (a === undefined || b === undefined || a >= b || obj.metadata.uid !== mine.metadata.uid) this.written.delete(key);
  }

  get overlaySize(): number {
    return this.written.size;
  }

  /**
   * Applies `mutate` to the job's status and writes it if it changed. Returns the written (or
   * unchanged) job, or undefined when the job does not exist (any more) or has another uid.
   */
  async updateStatus(key: string, mutate: Mutation<VisionJobStatus>, opts: { uid?: string } = {}): Promise<VisionJobObject | undefined> {
    return this.writeWithRetry(key, opts, 'status of ', (job) => {
      const next = mutate(job);
      if (next === undefined || jsonEqual(next, job.status ?? {})) return undefined;
      return (params) => requestJson(this.ctx.kube.kc, 'PUT', `${objectPath(params)}/status`, { ...job, status: next });
    });
  }

  /** Like updateStatus for the main resource (metadata.finalizers). */
  async updateObject(key: string, mutate: Mutation<VisionJobObject>, opts: { uid?: string } = {}): Promise<VisionJobObject | undefined> {
    return this.writeWithRetry(key, opts, '', (job) => {
      const next = mutate(job);
      if (next === undefined) return undefined;
      return (params) => requestJson(this.ctx.kube.kc, 'PUT', objectPath(params), next);
    });
  }

  /**
   * Optimistic concurrency shared by both writes: one writer per key, the latest known copy,
   * `prepare` decides (undefined = nothing to write), and a 409 re-reads and tries again.
   */
  private writeWithRetry(
    key: string,
    opts: { uid?: string },
    what: string,
    prepare: (job: VisionJobObject) => ((params: ObjectParams) => Promise<unknown>) | undefined,
  ): Promise<VisionJobObject | undefined> {
    return this.locks.run(key, async () => {
      let job = this.get(key);
      const { namespace, name } = splitJobKey(key);
      for (let i = 0; i < MAX_CONFLICT_RETRIES; i++) {
        if (!job) job = await this.fetch(key);
        if (!job || (opts.uid && job.metadata.uid !== opts.uid)) return undefined;
        const write = prepare(job);
        if (!write) return job;
        try {
          const written = (await write({ group: API_GROUP, version: API_VERSION, plural: VISION_JOB_PLURAL, namespace, name })) as VisionJobObject | undefined;
          // Removing the last finalizer of a deleted object deletes it: nothing to remember.
          if (written?.metadata) this.remember(key, written);
          return written;
        } catch (err) {
          if (isNotFound(err)) return undefined;
          if (!isConflict(err)) throw err;
          job = await this.fetch(key);
        }
      }
      throw new StatusWriteError(`${what}${key}: still conflicting after ${MAX_CONFLICT_RETRIES} attempts`);
    });
  }

  async delete(key: string, uid: string): Promise<void> {
    const { namespace, name } = splitJobKey(key);
    try {
      await this.ctx.kube.custom.deleteNamespacedCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        plural: VISION_JOB_PLURAL,
        namespace,
        name,
        body: { preconditions: { uid } },
      });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  async fetch(key: string): Promise<VisionJobObject | undefined> {
    const { namespace, name } = splitJobKey(key);
    try {
      const obj = (await this.ctx.kube.custom.getNamespacedCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        plural: VISION_JOB_PLURAL,
        namespace,
        name,
      })) as VisionJobObject;
      this.remember(key, obj);
      return obj;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private remember(key: string, obj: VisionJobObject): void {
    const cached = this.ctx.jobs.store.get(key);
    const a = rvNumber(cached);
    const b = rvNumber(obj);
    if (a === undefined || b === undefined || b > a) this.written.set(key, obj);
  }
}
