/**
 * The typed client a platform backend uses to submit, follow and cancel VisionJobs: one class
 * over @kubernetes/client-node, with the kubeconfig handling of src/kube (pooled connections,
 * plain-http sandbox allowed).
 */
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_GROUP_VERSION, API_VERSION, VISION_JOB_KIND, VISION_JOB_PLURAL, type VisionJob } from '../api/index.js';
import { classifyApiError, statusBodyOf } from '../kube/api-errors.js';
import { loadKubeConfig, withPlainHttpAllowed, withPooledConnections } from '../kube/kube-clients.js';
import {
  IdempotencyConflictError,
  JobFailedError,
  JobNotFinishedError,
  JobNotFoundError,
  JobRefusedError,
  VisionQError,
  WaitAbortedError,
  WaitTimeoutError,
  type FieldCause,
} from './errors.js';
import { IDEMPOTENCY_KEY_ANNOTATION, SUBMIT_HASH_ANNOTATION, TENANT_LABEL, nameForKey, submitHash } from './idempotency.js';
import { isFinished, watchJob, type WatchOptions } from './job-watch.js';
import type { ListFilter, SubmitJob, SubmitOptions, WaitOptions, WaitTarget } from './types.js';

export interface VisionQOptions {
  /** A kubeconfig path or a loaded KubeConfig; default $KUBECONFIG, in-cluster, ~/.kube/config. */
  kubeconfig?: string | KubeConfig;
  /** Alias of kubeconfig for a loaded KubeConfig. */
  kubeConfig?: KubeConfig;
  /** Default: the kubeconfig context's namespace, else `default`. */
  namespace?: string;
}

const coords = { group: API_GROUP, version: API_VERSION, plural: VISION_JOB_PLURAL } as const;

export class VisionQ {
  readonly namespace: string;
  readonly kc: KubeConfig;
  private readonly api: CustomObjectsApi;

  constructor(opts: VisionQOptions = {}) {
    const given = opts.kubeConfig ?? opts.kubeconfig;
    this.kc = given instanceof KubeConfig ? withPooledConnections(withPlainHttpAllowed(given)) : loadKubeConfig(given);
    this.namespace = opts.namespace ?? this.kc.getContextObject(this.kc.getCurrentContext())?.namespace ?? 'default';
    this.api = this.kc.makeApiClient(CustomObjectsApi);
  }

  /**
   * Creates a VisionJob. With an idempotency key the name is derived from the key (see
   * idempotency.ts): a repeated call returns the job the first one created; a different spec
   * under the same key is an IdempotencyConflictError.
   */
  async submit(job: SubmitJob, opts: SubmitOptions = {}): Promise<VisionJob> {
    const { tenant, name, generateName, labels, annotations, ...spec } = job;
    const key = opts.idempotencyKey;
    const meta: Record<string, unknown> = {
      namespace: this.namespace,
      labels: { ...labels, ...(tenant !== undefined ? { [TENANT_LABEL]: tenant } : {}) },
      annotations: { ...annotations },
    };
    if (key !== undefined) {
      meta.name = nameForKey(key, generateName);
      (meta.annotations as Record<string, string>)[IDEMPOTENCY_KEY_ANNOTATION] = key;
      (meta.annotations as Record<string, string>)[SUBMIT_HASH_ANNOTATION] = submitHash(job);
    } else if (name !== undefined) meta.name = name;
    else meta.generateName = generateName ?? 'vj-';
    const body = { apiVersion: API_GROUP_VERSION, kind: VISION_JOB_KIND, metadata: meta, spec };
    try {
      return (await this.api.createNamespacedCustomObject({ ...coords, namespace: this.namespace, body })) as VisionJob;
    } catch (err) {
      if (key === undefined || classifyApiError(err) !== 'conflict') throw this.translate(err, String(meta.name ?? generateName));
      const existing = await this.get(String(meta.name));
      const ann = existing.metadata.annotations ?? {};
      if (ann[IDEMPOTENCY_KEY_ANNOTATION] !== key || ann[SUBMIT_HASH_ANNOTATION] !== submitHash(job)) {
        throw new IdempotencyConflictError(key, existing);
      }
      return existing;
    }
  }

  async get(name: string): Promise<VisionJob> {
    try {
      return (await this.api.getNamespacedCustomObject({ ...coords, namespace: this.namespace, name })) as VisionJob;
    } catch (err) {
      throw this.translate(err, name);
    }
  }

  /** Jobs of the namespace; tenant filters server-side (label), pool and phase client-side. */
  async list(filter: ListFilter = {}): Promise<VisionJob[]> {
    const phases = filter.phase === undefined ? undefined : new Set<string>(typeof filter.phase === 'string' ? [filter.phase] : filter.phase);
    const out: VisionJob[] = [];
    let cont: string | undefined;
    do {
      let page: { items: VisionJob[]; metadata?: { continue?: string } };
      try {
        page = (await this.api.listNamespacedCustomObject({
          ...coords,
          namespace: this.namespace,
          labelSelector: filter.tenant !== undefined ? `${TENANT_LABEL}=${filter.tenant}` : undefined,
          limit: 500,
          _continue: cont,
        })) as typeof page;
      } catch (err) {
        throw this.translate(err, '');
      }
      for (const j of page.items) {
        if (filter.pool !== undefined && j.spec.pool !== filter.pool) continue;
        if (phases && !phases.has(j.status?.phase ?? 'Pending')) continue;
        out.push(j);
      }
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return out;
  }

  /** See watchJob: the job at each status change, until it finishes or is deleted. */
  watch(name: string, opts: WatchOptions = {}): AsyncGenerator<VisionJob, void, undefined> {
    return watchJob(this.kc, this.namespace, name, opts);
  }

  /**
   * Resolves with the job once it reaches `target`: 'Finished' = Succeeded, Failed or Cancelled
   * (or deleted: the deleted object is returned); 'Succeeded' rejects with JobFailedError when it
   * ends any other way. WaitTimeoutError after timeoutMs, WaitAbortedError when signal aborts.
   */
  async waitFor(name: string, target: WaitTarget = 'Finished', opts: WaitOptions = {}): Promise<VisionJob> {
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(opts.signal?.reason);
    if (opts.signal?.aborted) throw new WaitAbortedError(name, { cause: opts.signal.reason });
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            ac.abort();
          }, opts.timeoutMs)
        : undefined;
    let last: VisionJob | undefined;
    try {
      for await (const job of this.watch(name, { signal: ac.signal })) {
        last = job;
        const deleted = !!job.metadata.deletionTimestamp;
        const phase = job.status?.phase;
        if (target === 'Finished' && isFinished(job)) return job;
        if (phase === 'Succeeded') return job;
        if (isFinished(job)) throw new JobFailedError(job, phase!, failedReason(job));
        if (deleted && target === 'Succeeded') throw new JobFailedError(job, 'Deleted', 'Deleted');
      }
      // The iterator ends only on a finished or deleted job.
      if (last && target === 'Finished') return last;
      throw new JobNotFoundError(name, this.namespace);
    } catch (err) {
      if (err instanceof WaitAbortedError && timedOut) throw new WaitTimeoutError(name, opts.timeoutMs!, last);
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Cancels by deleting the job: the controller takes it out of the queue or stops its process,
   * then releases its finalizer. Resolves once the deletion is accepted (not when the process
   * has stopped: waitFor(name, 'Finished') for that). A job already gone is not an error.
   */
  async cancel(name: string): Promise<void> {
    try {
      await this.api.deleteNamespacedCustomObject({ ...coords, namespace: this.namespace, name });
    } catch (err) {
      if (classifyApiError(err) === 'not-found') return;
      throw this.translate(err, name);
    }
  }

  /** status.result of a Succeeded job; JobFailedError if it failed, JobNotFinishedError if not done. */
  async result<T = unknown>(name: string): Promise<T> {
    const job = await this.get(name);
    const phase = job.status?.phase;
    if (phase === 'Succeeded') return job.status?.result as T;
    if (isFinished(job)) throw new JobFailedError(job, phase!, failedReason(job));
    throw new JobNotFinishedError(job);
  }

  private translate(err: unknown, name: string): Error {
    const cls = classifyApiError(err);
    const body = statusBodyOf(err);
    if (cls === 'not-found' && name) return new JobNotFoundError(name, this.namespace, { cause: err });
    if (cls === 'invalid') {
      const details = body?.details as { causes?: FieldCause[] } | undefined;
      const causes = (details?.causes ?? []).map((c) => ({ field: c.field, reason: c.reason, message: c.message }));
      return new JobRefusedError(typeof body?.message === 'string' ? body.message : 'job refused', causes, { cause: err });
    }
    const msg = typeof body?.message === 'string' ? body.message : err instanceof Error ? err.message.split('\n')[0] : String(err);
    return new VisionQError(`visionjob ${name}: ${msg}`, { cause: err });
  }
}

function failedReason(job: VisionJob): string | undefined {
  return job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True')?.reason;
}
