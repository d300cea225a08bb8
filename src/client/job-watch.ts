/**
 * watch(name) as an async iterator, built on the project's Informer (list-then-watch on
 * `metadata.name=NAME`): a watch the server drops resumes from the last resourceVersion seen, and
 * a 410 Expired relists and emits the difference, so a status reached while no watch was open
 * (the final one included) is still delivered. Only changes of status or deletion are yielded;
 * resourceVersion-only updates (finalizers, labels) are not news to a caller.
 */
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { FINISHED_PHASES, type VisionJob } from '../api/index.js';
import { API_GROUP_VERSION, VISION_JOB_PLURAL } from '../api/constants.js';
import { Informer } from '../kube/informer.js';
import { JobNotFoundError, WaitAbortedError } from './errors.js';

export interface WatchOptions {
  signal?: AbortSignal;
}

const FINISHED = new Set<string>(FINISHED_PHASES);

export function isFinished(job: VisionJob): boolean {
  return FINISHED.has(job.status?.phase ?? '');
}

/** What the caller can observe: a new status, or the object being deleted / going away. */
function fingerprint(job: VisionJob, deleted: boolean): string {
  return JSON.stringify([job.status ?? null, job.metadata.deletionTimestamp ?? null, deleted]);
}

type Item = { job: VisionJob; deleted: boolean } | { error: Error };

/**
 * Yields the job each time its status changes, starting with its current state. Ends after
 * yielding a finished phase, or after yielding the deleted object (`metadata.deletionTimestamp`
 * set) when the job is removed. Throws JobNotFoundError when the job does not exist at start.
 */
export async function* watchJob(kc: KubeConfig, namespace: string, name: string, opts: WatchOptions = {}): AsyncGenerator<VisionJob, void, undefined> {
  // The wire object is a VisionJob; the Informer is typed on client-node's KubernetesObject.
  const informer = new Informer<KubernetesObject>({
    kc,
    path: `/apis/${API_GROUP_VERSION}/${VISION_JOB_PLURAL}`,
    namespace,
    fieldSelector: `metadata.name=${name}`,
    // One object: a dropped watch should come back at once, not after a long backoff.
    backoff: { initialMs: 50, maxMs: 5_000 },
    name: `client-watch-${name}`,
  });
  const queue: Item[] = [];
  let wake: (() => void) | undefined;
  const push = (item: Item): void => {
    queue.push(item);
    wake?.();
  };
  informer.addEventHandler({
    onAdd: (job) => push({ job: job as unknown as VisionJob, deleted: false }),
    onUpdate: (_old, job) => push({ job: job as unknown as VisionJob, deleted: false }),
    onDelete: (job) => push({ job: job as unknown as VisionJob, deleted: true }),
  });
  const onAbort = (): void => push({ error: new WaitAbortedError(name, { cause: opts.signal?.reason }) });
  if (opts.signal?.aborted) throw new WaitAbortedError(name, { cause: opts.signal.reason });
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  informer.start();
  try {
    const synced = await informer.waitForSync(opts.signal);
    if (!synced) throw new WaitAbortedError(name, { cause: opts.signal?.reason });
    if (informer.store.list().length === 0 && !queue.some((i) => 'job' in i)) throw new JobNotFoundError(name, namespace);
    let last = '';
    for (;;) {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      const item = queue.shift()!;
      if ('error' in item) throw item.error;
      const fp = fingerprint(item.job, item.deleted);
      if (fp === last) continue;
      last = fp;
      if (item.deleted && !item.job.metadata.deletionTimestamp) {
        item.job = { ...item.job, metadata: { ...item.job.metadata, deletionTimestamp: new Date().toISOString() } };
      }
      yield item.job;
      if (item.deleted || isFinished(item.job)) return;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await informer.stop();
  }
}
