/**
 * The per-namespace cap on waiting jobs (controller flag --max-waiting-per-namespace): pure.
 *
 * Waiting = not running yet: Queued (in the stream) or Pending and ready to be admitted (not
 * suspended, not delayed by notBefore), over all pools of the namespace. The first `cap` of them
 * in creation order are in the queue; younger ones are held with reason QueueQuotaExceeded and
 * are not admitted, even to a free slot, until older ones start. The cap belongs to the
 * controller, not to a pool, because the namespace's own users can edit their pools.
 */
import type { VisionJobObject } from '../manager/context-types.js';
import { creationMs, isWaiting, jobStatus } from './admission-plan.js';
import { notBeforeMs } from './not-before.js';

export interface QueueCapResult {
  /** uids of the jobs held by the cap. */
  held: Set<string>;
  /** Jobs of the namespace waiting (queued or pending), held ones included. */
  waiting: number;
}

export function namespaceQueueHolds(
  jobs: Iterable<VisionJobObject>,
  namespace: string,
  cap: number | undefined,
  nowMs: number,
  publishedUids?: ReadonlySet<string>,
): QueueCapResult {
  const held = new Set<string>();
  if (cap === undefined) return { held, waiting: 0 };
  let queued = 0;
  const pending: { uid: string; created: number; name: string }[] = [];
  for (const job of jobs) {
    if (job.metadata.namespace !== namespace) continue;
    const uid = job.metadata.uid ?? '';
    if (jobStatus(job).phase === 'Queued' || (isWaiting(job) && publishedUids?.has(uid))) {
      queued++;
      continue;
    }
    if (!isWaiting(job) || job.spec?.suspend === true) continue;
    const at = notBeforeMs(job);
    if (at !== undefined && at > nowMs) continue;
    pending.push({ uid, created: creationMs(job), name: job.metadata.name ?? '' });
  }
  pending.sort((a, b) => a.created - b.created || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const room = Math.max(0, cap - queued);
  for (let i = room; i < pending.length; i++) held.add(pending[i]!.uid);
  return { held, waiting: queued + pending.length };
}

/** Stable across passes (no count that moves with every new job: held jobs are not rewritten each time). */
export function queueCapMessage(namespace: string, cap: number): string {
  return `namespace ${namespace} already has ${cap} older jobs waiting (queued or pending), its cap (--max-waiting-per-namespace ${cap}): the job enters the queue when older ones start`;
}
